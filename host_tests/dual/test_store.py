"""csagent.store on a plain directory, on CPython and the MicroPython unix port.

Power cuts on real littlefs are in host_tests/test_store_powercut.py; here a
cut is a file truncated at every byte, as a POSIX filesystem may leave it.
"""
import binascii
import json
import os

from csagent.store import SLOTS, Store, StoreError
from scratch import rmtree, scratch_path


def _files(path):
    """{name: content} of the store directory."""
    out = {}
    for name in os.listdir(path):
        with open(path + "/" + name, "rb") as f:
            out[name] = f.read()
    return out


def _restore(path, files):
    for name in os.listdir(path):
        if name not in files:
            os.remove(path + "/" + name)
    for name, content in files.items():
        with open(path + "/" + name, "wb") as f:
            f.write(content)


def _changed(before, after):
    return [n for n in after if before.get(n) != after[n]]


def _state(store):
    return dict(store.items())


def _with_dir(test):
    def run():
        d = scratch_path("store")
        try:
            test(d)
        finally:
            rmtree(d)
    return run


@_with_dir
def test_round_trip(d):
    s = Store(d)
    assert len(s) == 0 and s.get("a") is None and s.get("a", "x") == "x"
    s.commit({"OCPPCommCtrlr/HeartbeatInterval/Actual": "300", "b": "é ü \" \\ \n"})
    s.commit({"c": "3"})
    s.commit({"c": "4"})
    expected = {"OCPPCommCtrlr/HeartbeatInterval/Actual": "300", "b": "é ü \" \\ \n", "c": "4"}
    assert _state(s) == expected and len(s) == 3
    s.close()
    s = Store(d)
    assert _state(s) == expected
    assert s.get("c") == "4"


def test_directory_is_created_with_parents():
    d = scratch_path("store")
    try:
        s = Store(d + "/nested")
        s.commit({"a": "1"})
        assert Store(d + "/nested").get("a") == "1"
    finally:
        rmtree(d + "/nested")
        os.rmdir(d)


@_with_dir
def test_delete(d):
    s = Store(d)
    s.commit({"a": "1", "b": "2"})
    s.commit({"a": None})
    assert _state(s) == {"b": "2"}
    s = Store(d)
    assert _state(s) == {"b": "2"}
    s.commit({"b": None, "c": "3"})
    assert _state(Store(d)) == {"c": "3"}


@_with_dir
def test_noop_commit_writes_nothing(d):
    s = Store(d)
    s.commit({"a": "1", "b": "2"})
    before = _files(d)
    s.commit({})
    s.commit({"a": "1"})
    s.commit({"missing": None})
    s.commit({"a": "1", "b": "2", "gone": None})
    assert _files(d) == before
    s.commit({"a": "1", "b": "3"})
    changed = _changed(before, _files(d))
    assert len(changed) == 1 and changed[0][0] == "j"  # one journal slot


def _cut_each_byte(d, change):
    """Commit `change` to the store in `d`, then replay each file that commit
    wrote as if power failed at every byte of it (the files written before it
    complete; a new base generation torn as base.new, renamed only when
    complete): the store must load the state before the commit, and the
    next commit must land."""
    before = _files(d)
    expected = _state(Store(d))
    s = Store(d)
    s.commit(change)
    after_state = _state(s)
    after = _files(d)
    assert _state(Store(d)) == after_state != expected
    written = _changed(before, after)
    assert len([name for name in written if name[0] == "j"]) == 1
    written.sort(key=lambda name: name != "base")  # the journal slot comes last
    done = dict(before)
    for name in written:
        new_generation = name == "base" and not after[name].startswith(before[name])
        old = before[name] if name == "base" and not new_generation else b""
        cuts = range(len(old), len(after[name]))
        if new_generation:  # never read, only removed: a few cuts will do
            cuts = (0, len(after[name]) // 2, len(after[name]) - 1)
        for n in cuts:
            _restore(d, dict(done, **{"base.new" if new_generation else name: after[name][:n]}))
            assert _state(Store(d)) == expected, (name, n)
            s = Store(d)
            # enough commits for a fold: nothing may be appended after garbage
            for i in range(SLOTS + 1 if name == "base" else 1):
                s.commit({"after-cut": "%d.%d" % (n, i)})
            assert _state(Store(d)) == dict(expected, **{"after-cut": "%d.%d" % (n, i)}), (name, n)
        done[name] = after[name]
    _restore(d, after)


@_with_dir
def test_torn_journal_write(d):
    Store(d).commit({"a": "1", "b": "2"})
    _cut_each_byte(d, {"a": "9", "b": None, "c": "3"})


@_with_dir
def test_torn_fold(d):
    s = Store(d)
    for i in range(SLOTS):
        s.commit({"k%d" % (i % 5): "v%d" % i})
    # the journal is full: this commit first folds it into the base log
    _cut_each_byte(d, {"k1": "new", "k9": "x"})


@_with_dir
def test_torn_generation(d):
    s = Store(d)
    for i in range(100 * SLOTS):
        before = _files(d)
        change = {"k%d" % (i % 5): "%d" % i * 40}
        s.commit(change)
        if not _files(d)["base"].startswith(before["base"]):
            break
    else:
        assert False, "no new generation"
    _restore(d, before)
    _cut_each_byte(d, change)


@_with_dir
def test_corrupt_record_is_ignored(d):
    s = Store(d)
    s.commit({"a": "1"})
    s.commit({"a": "2"})
    with open(d + "/j2", "rb") as f:
        record = f.read()
    at = record.rindex(b'2"')
    with open(d + "/j2", "wb") as f:
        f.write(record[:at] + b"3" + record[at + 1:])  # a bit flipped, not torn
    assert Store(d).get("a") == "1"


def _write_header(path, record):
    text = json.dumps(record).encode()
    with open(path, "rb") as f:
        f.readline()
        rest = f.read()
    with open(path, "wb") as f:
        f.write(("%08x " % binascii.crc32(text)).encode() + text + b"\n" + rest)


@_with_dir
def test_unknown_version(d):
    Store(d).commit({"a": "1"})
    before = _files(d)
    _write_header(d + "/base", {"v": 2})
    try:
        Store(d)
        assert False, "loaded a store of an unknown version"
    except StoreError as e:
        assert "version 2" in str(e) and d + "/base" in str(e), str(e)
    after = _files(d)
    assert after["j1"] == before["j1"] and after["base"] != before["base"]  # nothing reset


@_with_dir
def test_unreadable(d):
    Store(d).commit({"a": "1"})
    with open(d + "/base", "r+b") as f:
        f.write(b"garbage!")
    try:
        Store(d)
        assert False, "loaded a store with a corrupt header"
    except StoreError as e:
        assert "unreadable" in str(e), str(e)


@_with_dir
def test_journal_without_base(d):
    Store(d).commit({"a": "1"})
    os.remove(d + "/base")
    try:
        Store(d)
        assert False, "started empty although settings exist"
    except StoreError as e:
        assert "unreadable" in str(e), str(e)


@_with_dir
def test_compaction(d):
    s = Store(d)
    model = {}
    generations = 0
    base = b""
    for i in range(700):
        change = {"Ctrlr%d/Var/Actual" % (i % 40): "value-%d" % i}
        if i % 7 == 0:
            change["Ctrlr%d/Var/Actual" % ((i + 3) % 40)] = None
        if i % 11 == 0:
            change.update({"Multi%d" % j: str(i) for j in range(5)})
        s.commit(change)
        for k, v in change.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
        files = _files(d)
        generations += not files["base"].startswith(base)
        base = files["base"]
        if i % 97 == 0:
            s = Store(d)
            assert _state(s) == model
    assert generations >= 3, generations
    assert sorted(files) == sorted(["base"] + ["j%d" % i for i in range(SLOTS)])
    assert _state(Store(d)) == model


@_with_dir
def test_lines_stay_short(d):
    s = Store(d)
    s.commit({"Component%d/Variable%d/Actual" % (i, i): "x" * 40 for i in range(500)})
    s = Store(d)
    for i in range(3 * SLOTS):  # folds that 500-key commit into the base log
        s.commit({"Component%d/Variable%d/Actual" % (i, i): "y%d" % i})
    assert len(Store(d)) == 500
    with open(d + "/base", "rb") as f:
        for line in f:
            assert len(line) < 1024, len(line)


@_with_dir
def test_types(d):
    s = Store(d)
    for bad in ({"a": 1}, {1: "a"}):
        try:
            s.commit(bad)
            assert False, "accepted %r" % (bad,)
        except TypeError:
            pass
    s.close()
    try:
        s.commit({"a": "1"})
        assert False, "committed after close"
    except StoreError as e:  # an OSError, as a flash that refuses the write
        assert isinstance(e, OSError) and "closed" in str(e)

