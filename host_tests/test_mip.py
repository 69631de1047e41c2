"""The bytecode package for mip (tools/build.py --mip): every agent module,
as portable .mpy, importable on the unix port, and installed by mpremote's
own `mip install` into a MicroPython REPL's /lib."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_micropython
from test_deploy import PtyBoard

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build  # noqa: E402

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "firmware", "csagent")) if f.endswith(".py"))


@pytest.fixture(scope="module")
def mip(tmp_path_factory):
    return build.mip_package(str(tmp_path_factory.mktemp("mip")), build.firmware_version())


def test_package_json_lists_every_module(mip):
    with open(os.path.join(mip, "package.json")) as f:
        package = json.load(f)
    assert package["urls"] == [["csagent/%s.mpy" % m, "csagent/%s.mpy" % m] for m in MODULES]
    assert package["version"] == build.firmware_version() and package["deps"] == []
    assert sorted(os.listdir(os.path.join(mip, "csagent"))) == sorted(m + ".mpy" for m in MODULES)


def test_bytecode_for_every_architecture(mip, tmp_path):
    """Header: 'M', version 6, then the feature byte whose upper six bits name
    the native architecture: 0, since no module holds native code. Compiled
    for xtensawin (ESP32) and armv6m (RP2040), the files are the same bytes."""
    for arch in ("xtensawin", "armv6m"):
        for m in MODULES:
            with open(os.path.join(mip, "csagent", m + ".mpy"), "rb") as f:
                data = f.read()
            assert data[:2] == b"M\x06" and data[2] >> 2 == 0, m
            rel = "csagent/%s.py" % m
            dest = build.compile_module(os.path.join(ROOT, "firmware", rel), rel, str(tmp_path / arch), arch)
            with open(dest, "rb") as f:
                assert f.read() == data, (arch, m)


def test_every_module_imports_on_the_unix_port(mip):
    script = ("import sys\nfor m in %r:\n    __import__('csagent.' + m)\n"
              "    assert sys.modules['csagent.' + m].__file__.endswith('.mpy')\n"
              "print('imported', len(%r))\n" % (MODULES, MODULES))
    r = run_micropython(["-c", script], [mip], heap="512K")
    assert r.returncode == 0 and "imported %d" % len(MODULES) in r.stdout, r.stdout + r.stderr


def test_mpremote_mip_installs_it(mip, tmp_path):
    root = tmp_path / "board"
    root.mkdir()
    board = PtyBoard(str(root))
    try:  # "resume": no soft reset, which ends the unix port's REPL (a board's restarts)
        r = subprocess.run([MPREMOTE, "connect", board.url, "resume", "mip", "install", "--target", "lib",
                            os.path.join(mip, "package.json")], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        board.close()
    for m in MODULES:
        with open(os.path.join(mip, "csagent", m + ".mpy"), "rb") as f:
            assert (root / "lib" / "csagent" / (m + ".mpy")).read_bytes() == f.read(), m
