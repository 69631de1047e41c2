"""tools/station.py's command line: a bad argument gets one line and status 2."""
import subprocess
import sys

import pytest

from conftest import ROOT

GOOD = ["--csms", "ws://127.0.0.1:9", "--id", "CS001"]


@pytest.mark.parametrize("args", [
    [],
    ["--id", "CS001", "--state", "S"],
    ["--csms", "http://127.0.0.1:9", "--id", "CS001", "--state", "S"],
    ["--csms", "ws://", "--id", "CS001", "--state", "S"],
    GOOD + ["--state", "S", "--heap", "lots"],
    GOOD + ["--state", "S", "--heap", "1K"],
    GOOD + ["--state", "S", "--runtime", "java"],
    GOOD + ["--state", "S", "--cafile", "/no/such/file.pem"],
    GOOD + ["--state", "FILE"],
    ["--csms", "ws://127.0.0.1:9", "--id", "x" * 49, "--state", "S"],
    GOOD + ["--state", "S", "--bogus"],
    GOOD + ["--state", "S", "--romfs", "--runtime", "cpython"],
    GOOD + ["--state", "S", "--micropython", "/no/such/micropython"],
    GOOD + ["--state", "S", "--micropython", "FILE"],  # not executable
    GOOD + ["--state", "S", "--micropython", sys.executable, "--romfs"],
    GOOD + ["--state", "S", "--micropython", sys.executable, "--runtime", "cpython"],
    GOOD + ["--state", "S", "--micropython", sys.executable, "--unix-port", sys.executable],
    GOOD + ["--state", "S", "--unix-port", "/no/such/micropython"],
    GOOD + ["--state", "S", "--unix-port", sys.executable, "--runtime", "cpython"],
    GOOD + ["--state", "S", "--runtime", "picow", "--heap", "64K"],  # the board's heap is the image's
    GOOD + ["--state", "S", "--runtime", "picow", "--romfs"],
    GOOD + ["--state", "S", "--runtime", "picow", "--firmware", "/no/such/firmware.uf2"],
    GOOD + ["--state", "S", "--firmware", "FILE"],  # not with the unix port
])
def test_bad_arguments(args, tmp_path):
    afile = tmp_path / "file"
    afile.write_text("")
    args = [str(tmp_path / "s") if a == "S" else str(afile) if a == "FILE" else a for a in args]
    r = subprocess.run([sys.executable, ROOT + "/tools/station.py"] + args, capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("station.py: error: "), r.stderr
    assert not (tmp_path / "s").exists()  # nothing was created for a refused command line
