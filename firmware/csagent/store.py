"""Crash-safe, wear-aware key-value store: the device model lives in it.

A commit is atomic (after a power cut all of it or none) and durable when
commit() returns (B05: an Accepted value is already in flash).

Files in the store directory:
  base     base log: a version header, a snapshot of the whole state, then
           the folds appended since.
  base.new the next generation of the base log while it is written; renamed
           over base (atomic on littlefs and POSIX) once complete.
  j0..j31  journal slots: commit number n is the single record in slot n % 32.
Every line is `crc32-hex json\\n`; a record is {"c": {key: value or null}},
and the last record of a snapshot or fold also carries "s", the number of
the last commit it covers.

Why slots? Measured with bench/store.py, littlefs v2 on 4 KB blocks:
- appending one record per change to a log file costs 1.02 erases per
  change, whether the file is reopened each time or kept open and flushed:
  every sync makes littlefs copy the partly used last block to a new one.
- rewriting one JSON file per change (temp, rename): ~2 erases per change.
- rewriting a file small enough to live inline in its directory's metadata
  (128 bytes at progsize 32, the ESP32 default; 512 at 256, RP2040) erases
  nothing: littlefs appends a commit to the metadata log and compacts that
  (one erase) every ~20 commits at progsize 32, ~10 at 256.
So a commit rewrites one slot: one littlefs commit, all or nothing. Every 32
commits the changed keys are folded into the base log with one append (one
block copy); a new generation of it is written only when it outgrew twice
the state plus 4 KB. Result: 0.09 erases per single-variable change at
progsize 32, 0.14 at 256. A commit whose record outgrows the inline size
(key and value together beyond ~95 characters at progsize 32) costs one
more erase.

Loading replays the base, stopping at the first torn or corrupt line (then
writes a fresh generation so nothing is ever appended after garbage), then
the slots in order while each holds the next commit number with a valid
CRC. It streams line by line: RAM holds the key -> value dict, one line.
"""
import binascii
import json
import os

from .compat import const

VERSION = const(1)
SLOTS = const(32)
_CHUNK = const(512)  # snapshot and fold records are cut at about this size
_SLACK = const(4096)


class StoreError(Exception):
    """The store cannot be read; raised instead of starting from defaults."""


def _write_line(f, record):
    """Write record as one `crc32-hex json` line; returns its length in bytes.
    On MicroPython the JSON text is written from the str itself, never copied
    into bytes and again into a joined line: a large commit is in RAM once."""
    text = json.dumps(record, separators=(",", ":"))
    try:
        data = memoryview(text)  # MicroPython: the str's own UTF-8 bytes
    except TypeError:  # CPython
        data = text.encode()
    f.write(("%08x " % binascii.crc32(data)).encode())
    f.write(data)
    f.write(b"\n")
    return len(data) + 10


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


def _lines(f):
    """The lines of f, read _CHUNK bytes at a time: readline on a littlefs
    file reads byte by byte, 20 times slower. Holds one line and one chunk."""
    rest = b""
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            if rest:
                yield rest  # torn: no newline
            return
        rest += chunk
        start = 0
        end = rest.find(b"\n")
        while end >= 0:
            yield rest[start:end + 1]
            start = end + 1
            end = rest.find(b"\n", start)
        rest = rest[start:]


def _sync(f):
    """Durable now: littlefs commits on flush; a POSIX file needs fsync."""
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


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


class Store:
    def __init__(self, directory):
        self._dir = directory
        self._data = {}
        self._pending = set()  # keys changed since the last fold
        self._base_size = 0
        self._base_seq = 0  # last commit in the base log
        self._seq = 0  # last commit
        _makedirs(directory)
        self._load()

    def get(self, key, default=None):
        return self._data.get(key, default)

    def items(self):
        return self._data.items()

    def __len__(self):
        return len(self._data)

    def commit(self, changes):
        """Apply {key: str value, or None to delete}; writes only what changed."""
        if self._dir is None:
            raise StoreError("store is closed")
        delta = {}
        for key, value in changes.items():
            if value is None:
                if key in self._data:
                    delta[key] = None
            elif not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("store keys and values are str")
            elif self._data.get(key) != value:
                delta[key] = value
        if not delta:
            return
        if self._seq - self._base_seq >= SLOTS:
            self._fold()
        seq = self._seq + 1
        with open(self._slot(seq), "wb") as f:
            _write_line(f, {"s": seq, "c": delta})
            _sync(f)
        self._apply(delta)
        self._pending.update(delta)
        self._seq = seq

    def close(self):
        """Nothing stays open between commits; this drops the state from RAM."""
        self._dir = None
        self._data = {}
        self._pending = set()

    def _path(self, name):
        return self._dir + "/" + name

    def _slot(self, seq):
        return self._path("j%d" % (seq % SLOTS))

    def _apply(self, changes):
        for key, value in changes.items():
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value

    def _load(self):
        try:
            os.remove(self._path("base.new"))  # a generation cut short
        except OSError:
            pass
        try:
            f = open(self._path("base"), "rb")
        except OSError:
            try:
                os.stat(self._slot(1))  # the first commit ever went there
            except OSError:
                self._write_generation()  # a new store
                return
            raise StoreError("store %s unreadable: journal without base log" % self._dir)
        with f:
            clean = self._read_base(f)
        self._read_slots()
        if not clean:
            self._write_generation()

    def _read_base(self, f):
        """Replay the base log; False when it ends in a torn or corrupt part."""
        path = self._path("base")
        lines = _lines(f)
        head = _parse(next(lines, b""))
        if head is None:
            raise StoreError("store %s unreadable: bad header" % path)
        version = head.get("v") if isinstance(head, dict) else None
        if version != VERSION:
            raise StoreError("store %s has format version %r, this firmware reads %d" % (path, version, VERSION))
        seq = None
        sealed = True
        for line in lines:
            record = _parse(line)
            if record is None:
                sealed = False
                break
            self._apply(record["c"])
            sealed = "s" in record
            if sealed:
                seq = record["s"]
        if seq is None:
            raise StoreError("store %s unreadable: incomplete snapshot" % path)
        self._base_size = f.seek(0, 2)
        self._base_seq = self._seq = seq
        return sealed

    def _read_slots(self):
        while self._seq - self._base_seq < SLOTS:
            seq = self._seq + 1
            try:
                with open(self._slot(seq), "rb") as f:
                    record = _parse(f.readline())
            except OSError:
                return  # never written
            if record is None or record.get("s") != seq:
                return
            self._apply(record["c"])
            self._pending.update(record["c"])
            self._seq = seq

    def _write_records(self, f, keys):
        """Write the current values of `keys` as records of about _CHUNK
        bytes, the last one sealed with the commit number; returns the bytes."""
        size = 0
        chunk = {}
        n = 0
        for key in keys:
            value = self._data.get(key)
            chunk[key] = value
            n += len(key) + (4 if value is None else len(value)) + 6
            if n >= _CHUNK:
                size += _write_line(f, {"c": chunk})
                chunk = {}
                n = 0
        size += _write_line(f, {"s": self._seq, "c": chunk})
        _sync(f)
        return size

    def _fold(self):
        """Move the journal into the base log so its slots can be reused."""
        state = 0
        for key, value in self._data.items():
            state += len(key) + len(value) + 6
        if self._base_size > 2 * state + _SLACK:
            self._write_generation()
            return
        with open(self._path("base"), "ab") as f:
            self._base_size += self._write_records(f, self._pending)
        self._base_seq = self._seq
        self._pending = set()

    def _write_generation(self):
        """Snapshot the state into a new base log; the rename makes it count."""
        tmp = self._path("base.new")
        with open(tmp, "wb") as f:
            self._base_size = _write_line(f, {"v": VERSION}) + self._write_records(f, self._data)
        os.rename(tmp, self._path("base"))
        _sync_dir(self._dir)
        self._base_seq = self._seq
        self._pending = set()
