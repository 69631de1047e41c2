"""The agent bundle a firmware update installs (L01): reading and unpacking
it on the device. tools/bundle.py writes it. Loaded by firmware_update only.

Format, streamed front to back:
  csagent-bundle 1 <count> <version>\\n       the version is what BootNotification
                                               then reports as firmwareVersion
  <size> <sha256 hex> <path>\\n   count times, the file table; a path is
                                   csagent/<name>.mpy
  the files' bytes, in table order, nothing after them
The signature UpdateFirmware carries covers the SHA-256 of the whole file,
so the table is trusted once the signature is; each file's own hash is
checked again as it is unpacked, to catch a flash that lost a bit since.
"""
import binascii
import hashlib
import os

from .compat import const

MAGIC = b"csagent-bundle 1 "
_CHUNK = const(512)
_MAX_LINE = const(160)
_MAX_FILES = const(80)
_NAME_CHARS = const(b"abcdefghijklmnopqrstuvwxyz0123456789_")


class BundleError(Exception):
    """Not a bundle this agent can install; args[0] says why, in one line."""


def _line(f):
    line = f.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise BundleError("header line cut short or longer than %d bytes" % _MAX_LINE)
    return line[:-1]


def _entry(line):
    """(size, hex digest, path) of one table line, checked as bytes: a path
    is csagent/<lowercase, digits, _>.mpy, nothing else."""
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 64:
        raise BundleError("bad file table line")
    path = parts[2]
    name = path[8:-4]
    if not (path.startswith(b"csagent/") and path.endswith(b".mpy") and name
            and all(c in _NAME_CHARS for c in name)):
        raise BundleError("bad path in file table")
    return int(parts[0]), parts[1], path.decode()


def header(f):
    """(version, count) from the first line of open file f (binary)."""
    line = _line(f)
    if not line.startswith(MAGIC):
        raise BundleError("not a csagent bundle, or another format version")
    count, _, version = line[len(MAGIC):].partition(b" ")
    if not count.isdigit() or not 0 < int(count) <= _MAX_FILES or not 0 < len(version) <= 50 \
            or not all(32 < c < 127 for c in version):
        raise BundleError("bad bundle header")
    return version.decode(), int(count)


def _remove_tree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        child = path + "/" + name
        try:
            os.remove(child)
        except OSError:
            _remove_tree(child)
    os.rmdir(path)


def unpack(path, dest):
    """Unpack bundle file `path` into directory `dest` (emptied first),
    checking every file's size and SHA-256; `version` is written last, so
    a directory with it is whole. A generator: it yields after each file,
    so the caller's event loop runs in between. BundleError for a bundle
    that does not match its table; OSError when the flash fails."""
    _remove_tree(dest)
    os.mkdir(dest)
    os.mkdir(dest + "/csagent")
    buf = bytearray(_CHUNK)
    with open(path, "rb") as table, open(path, "rb") as data:
        version, count = header(table)
        for _ in range(count):  # the data starts after the table
            _entry(_line(table))
        data.seek(table.tell())
        table.seek(0)
        _line(table)
        paths = []
        for _ in range(count):
            size, digest, name = _entry(_line(table))
            if name in paths:
                raise BundleError("file listed twice: " + name)
            paths.append(name)
            h = hashlib.sha256()
            with open(dest + "/" + name, "wb") as out:
                while size:
                    n = data.readinto(memoryview(buf)[:min(size, _CHUNK)])
                    if not n:
                        raise BundleError("bundle ends inside " + name)
                    chunk = memoryview(buf)[:n]
                    h.update(chunk)
                    out.write(chunk)
                    size -= n
            if binascii.hexlify(h.digest()) != digest:
                raise BundleError("SHA-256 of %s does not match the table" % name)
            yield name
        if data.read(1):
            raise BundleError("bytes after the last file")
    if "csagent/agent.mpy" not in paths:
        raise BundleError("no csagent/agent.mpy: not an agent")
    with open(dest + "/version", "w") as f:
        f.write(version)
