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


def _parse(line):
    """The record of one line, or None when it is torn or corrupt. The JSON
    is read in place where the runtime's json takes a memoryview (MicroPython)."""
    if len(line) < 11 or line[8:9] != b" " or line[-1:] != b"\n":
        return None
    text = memoryview(line)[9:-1]
    try:
        if int(line[:8], 16) != binascii.crc32(text):
            return None
        try:
            return json.loads(text)
        except TypeError:  # CPython's json takes no memoryview
            return json.loads(bytes(text))
    except ValueError:
        return None


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
    _read_slots(store)
    if not clean:
        _write_generation(store)


def _read_base(store, f):
    """Replay the base log; False when it ends in a torn or corrupt part."""
    path = store._path("base")
    records = lines(f, _CHUNK)
    head = _parse(next(records, (0, b""))[1])
    if head is None:
        raise StoreError("store %s unreadable: bad header" % path)
    version = head.get("v") if isinstance(head, dict) else None
    if version != _VERSION:
        raise StoreError("store %s has format version %r, this firmware reads %d" % (path, version, _VERSION))
    seq = None
    sealed = True
    for _, line in records:
        record = _parse(line)
        if record is None:
            sealed = False
            break
        store._apply(record["c"])
        sealed = "s" in record
        if sealed:
            seq = record["s"]
    if seq is None:
        raise StoreError("store %s unreadable: incomplete snapshot" % path)
    store._base_size = f.seek(0, 2)
    store._base_seq = store._seq = seq
    return sealed


def _read_slots(store):
    while store._seq - store._base_seq < SLOTS:
        seq = store._seq + 1
        try:
            with open(store._slot(seq), "rb") as f:
                record = _parse(f.readline())
        except OSError:
            return  # never written
        if record is None or record.get("s") != seq:
            return
        store._apply(record["c"])
        store._pending.update(record["c"])
        store._seq = seq


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
