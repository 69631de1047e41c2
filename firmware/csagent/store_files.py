"""The store's files, as the store (store.py) and its base-log code
(store_base.py) both use them: where commit number n goes (journal slot
n % SLOTS), the line format (`crc32-hex json`), durable writes, and the
chunked line reader that model.jsonl and the board's files share. Resident,
below both, so neither imports the other's module for them.
"""
import binascii
import json
import os

SLOTS = 32  # journal slots; no const(): importing it would cost a module a name


class State:
    """The store's state in RAM, a plain record: what the store works on
    and what loading and folding (store_base) take and give back."""

    def __init__(self, directory):
        self.directory = directory
        self.data = {}  # key -> value
        self.pending = set()  # keys changed since the last fold
        self.base_size = 0  # bytes of the base log
        self.base_seq = 0  # last commit in the base log
        self.seq = 0  # last commit

    def path(self, name):
        return self.directory + "/" + name

    def slot(self, seq):
        """The journal slot file of commit number seq."""
        return self.path("j%d" % (seq % SLOTS))

    def apply(self, changes):
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


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
