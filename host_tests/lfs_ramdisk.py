"""A RAM flash for littlefs v2 on the MicroPython unix port: counts wear, cuts power.

MicroPython only (`vfs.VfsLfs2`). It speaks the extended block-device
protocol littlefs uses on ESP32 and RP2040: ioctl 6 erases one block,
writeblocks(block, buf, offset) programs part of one. Programs behave like
NOR flash (they can only clear bits), so littlefs programming a block it did
not erase first would show up as corruption.

Power loss: `cut_at = n` makes the n-th write (program or erase) fail, and
littlefs raise OSError(EIO); with `torn` set, half of that operation lands
first. After the cut the device stays dead, so nothing of the
abandoned mount (a file finaliser, say) can land later; `power_up()` gives
the surviving bytes on a new device.
"""
import vfs

ERASE = 6
EIO = -5


class RAMFlash:
    def __init__(self, blocks=64, block_size=4096, image=None):
        self.block_size = block_size
        self.blocks = len(image) // block_size if image else blocks
        self.data = bytearray(image) if image else bytearray(b"\xff" * (blocks * block_size))
        self.view = memoryview(self.data)
        self.erased = b"\xff" * block_size
        self.cut_at = 0
        self.torn = False
        self.dead = False
        self.cut_kind = None
        self.reset_counters()

    def reset_counters(self):
        self.erases = 0
        self.programs = 0
        self.programmed = 0
        self.writes = 0  # programs + erases: the power-cut clock

    def image(self):
        return bytes(self.data)

    def power_up(self):
        return RAMFlash(block_size=self.block_size, image=self.data)

    def _cut(self, kind):
        """Count one write; True when power fails during it."""
        self.writes += 1
        if self.writes != self.cut_at:
            return False
        self.dead = True
        self.cut_kind = kind
        return True

    # Errors are returned, not raised: littlefs takes -5 as EIO and stops,
    # and the abandoned mount's file finalisers run inside the GC, where
    # nothing may allocate.

    def readblocks(self, block, buf, offset=0):
        if self.dead:
            return EIO
        start = block * self.block_size + offset
        buf[:] = self.view[start:start + len(buf)]

    def writeblocks(self, block, buf, offset=0):
        if self.dead:
            return EIO
        start = block * self.block_size + offset
        n = len(buf)
        cut = self._cut("program")
        if cut:
            n = n // 2 if self.torn else 0
        data = self.data
        if data[start:start + n] == self.erased[:n]:
            data[start:start + n] = buf[:n]
        else:  # NOR flash: a program only clears bits
            for i in range(n):
                data[start + i] &= buf[i]
        if cut:
            return EIO
        self.programs += 1
        self.programmed += n

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == ERASE:
            if self.dead:
                return EIO
            cut = self._cut("erase")
            start = arg * self.block_size
            n = self.block_size // 2 if cut and self.torn else (0 if cut else self.block_size)
            self.data[start:start + n] = self.erased[:n]
            if cut:
                return EIO
            self.erases += 1
        return 0


def mkfs(flash, progsize=32):
    """Format as the ports do: ESP32 uses littlefs defaults (progsize 32),
    RP2040 progsize 256."""
    vfs.VfsLfs2.mkfs(flash, progsize=progsize)


def mount(flash, path="/ramflash", progsize=32):
    """Mount points have unusual names: a mount hides whatever the host had
    at that path (CI's checkout lives under /check)."""
    vfs.mount(vfs.VfsLfs2(flash, progsize=progsize), path)
    return path


def umount(path="/ramflash"):
    vfs.umount(path)


def power_cuts(image, prepare, act, progsize=32, torn=False, mountpoint="/ramcut"):
    """Cut power at every write of act(prepare(mountpoint)) in turn, each time
    on a fresh copy of `image`: the 1st write, the 2nd, ... until act
    completes. Yields (kind of the interrupted write or None when act
    completed, the flash as the next power-up finds it, unmounted)."""
    n = 0
    while True:
        n += 1
        flash = RAMFlash(image=image)
        mount(flash, mountpoint, progsize)
        subject = prepare(mountpoint)
        flash.reset_counters()
        flash.cut_at = n
        flash.torn = torn
        try:
            act(subject)
        except OSError:  # littlefs reports the cut as EIO
            if not flash.dead:
                raise
        umount(mountpoint)
        yield flash.cut_kind, flash.power_up()
        if flash.cut_kind is None:
            return
