"""The Pico W firmware on an emulated RP2040 (rp2040js, tools/emulator/pico.mjs),
driven from the tests over its USB serial with MicroPython's raw REPL.

Its filesystem is a littlefs image that the MicroPython unix port formats
and fills as the rp2 port would (4 KB blocks, progsize 256), placed where
RPI_PICO_W keeps it; the emulator host makes flash erase and program work
and can write the region back, so the host reads what the board wrote.
Every wait is bounded; close() always stops node.
"""
import os
import select
import shutil
import subprocess
import tempfile
import time

from conftest import ROOT, run_micropython

EMULATOR = os.path.join(ROOT, "tools", "emulator")
BOOTROM = os.path.join(os.path.dirname(ROOT), "shared", "micropython-kit", "rp2040-bootrom-B1.bin")
# RPI_PICO_W: 2 MB of flash, the last MICROPY_HW_FLASH_STORAGE_BYTES (848 KB) of it
# the filesystem, no ROMFS (ports/rp2/boards/RPI_PICO_W/mpconfigboard.h, rp2_flash.c).
FS_OFFSET = 2048 * 1024 - 848 * 1024
FS_BLOCKS = 848 * 1024 // 4096
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"

# Runs on the unix port: format a RAM flash as rp2's _boot.py does and copy a
# directory tree into it (host_tests/lfs_ramdisk.py is the block device).
_MKFS = """import os, sys
sys.path.insert(0, %(host_tests)r)
from lfs_ramdisk import RAMFlash, mkfs, mount, umount
flash = RAMFlash(blocks=%(blocks)d)
mkfs(flash, progsize=256)
top = mount(flash, '/picofs', progsize=256)
def copy(src, dst):
    for name, kind, *_ in os.ilistdir(src):
        if kind == 0x4000:
            os.mkdir(dst + '/' + name)
            copy(src + '/' + name, dst + '/' + name)
        else:
            with open(src + '/' + name, 'rb') as f, open(dst + '/' + name, 'wb') as g:
                g.write(f.read())
copy(%(tree)r, top)
umount(top)
with open(%(out)r, 'wb') as f:
    f.write(flash.image())
"""
# Runs on the unix port: the files of a filesystem image, 'path size' per line.
_LIST = """import os, sys
sys.path.insert(0, %(host_tests)r)
from lfs_ramdisk import RAMFlash, mount
with open(%(image)r, 'rb') as f:
    top = mount(RAMFlash(image=f.read()), '/picofs', progsize=256)
def walk(d):
    for name, kind, *_ in os.ilistdir(d):
        if kind == 0x4000:
            walk(d + '/' + name)
        else:
            print((d + '/' + name)[len(top):], os.stat(d + '/' + name)[6])
walk(top)
"""


class EmulatorError(Exception):
    pass


def _unix_port(script):
    r = run_micropython(["-c", script], [], heap="4M", timeout=60)
    if r.returncode:
        raise EmulatorError("unix port: " + r.stdout + r.stderr)
    return r.stdout


def make_fs_image(tree, out):
    """A littlefs image of directory `tree` for the Pico W's filesystem."""
    _unix_port(_MKFS % {"host_tests": os.path.join(ROOT, "host_tests"), "blocks": FS_BLOCKS,
                        "tree": os.path.abspath(tree), "out": os.path.abspath(out)})
    return out


def list_fs_image(image):
    """{path: size} of the files in a filesystem image."""
    out = _unix_port(_LIST % {"host_tests": os.path.join(ROOT, "host_tests"), "image": os.path.abspath(image)})
    return {path: int(size) for path, size in (line.rsplit(" ", 1) for line in out.splitlines())}


def node():
    return shutil.which("node")


def missing(firmware):
    """Why the emulator cannot run here, or None."""
    if not firmware:
        return "no Pico W image given"
    if not os.path.exists(firmware):
        return "no Pico W image at %s (make firmware BOARD=picow)" % firmware
    if not node():
        return "no node (apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(EMULATOR, "node_modules", "rp2040js")):
        return "rp2040js not installed (make emulator)"
    if not os.path.exists(BOOTROM):
        return "no RP2040 bootrom at %s" % BOOTROM
    return None


class Pico:
    """One emulated Pico W running `firmware` (.uf2) with filesystem image
    `fs` (or a blank flash, which the firmware formats at boot). With `save`,
    the filesystem region is written there when the emulator stops."""

    def __init__(self, firmware, fs=None, save=None):
        why = missing(firmware)
        if why:
            raise EmulatorError(why)
        cmd = [node(), os.path.join(EMULATOR, "pico.mjs"), "--bootrom", BOOTROM, "--firmware", firmware]
        if fs:
            cmd += ["--fs", fs, "--fs-offset", str(FS_OFFSET)]
            if save:
                cmd += ["--save", save]
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.pending = b""  # read, not yet consumed
        self.started = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, marker, timeout):
        """Everything up to and including `marker`; EmulatorError after
        `timeout` seconds or when the emulator exits."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EmulatorError("no %r within %ss; got %r" % (marker, timeout, self.pending[-500:]))
            if select.select([fd], [], [], min(left, 1.0))[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise EmulatorError("emulator exited: %s; got %r" % (self.notices(), self.pending[-500:]))
                self.pending += chunk
        i = self.pending.index(marker) + len(marker)
        out, self.pending = self.pending[:i], self.pending[i:]
        return out

    def raw_repl(self, timeout=120):
        """Stop whatever runs (main.py, say) and enter the raw REPL."""
        self.write(b"\r\x03\x03")
        time.sleep(0.2)
        self.pending = b""
        self.write(b"\x01")
        self.read_until(RAW_PROMPT, timeout)

    def soft_reset(self, timeout=120):
        """A fresh interpreter (new heap, no imported modules), in the raw REPL;
        boot.py and main.py run first if the filesystem has them."""
        self.write(b"\x04")
        self.read_until(b"soft reboot\r\n", timeout)
        self.read_until(RAW_PROMPT, timeout)

    def exec(self, code, timeout=120):
        """Run code in the raw REPL: (stdout, the traceback or '')."""
        self.write(code.encode() if isinstance(code, str) else code)
        self.write(b"\x04")
        self.read_until(b"OK", 10 + len(code) / 500)
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", 10)[:-1]
        self.read_until(b">", 10)
        return out.decode(errors="replace"), err.decode(errors="replace")

    def eval_ok(self, code, timeout=120):
        """exec() that raises EmulatorError on a traceback; returns stdout."""
        out, err = self.exec(code, timeout)
        if err:
            raise EmulatorError(out + err)
        return out

    def notices(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()

    def close(self, timeout=30):
        """Stop node (closing its stdin saves the filesystem); the emulator's
        closing notice."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.notices()

