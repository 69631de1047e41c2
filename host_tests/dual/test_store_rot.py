"""csagent.store under flash rot and foreign lines (issue 24), on CPython and
the MicroPython unix port: after any one corrupt line the store holds a
prefix of what was committed, never a commit it rolled back; a line whose
CRC holds but whose shape is not the store's is a StoreError.
"""
import binascii
import os

from csagent.store import SLOTS, Store, StoreError, write_line
from scratch import rmtree, scratch_path
from test_store import _files, _restore, _state, _with_dir


def _flip(path, at):
    """Flip one bit of the byte `at` (from the end when negative): the CRC
    catches it, as flash rot that leaves the line its length."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[at] ^= 1
    with open(path, "wb") as f:
        f.write(data)


def _commit_history(d, n):
    """n commits to a new store in d; the state after each (index 0: none)."""
    s = Store(d)
    history = [{}]
    for i in range(n):
        change = {"k%d" % (i % 7): "v%d" % i}
        if i % 5 == 4:
            change["k%d" % ((i + 3) % 7)] = None
        s.commit(change)
        history.append(_state(s))
    return history


def _goes_on_from_a_prefix(d, history, label):
    """The store in d holds a state of history; commits from there, through a
    fold, load back as committed, and a load writes at most once (when it
    finds damage), never again on the next start."""
    s = Store(d)
    state = _state(s)
    assert state in history, (label, state)
    for i in range(SLOTS + 2):
        s.commit({"after": "%d" % i})
        state["after"] = "%d" % i
        if i < 3 or i > SLOTS - 1:
            s = Store(d)  # a restart
            assert _state(s) == state, (label, i)
            files = _files(d)
            assert _state(Store(d)) == state and _files(d) == files, (label, i)


@_with_dir
def test_rolled_back_commit_never_returns(d):
    s = Store(d)
    for value in ("1", "2", "3"):
        s.commit({"HeartbeatInterval": value})
    _flip(d + "/j2", -3)
    s = Store(d)
    assert _state(s) == {"HeartbeatInterval": "1"}  # rolled back: acceptable
    s.commit({"Other": "x"})
    assert _state(Store(d)) == {"HeartbeatInterval": "1", "Other": "x"}
    assert _state(Store(d)) == {"HeartbeatInterval": "1", "Other": "x"}


@_with_dir
def test_a_rotted_slot_that_reads_whole_again_stays_rolled_back(d):
    s = Store(d)
    for value in ("1", "2"):
        s.commit({"HeartbeatInterval": value})
    _flip(d + "/j2", -3)
    assert _state(Store(d)) == {"HeartbeatInterval": "1"}
    _flip(d + "/j2", -3)  # a weak cell that reads right this time
    assert _state(Store(d)) == {"HeartbeatInterval": "1"}


@_with_dir
def test_each_slot_rotted_in_turn(d):
    history = _commit_history(d, SLOTS + 9)  # every slot in use, one fold
    pristine = _files(d)
    for slot in range(SLOTS):
        _restore(d, pristine)
        _flip(d + "/j%d" % slot, 12)
        _goes_on_from_a_prefix(d, history, "j%d" % slot)


@_with_dir
def test_each_base_line_rotted_in_turn(d):
    s = Store(d)
    history = [{}]
    # a commit of 40 keys: its fold takes several records, one seal
    for i in range(3 * SLOTS + 5):
        s.commit({"key%d" % j: "v%d-%d" % (i, j) for j in range(40 if i == 0 else i % 3)})
        history.append(_state(s))
    pristine = _files(d)
    with open(d + "/base", "rb") as f:
        lines = f.readlines()
    assert len(lines) > 4 and b'"s"' not in lines[2], lines  # a fold of two records
    start = 0
    snapshot = True
    for n, line in enumerate(lines):
        _restore(d, pristine)
        _flip(d + "/base", start + 12)
        if snapshot:  # the header or the first snapshot: nothing to go back to
            try:
                Store(d)
                assert False, "loaded a store whose snapshot rotted, line %d" % n
            except StoreError as e:
                assert "unreadable" in str(e), str(e)
            snapshot = n == 0 or b'"s"' not in line
        else:
            _goes_on_from_a_prefix(d, history, "base line %d" % n)
        start += len(line)


def _expect_store_error(d, name, record):
    with open(d + "/" + name, "ab" if name == "base" else "wb") as f:
        write_line(f, record)
    try:
        Store(d)
        assert False, "loaded %s with %r" % (name, record)
    except StoreError as e:
        assert "unreadable" in str(e) and d + "/" + name in str(e), str(e)


def test_foreign_shapes_are_store_errors():
    records = [
        {"s": 0}, [1], "x", None, {"c": [1]}, {"c": {"k": 1}}, {"c": {"k": ["v"]}},
        {"s": "1", "c": {}}, {"s": True, "c": {}}, {"s": -1, "c": {}}, {"s": 1.5, "c": {}},
    ]
    for name in ("base", "j1"):
        for record in records:
            d = scratch_path("store")
            try:
                Store(d).commit({"a": "1"})
                if name == "j1":
                    os.remove(d + "/j1")
                _expect_store_error(d, name, record)
            finally:
                rmtree(d)


@_with_dir
def test_foreign_line_that_is_no_json(d):
    Store(d).commit({"a": "1"})
    text = b"{\"c\": {"
    with open(d + "/j2", "wb") as f:
        f.write(("%08x " % binascii.crc32(text)).encode() + text + b"\n")
    try:
        Store(d)
        assert False, "loaded a slot that is no JSON"
    except StoreError as e:
        assert "unreadable" in str(e), str(e)
