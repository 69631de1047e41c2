"""The store's base log (store.py): read at start-up, folded into every
SLOTS commits, written anew when it has grown. Loaded for those moments
only: between them its code takes no heap.
"""
import binascii
import json
import os

from .compat import const
from .store import SLOTS, StoreError, lines, sync, write_line

_VERSION = const(1)
_CHUNK = const(512)  # snapshot and fold records are cut at about this size
_SLACK = const(4096)


def _parse(line, path):
    """The JSON object of one line, or None when the line is torn or corrupt
    (its CRC fails). A line whose CRC holds was written whole: anything but
    a JSON object there (another firmware's, a tool's) is a StoreError. The
    JSON is read in place where the runtime's json takes a memoryview
    (MicroPython)."""
    if len(line) < 11 or line[8:9] != b" " or line[-1:] != b"\n":
        return None
    text = memoryview(line)[9:-1]
    try:
        if int(line[:8], 16) != binascii.crc32(text):
            return None
    except ValueError:
        return None
    try:
        try:
            record = json.loads(text)
        except TypeError:  # CPython's json takes no memoryview
            record = json.loads(bytes(text))
    except (ValueError, RuntimeError):  # RuntimeError: CPython's recursion limit
        record = None
    if not isinstance(record, dict):
        raise StoreError("store %s unreadable: a line of unknown shape" % path)
    return record


def _record(line, path):
    """The record of one line, None when torn or corrupt. A record is
    {"c": {key: str or null}} and maybe "s", a commit number; any other
    shape is a StoreError, never a KeyError or a wrong type later on."""
    record = _parse(line, path)
    if record is None:
        return None
    seq = record.get("s", 0)
    ok = isinstance(record.get("c"), dict) and isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0
    if ok:
        for value in record["c"].values():
            ok = ok and (value is None or isinstance(value, str))
    if not ok:
        raise StoreError("store %s unreadable: a line of unknown shape" % path)
    return record


def _sync_dir(path):
    """A rename is durable on littlefs at once; POSIX needs the directory
    synced, or a power cut may bring the old base log back."""
    if hasattr(os, "fsync"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _makedirs(path):
    end = 0
    while end >= 0:
        end = path.find("/", end + 1)
        try:
            os.mkdir(path if end < 0 else path[:end])
        except OSError:
            pass  # exists
    os.stat(path)


def load(store):
    """Replay the base log, then the journal slots (store.py's doc)."""
    _makedirs(store._dir)
    try:
        os.remove(store._path("base.new"))  # a generation cut short
    except OSError:
        pass
    try:
        f = open(store._path("base"), "rb")
    except OSError:
        try:
            os.stat(store._slot(1))  # the first commit ever went there
        except OSError:
            _write_generation(store)  # a new store
            return
        raise StoreError("store %s unreadable: journal without base log" % store._dir)
    with f:
        clean = _read_base(store, f)
    if not _read_slots(store) or not clean:
        _write_generation(store)


def _read_base(store, f):
    """Replay the base log up to its last sealed record: the records before a
    seal are one snapshot or fold, whole only with it. False when anything
    follows that seal (a torn or corrupt part)."""
    path = store._path("base")
    end = _replay(store, f, path, -1)
    size = f.seek(0, 2)
    if end < size:  # records of an unsealed part may have been applied
        store._data = {}
        f.seek(0)
        _replay(store, f, path, end)
    store._base_size = size
    return end == size


def _replay(store, f, path, stop):
    """Apply the base log's records up to offset `stop` or a torn or corrupt
    line; returns the offset where its last sealed record ends."""
    records = lines(f, _CHUNK)
    head = _parse(next(records, (0, b""))[1], path)
    if head is None:
        raise StoreError("store %s unreadable: bad header" % path)
    version = head.get("v")
    if version != _VERSION:
        raise StoreError("store %s has format version %r, this firmware reads %d" % (path, version, _VERSION))
    end = 0
    for offset, line in records:
        record = None if offset == stop else _record(line, path)
        if record is None:
            break
        store._apply(record["c"])
        if "s" in record:
            store._base_seq = store._seq = record["s"]
            end = offset + len(line)
    if not end:
        raise StoreError("store %s unreadable: incomplete snapshot" % path)
    return end


def _read_slots(store):
    """Replay the slots in order while each holds the next commit; False when
    a slot not replayed holds a later commit. That one is from commits rolled
    back when an earlier slot rotted: the numbers would be reused and a later
    load would replay it. Then the numbering skips past all such commits (the
    caller records that in a new generation): the state stays a prefix of
    what was committed, and an intact store costs no write."""
    while store._seq - store._base_seq < SLOTS:
        seq = store._seq + 1
        record = _slot_record(store, seq)
        if record is None or record.get("s") != seq:
            break
        store._apply(record["c"])
        store._pending.update(record["c"])
        store._seq = seq
    latest = store._seq
    for seq in range(store._seq + 1, store._base_seq + SLOTS + 1):
        record = _slot_record(store, seq)
        if record is not None and record.get("s", 0) > latest:
            latest = record["s"]
    intact = latest == store._seq
    store._seq = latest
    return intact


def _slot_record(store, seq):
    """The record in the slot of commit number seq, None if none is there."""
    path = store._slot(seq)
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except OSError:  # never written, or no file (MicroPython opens a directory, then cannot read it)
        return None
    return _record(line, path)


def _write_records(store, f, keys):
    """Write the current values of `keys` as records of about _CHUNK
    bytes, the last one sealed with the commit number; returns the bytes."""
    size = 0
    chunk = {}
    n = 0
    for key in keys:
        value = store._data.get(key)
        chunk[key] = value
        n += len(key) + (4 if value is None else len(value)) + 6
        if n >= _CHUNK:
            size += write_line(f, {"c": chunk})
            chunk = {}
            n = 0
    size += write_line(f, {"s": store._seq, "c": chunk})
    sync(f)
    return size


def fold(store):
    """Move the journal into the base log so its slots can be reused."""
    state = 0
    for key, value in store._data.items():
        state += len(key) + len(value) + 6
    if store._base_size > 2 * state + _SLACK:
        _write_generation(store)
        return
    with open(store._path("base"), "ab") as f:
        store._base_size += _write_records(store, f, store._pending)
    store._base_seq = store._seq
    store._pending = set()


def _write_generation(store):
    """Snapshot the state into a new base log; the rename makes it count."""
    tmp = store._path("base.new")
    with open(tmp, "wb") as f:
        store._base_size = write_line(f, {"v": _VERSION}) + _write_records(store, f, store._data)
    os.rename(tmp, store._path("base"))
    _sync_dir(store._dir)
    store._base_seq = store._seq
    store._pending = set()
