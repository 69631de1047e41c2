"""csagent.bundle, csagent.firmware_slots and http_get's URL parsing on both
runtimes: a bundle unpacks exactly, and any malformed or mutated one ends
in BundleError (never another exception, never a file outside its slot);
the slot state survives a bad file as "no state"."""
import binascii
import hashlib
import os

from scratch import with_flash

from csagent import firmware_slots as slots
from csagent.bundle import BundleError, unpack
from csagent.http_get import HttpError, parse_url

FILES = [("csagent/agent.mpy", b"M\x06\x00\x1f" + bytes(range(256)) * 3), ("csagent/boot.mpy", b"boot" * 100),
         ("csagent/__init__.mpy", b"")]


def bundle_bytes(files=FILES, version="1.2.3", head=None):
    """A bundle as tools/bundle.py writes it, written here independently."""
    out = head if head is not None else b"csagent-bundle 1 %d %s\n" % (len(files), version.encode())
    for path, data in files:
        out += b"%d %s %s\n" % (len(data), binascii.hexlify(hashlib.sha256(data).digest()), path.encode())
    for _, data in files:
        out += data
    return out


def unpacked(flash, data):
    """Unpack `data` into <flash>/fw/a; the files there, or the BundleError."""
    path = flash + "/bundle"
    with open(path, "wb") as f:
        f.write(data)
    try:
        for _ in unpack(path, flash + "/a"):
            pass
    except BundleError as e:
        return e
    found = {}
    for name in os.listdir(flash + "/a/csagent"):
        with open(flash + "/a/csagent/" + name, "rb") as f:
            found["csagent/" + name] = f.read()
    with open(flash + "/a/version") as f:
        found["version"] = f.read()
    return found


@with_flash
def test_a_bundle_unpacks_exactly(flash):
    got = unpacked(flash, bundle_bytes())
    assert got.pop("version") == "1.2.3"
    assert got == dict(FILES)
    # a second bundle replaces the slot whole
    got = unpacked(flash, bundle_bytes(FILES[:2], "1.2.4"))
    assert got.pop("version") == "1.2.4" and sorted(got) == ["csagent/agent.mpy", "csagent/boot.mpy"]


@with_flash
def test_malformed_bundles_are_refused(flash):
    good = bundle_bytes()
    cases = [
        b"",
        b"csagent-bundle 2 3 1.0\n" + good[good.index(b"\n") + 1:],  # another format version
        b"csagent-bundle 1 0 1.0\n",
        b"csagent-bundle 1 999 1.0\n",
        b"csagent-bundle 1 3\n",  # no version
        b"csagent-bundle 1 3 " + b"v" * 51 + b"\n",
        b"csagent-bundle 1 3 1.0",  # no end of line
        b"x" * 500,
        good[:40],  # cut in the table
        good[:-1],  # cut in the last file
        good + b"!",  # bytes after the last file
        good[:-1] + bytes([good[-1] ^ 1]),  # a file that does not match its hash
        bundle_bytes([("csagent/../main.mpy", b"x")] + FILES),
        bundle_bytes([("/etc/passwd", b"x")] + FILES),
        bundle_bytes([("csagent/Agent.mpy", b"x")] + FILES),
        bundle_bytes([("csagent/a.py", b"x")] + FILES),
        bundle_bytes([("csagent/.mpy", b"x")] + FILES),
        bundle_bytes(FILES + [FILES[1]]),  # listed twice
        bundle_bytes(FILES[1:]),  # no agent.mpy: not an agent
        good.replace(b"\n772 ", b"\n77x ", 1),
        good.replace(b" csagent/boot.mpy", b"  csagent/boot.mpy", 1),
    ]
    for n, data in enumerate(cases):
        got = unpacked(flash, data)
        assert isinstance(got, BundleError), (n, got)
        assert got.args and isinstance(got.args[0], str) and "\n" not in got.args[0]
        assert sorted(os.listdir(flash)) == ["a", "bundle"], (n, os.listdir(flash))


@with_flash
def test_mutated_bundles_end_in_bundle_error_or_unpack(flash):
    good = bundle_bytes()
    seed = 12345
    for _ in range(150):
        data = bytearray(good)
        for _ in range(1 + seed % 3):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            at = seed % len(data)
            kind = seed % 4
            if kind == 0:
                data[at] ^= 1 << (seed % 8)
            elif kind == 1:
                data = data[:at]
            elif kind == 2:
                data = data[:at] + bytes([seed & 0xFF]) + data[at:]
            else:
                data = data[:at] + data[at + 1:]
        got = unpacked(flash, bytes(data))
        assert isinstance(got, (BundleError, dict)), got
        assert sorted(os.listdir(flash)) == ["a", "bundle"]
        if isinstance(got, dict):  # a change that kept every hash (a name, the version): the same bytes
            got.pop("version")
            assert sorted(got.values()) == sorted(d for _, d in FILES)


@with_flash
def test_slot_state_is_replaced_whole_and_a_bad_one_reads_as_none(flash):
    os.mkdir(flash + "/fw")
    assert slots.read(flash) == {} and slots.current(flash) == {"status": "Idle"}
    slots.write(flash, {"slot": None, "trial": "a", "boots": 1, "id": 7, "status": "InstallRebooting"})
    assert slots.current(flash) == {"status": "InstallRebooting", "requestId": 7}
    assert os.listdir(flash + "/fw") == ["state.json"]
    slots.roll_back(flash, "test")
    state = slots.read(flash)
    assert state["trial"] is None and state["status"] == "RolledBack" and slots.current(flash) == {"status": "Idle"}
    for junk in (b"", b"[1, 2]", b"{", b"\xff\xfe"):
        with open(flash + "/fw/state.json", "wb") as f:
            f.write(junk)
        assert slots.read(flash) == {}


def test_locations():
    assert parse_url("http://127.0.0.1:8080/fw/a.bin") == (False, "127.0.0.1", 8080, "/fw/a.bin")
    assert parse_url("https://example.com") == (True, "example.com", 443, "/")
    assert parse_url("http://h/x?y=1") == (False, "h", 80, "/x?y=1")
    for bad in ("ftp://h/x", "http://", "http://h:port/", "http://u:p@h/x", "http://h/a b", "h/x", "https://:1/"):
        try:
            parse_url(bad)
        except HttpError:
            continue
        raise AssertionError(bad)
