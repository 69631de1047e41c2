"""The Pico W firmware on an emulated RP2040 (rp2040js, tools/emulator/pico.mjs),
driven from the tests over its USB serial with MicroPython's raw REPL.

Its filesystem is a littlefs image that the MicroPython unix port formats
and fills as the rp2 port would (tools/picow.py), placed where RPI_PICO_W
keeps it; the emulator host makes flash erase and program work and can
write the region back, so the host reads what the board wrote. With a
uart0 port, UART0 is wired to a modem listening there (tools/cellmodem.py).
Every wait is bounded; close() always stops node.
"""
import os
import select
import shutil
import subprocess
import tempfile
import time

import picow  # tools/picow.py: the image's flash layout and filesystem

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
FS_OFFSET, FS_BLOCKS, BOOTROM, EMULATOR = picow.FS_OFFSET, picow.FS_BLOCKS, picow.BOOTROM, picow.EMULATOR
list_fs_image = picow.list_fs_image


class EmulatorError(Exception):
    pass


def make_fs_image(tree, out):
    """A littlefs image of directory `tree` for the Pico W's filesystem."""
    if os.path.exists(out):
        os.remove(out)
    return picow.fill_fs_image(tree, out)


def node():
    return shutil.which("node")


def missing(firmware):
    """Why the emulator cannot run here, or None."""
    if not firmware:
        return "no Pico W image given"
    return picow.missing(firmware)


class Pico:
    """One emulated Pico W running `firmware` (.uf2) with filesystem image
    `fs` (or a blank flash, which the firmware formats at boot). With `save`,
    the filesystem region is written there when the emulator stops."""

    def __init__(self, firmware, fs=None, save=None, uart0=None):
        why = missing(firmware)
        if why:
            raise EmulatorError(why)
        cmd = [node(), os.path.join(EMULATOR, "pico.mjs"), "--bootrom", BOOTROM, "--firmware", firmware]
        if uart0:
            cmd += ["--uart0", str(uart0)]
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

