"""Scratch directories for the dual-runtime tests (CPython, the unix port,
which has neither tempfile nor shutil, and the emulated Pico W, whose
filesystem is the board's littlefs and whose os has no getenv)."""
import binascii
import os


def _tmp():
    try:
        os.stat("/dev/shm")
        return "/dev/shm"  # RAM: fsync is free, byte-by-byte power cuts are quick
    except OSError:
        getenv = getattr(os, "getenv", None)
        return (getenv and getenv("TMPDIR")) or "/tmp"


def scratch_path(kind):
    """A fresh path, not yet created."""
    return _tmp() + "/csagent-" + kind + "-" + binascii.hexlify(os.urandom(6)).decode()


def rmtree(path):
    for name in os.listdir(path):
        child = path + "/" + name
        if os.stat(child)[0] & 0x4000:
            rmtree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def with_flash(test):
    """Run test(flash) with a fresh directory, removed afterwards."""
    def run():
        flash = scratch_path("flash")
        os.mkdir(flash)
        try:
            test(flash)
        finally:
            rmtree(flash)
    return run
