"""Shared test plumbing: the MicroPython unix port, built .mpy trees, free ports."""
import os
import socket
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

import build  # noqa: E402  (tools/build.py)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_micropython(args, path, heap="128K", timeout=120, cwd=None, env=None):
    """Run the unix port with MICROPYPATH set to `path` (a list of dirs)."""
    e = dict(os.environ, MICROPYPATH=os.pathsep.join(list(path) + [".frozen"]))
    e.update(env or {})
    return subprocess.run(
        [MICROPYTHON, "-X", "heapsize=" + heap] + list(args),
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=e)


@pytest.fixture(scope="session")
def host_build():
    """firmware/ and boards/host compiled to .mpy, as the runner uses them."""
    return build.build("host", os.path.join(tempfile.mkdtemp(prefix="mpy-"), "host"))
