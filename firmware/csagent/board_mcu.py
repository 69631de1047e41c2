"""Hardware-free helpers of the microcontroller boards (boards/common):
the RTC's date tuple, the serial number, the boot reason, the wait for a
network link to settle. Kept out of board_base so the host does not load them.
"""
import asyncio
import binascii
import time

from .board_base import EPOCH
from .compat import ticks_diff, ticks_ms


def rtc_datetime(seconds):
    """Unix seconds -> the tuple machine.RTC().datetime() takes: (year,
    month, day, weekday with Monday 0, hours, minutes, seconds, subseconds)."""
    t = time.gmtime(seconds - EPOCH)
    return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)


def serial_number(unique_id):
    """machine.unique_id() bytes as the serial number: upper-case hex."""
    return binascii.hexlify(unique_id).decode().upper()


def boot_reason(cause, reasons):
    """The BootReasonEnum value for a machine.reset_cause() value."""
    return reasons.get(cause, "Unknown")


async def settle(up, timeout_ms, stable_ms, poll_ms=100, failed=None):
    """Return once up() has held for stable_ms without a break: a link that
    drops again while the access point or the modem negotiates is not up.
    OSError when that does not happen within timeout_ms, or at once when
    failed() names a reason."""
    start = ticks_ms()
    since = None
    while True:
        now = ticks_ms()
        if up():
            if since is None:
                since = now
            if ticks_diff(now, since) >= stable_ms:
                return
        else:
            since = None
            reason = failed() if failed else None
            if reason:
                raise OSError(reason)
        if ticks_diff(now, start) >= timeout_ms:
            raise OSError("link not up within %d ms" % timeout_ms)
        await asyncio.sleep(poll_ms / 1000)
