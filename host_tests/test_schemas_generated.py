"""The checked-in tables are what tools/gen_schemas.py makes from the pinned schemas."""
import os
import subprocess
import sys

import build  # tools/build.py
from conftest import ROOT, run_micropython
from csagent import schemas
from gen_schemas import OUT, RECEIVED

GEN = [sys.executable, os.path.join(ROOT, "tools", "gen_schemas.py")]


def test_checked_in_tables_match_the_generator():
    r = subprocess.run(GEN + ["--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_check_fails_on_a_stale_copy(tmp_path):
    stale = tmp_path / "schemas.py"
    with open(OUT, encoding="utf-8") as f:
        stale.write_text(f.read().replace("'OnIdle'", "'Later'"), encoding="utf-8")
    r = subprocess.run(GEN + ["--check", "--out", str(stale)], capture_output=True, text=True)
    assert r.returncode == 1 and "gen_schemas" in r.stderr


def test_generation_is_deterministic(tmp_path):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    for out in (first, second):
        subprocess.run(GEN + ["--out", str(out)], check=True)
    assert first.read_bytes() == second.read_bytes()


def test_every_received_message_has_a_table_and_nothing_else():
    names = {a + "Request" for a in schemas.REQUESTS} | {a + "Response" for a in schemas.RESPONSES}
    assert names == set(RECEIVED)


def test_shared_nodes_are_stored_once():
    table = schemas.TABLE
    assert table.count("vendorId") == 1  # CustomDataType, used by every object
    assert table.count("Wireless3") == 1
    assert table.count("MaxSet") == 1  # AttributeEnumType, in GetVariables and SetVariables
    assert schemas.RESPONSES["NotifyReport"] == schemas.RESPONSES["StatusNotification"]


def test_the_mpy_build_loads_the_same_table_from_a_list_display(host_build):
    """schemas.py holds a constant tuple (frozen: in flash); tools/build.py
    compiles it for .mpy as a list display, which must give the same table."""
    with open(OUT, encoding="utf-8") as f:
        text = f.read()
    rewritten = build.table_as_list_display(text)
    assert "TABLE = (" in text and "TABLE = tuple([" in rewritten and "TABLE = (" not in rewritten
    r = run_micropython(["-c", "from csagent import schemas; print(repr(schemas.TABLE))"], [host_build])
    assert r.returncode == 0, r.stderr
    assert eval(r.stdout) == schemas.TABLE  # noqa: S307  (our own repr of a tuple of constants)
