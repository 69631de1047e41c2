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
CRC. A slot left over beyond that stop with a later commit number (an
earlier slot rotted) is never replayed: the numbering skips past it, kept
in a new generation. So the state is always a prefix of what was
committed. A line whose CRC holds but whose shape is not the store's (a
tool's, another firmware's) is a StoreError. Loading streams line by line:
RAM holds the key -> value dict, one line.
"""
import binascii
import json
import os

from .compat import borrow

SLOTS = 32  # journal slots; no const(): store_base imports it


def slot_path(directory, seq):
    """The journal slot file of commit number seq."""
    return "%s/j%d" % (directory, seq % SLOTS)


def apply(data, changes):
    """Apply a record's changes {key: value, or None to delete} to data."""
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value


class StoreError(OSError):
    """The store cannot be read (raised instead of starting from defaults),
    or is closed. An OSError, as a flash that refuses a write: callers that
    handle one handle both."""


def write_line(f, record):
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


def lines(f, chunk):
    """(offset, line) of a file of lines (the store's, model.jsonl) from its
    position on, read `chunk` bytes at a time: readline() on a littlefs file
    fetches byte by byte, 20 times slower. The last line may lack its
    newline (torn). A long line is joined once from its pieces, so no
    allocation is larger than the line (growing it chunk by chunk needed the
    line plus a chunk in one piece while the line was held: a report's
    fragmented heap refused that). What goes out is yielded from a list it
    is popped from: no local of a suspended generator still holds it."""
    offset = f.tell()
    head = []  # the pieces of a line begun in an earlier chunk
    while True:
        data = f.read(chunk)
        if not data:
            if head:
                yield offset, b"".join(head)
            return
        start = 0
        end = data.find(b"\n")
        while end >= 0:
            head.append(data[start:end + 1])
            out = [(offset, b"".join(head) if len(head) > 1 else head[0])]
            head = []
            offset += len(out[0][1])
            yield out.pop()
            start = end + 1
            end = data.find(b"\n", start)
        if start < len(data):
            head.append(data[start:])


def sync(f):
    """Durable now: littlefs commits on flush; a POSIX file needs fsync."""
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


class Store:
    def __init__(self, directory):
        self._dir = directory
        # What store_base.load gives back: key -> value, the keys changed
        # since the last fold, the base log's size in bytes, the last commit
        # in it and the last commit.
        self._data, self._pending, self._base_size, self._base_seq, self._seq = \
            borrow("csagent.store_base", "load", directory)

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
        if self._seq - self._base_seq >= SLOTS:  # the journal is full: fold it into the base log
            self._base_size = borrow("csagent.store_base", "fold", self._dir, self._data, self._pending,
                                     self._seq, self._base_size)
            self._base_seq = self._seq
            self._pending = set()
        seq = self._seq + 1
        with open(slot_path(self._dir, seq), "wb") as f:
            write_line(f, {"s": seq, "c": delta})
            sync(f)
        apply(self._data, delta)
        self._pending.update(delta)
        self._seq = seq

    def close(self):
        """Nothing stays open between commits; this drops the state from RAM."""
        self._dir = None
        self._data = {}
        self._pending = set()
