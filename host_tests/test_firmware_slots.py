"""firmware_slots.prepare() at boot, as main.py calls it, on CPython and on
the unix port: a slot on trial whose agent does not load is rolled back
and the frozen or installed agent starts, never claiming the slot's
version (CPython takes no .mpy at all; the unix port refuses a bad one)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import BIN, ROOT

PROBE = """
import sys
from csagent import firmware_slots
board, run = firmware_slots.prepare(sys.argv[1])
print("version", getattr(board, "firmware_version", None), "pending", getattr(board, "update_pending", False))
"""


def flash_with_trial(tmp_path):
    flash = tmp_path / "flash"
    slot = flash / "fw" / "a" / "csagent"
    os.makedirs(slot)
    for name in ("__init__", "agent", "board_base"):
        (slot / (name + ".mpy")).write_bytes(b"not bytecode")  # the unix port: incompatible .mpy file
    (flash / "fw" / "a" / "version").write_text("9.9.9-bad")
    (flash / "fw" / "state.json").write_text(json.dumps({"slot": None, "trial": "a", "boots": 0, "id": 3,
                                                          "status": "InstallRebooting"}))
    return str(flash)


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_slot_that_does_not_load_is_rolled_back(tmp_path, runtime, host_build):
    flash = flash_with_trial(tmp_path)
    if runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "firmware"),
                                                           os.path.join(ROOT, "boards", "host")]))
        cmd = [sys.executable, "-c", PROBE, flash]
    else:
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([host_build, ".frozen"]))
        cmd = [os.path.join(BIN, "micropython"), "-c", PROBE, flash]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["version", "None", "pending", "True"], r.stdout + r.stderr
    assert "firmware: new agent rolled back" in r.stderr
    with open(os.path.join(flash, "fw", "state.json")) as f:
        state = json.load(f)
    assert state["trial"] is None and state["status"] == "RolledBack" and state["boots"] == 1
