"""The store's base log (store.py): read at start-up, folded into every
SLOTS commits, written anew when it has grown. Loaded for those moments
only: the store borrows it by name (compat.borrow), and its imports run one
way, down to the store's file format. It takes the store's state as plain
values and gives back plain values, never touching the Store itself.
"""
import binascii
import json
import os

from .compat import const
from .store import SLOTS, StoreError, apply, lines, slot_path, sync, write_line

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


class _State:
    """The store's state while this code works on it."""

    def __init__(self, directory, data, pending, seq, base_size):
        self.directory = directory
        self.data = data
        self.pending = pending
        self.seq = seq
        self.base_seq = 0
        self.base_size = base_size

    def path(self, name):
        return self.directory + "/" + name

    def slot(self, seq):
        return slot_path(self.directory, seq)


def load(directory):
    """(data, pending, base size, base commit, last commit) of the store in
    `directory`: the base log replayed, then the journal slots (store.py's
    doc)."""
    state = _State(directory, {}, set(), 0, 0)
    _load(state)
    return state.data, state.pending, state.base_size, state.base_seq, state.seq


def _load(state):
    _makedirs(state.directory)
    try:
        os.remove(state.path("base.new"))  # a generation cut short
    except OSError:
        pass
    try:
        f = open(state.path("base"), "rb")
    except OSError:
        try:
            os.stat(state.slot(1))  # the first commit ever went there
        except OSError:
            _write_generation(state)  # a new store
            return
        raise StoreError("store %s unreadable: journal without base log" % state.directory)
    with f:
        clean = _read_base(state, f)
    if not _read_slots(state) or not clean:
        _write_generation(state)


def _read_base(state, f):
    """Replay the base log up to its last sealed record: the records before a
    seal are one snapshot or fold, whole only with it. False when anything
    follows that seal (a torn or corrupt part)."""
    path = state.path("base")
    end = _replay(state, f, path, -1)
    size = f.seek(0, 2)
    if end < size:  # records of an unsealed part may have been applied
        state.data = {}
        f.seek(0)
        _replay(state, f, path, end)
    state.base_size = size
    return end == size


def _replay(state, f, path, stop):
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
        apply(state.data, record["c"])
        if "s" in record:
            state.base_seq = state.seq = record["s"]
            end = offset + len(line)
    if not end:
        raise StoreError("store %s unreadable: incomplete snapshot" % path)
    return end


def _read_slots(state):
    """Replay the slots in order while each holds the next commit; False when
    a slot not replayed holds a later commit. That one is from commits rolled
    back when an earlier slot rotted: the numbers would be reused and a later
    load would replay it. Then the numbering skips past all such commits (the
    caller records that in a new generation): the state stays a prefix of
    what was committed, and an intact store costs no write. A torn or
    rotted slot where the replay stopped may read whole on a later start (a
    weak flash cell): its number is skipped too."""
    record = None
    while state.seq - state.base_seq < SLOTS:
        seq = state.seq + 1
        record = _slot_record(state, seq)
        if not record or record.get("s") != seq:
            break
        apply(state.data, record["c"])
        state.pending.update(record["c"])
        state.seq = seq
    latest = state.seq + 1 if record == {} else state.seq
    for seq in range(state.seq + 1, state.base_seq + SLOTS + 1):
        record = _slot_record(state, seq)
        if record and record.get("s", 0) > latest:
            latest = record["s"]
    intact = latest == state.seq
    state.seq = latest
    return intact


def _slot_record(state, seq):
    """The record in the slot of commit number seq: None if none was ever
    written there, {} if it is torn or corrupt."""
    path = state.slot(seq)
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except OSError:  # never written, or no file (MicroPython opens a directory, then cannot read it)
        return None
    return _record(line, path) or {}


def _write_records(state, f, keys):
    """Write the current values of `keys` as records of about _CHUNK
    bytes, the last one sealed with the commit number; returns the bytes."""
    size = 0
    chunk = {}
    n = 0
    for key in keys:
        value = state.data.get(key)
        chunk[key] = value
        n += len(key) + (4 if value is None else len(value)) + 6
        if n >= _CHUNK:
            size += write_line(f, {"c": chunk})
            chunk = {}
            n = 0
    size += write_line(f, {"s": state.seq, "c": chunk})
    sync(f)
    return size


def fold(directory, data, pending, seq, base_size):
    """The base log's size once the journal (commits up to `seq`, changing
    the keys `pending`) is moved into it, so its slots can be reused."""
    state = _State(directory, data, pending, seq, base_size)
    _fold(state)
    return state.base_size


def _fold(state):
    size = 0
    for key, value in state.data.items():
        size += len(key) + len(value) + 6
    if state.base_size > 2 * size + _SLACK:
        _write_generation(state)
        return
    with open(state.path("base"), "ab") as f:
        state.base_size += _write_records(state, f, state.pending)
    state.base_seq = state.seq
    state.pending = set()


def _write_generation(state):
    """Snapshot the state into a new base log; the rename makes it count."""
    tmp = state.path("base.new")
    with open(tmp, "wb") as f:
        state.base_size = write_line(f, {"v": _VERSION}) + _write_records(state, f, state.data)
    os.rename(tmp, state.path("base"))
    _sync_dir(state.directory)
    state.base_seq = state.seq
    state.pending = set()
