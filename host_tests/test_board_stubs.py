"""The board modules, which only run on their boards, type-checked by mypy
against the MicroPython 1.28 stubs of their port: a misspelt constant, a
method the port lacks or a wrong argument fails here instead of on a charger.

Both stub packages provide `machine` and `network`, so each goes into its
own directory under build/stubs (pip --target, once), not into the venv.
"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

STUB_PINS = {  # the MicroPython 1.28 release line, as the unix port and mpy-cross
    "esp32": ["micropython-esp32-stubs==1.28.0.post4", "micropython-stdlib-stubs==1.28.0.post6"],
    "rp2": ["micropython-rp2-stubs==1.28.0.post4", "micropython-stdlib-stubs==1.28.0.post6"],
}
COMMON = os.path.join("boards", "common")
CHECKED = {  # board: (stub set, modules checked against it)
    "esp32": ("esp32", ["boards/esp32/board.py", COMMON + "/mcu.py", COMMON + "/ppp.py"]),
    # ppp.py needs network.PPP, which the default RP2 firmware leaves out:
    # the rp2040 board imports it only when the firmware has it.
    "rp2040": ("rp2", ["boards/rp2040/board.py", COMMON + "/mcu.py"]),
}


def stubs(port):
    """Directory with the pinned stubs for `port`, installed on first use."""
    target = os.path.join(ROOT, "build", "stubs", port + "-" + STUB_PINS[port][0].split("==")[1])
    if not os.path.exists(os.path.join(target, "machine.pyi")):
        partial = target + ".part%d" % os.getpid()
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", partial] + STUB_PINS[port], check=True, timeout=300)
        try:
            os.rename(partial, target)
        except OSError:  # another run installed it meanwhile
            pass
    return target


def mypy(port, files):
    """mypy's error lines about `files` (the stubs' own are not ours)."""
    where = stubs(port)
    env = dict(os.environ, MYPYPATH=os.pathsep.join([where, os.path.join(ROOT, "firmware"),
                                                    os.path.join(ROOT, COMMON)]))
    r = subprocess.run([sys.executable, "-m", "mypy", "--custom-typeshed-dir", where,
                        "--follow-imports=silent", "--check-untyped-defs", "--no-incremental",
                        "--cache-dir=/dev/null", "--no-error-summary"] + files,
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stdout + r.stderr  # 2: mypy itself failed
    return [line for line in r.stdout.splitlines() if line.split(":", 1)[0] in files]


@pytest.mark.parametrize("board", sorted(CHECKED))
def test_board_against_its_port_stubs(board):
    port, files = CHECKED[board]
    assert mypy(port, files) == []


@pytest.mark.parametrize("board", sorted(CHECKED))
def test_the_check_sees_a_wrong_call(board, tmp_path):
    """The stubs are really in use: a call the port would refuse is reported."""
    port, files = CHECKED[board]
    with open(os.path.join(ROOT, files[0])) as f:
        source = f.read()
    wrong = str(tmp_path / "board.py")
    with open(wrong, "w") as f:
        f.write(source + "\n\nmachine.WDT(timeout='8 s')\nnetwork.WLAN(network.STA_IF).no_such_method()\n")
    errors = mypy(port, [wrong] + files[1:])
    assert len(errors) == 2, errors
    assert 'Argument "timeout" to "WDT" has incompatible type "str"' in errors[0]
    assert '"WLAN" has no attribute "no_such_method"' in errors[1]
