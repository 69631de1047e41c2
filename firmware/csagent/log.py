"""One line per event on stderr: what happened, never a payload.

Payloads are not logged at all, so a secret (BasicAuthPassword, apnPassword,
a VPN key) can never reach a log line through here.
"""
import sys

from .compat import ticks_diff, ticks_ms

_start = [ticks_ms(), 0]  # ticks at the last line, milliseconds since start then


def log(event, *fields):
    """Write `<seconds since start> <event> <fields...>`. The milliseconds
    are summed line by line in an int, because ticks_ms() wraps (after 6
    days ticks_diff() is wrong) and a 32-bit float has no millisecond left
    after 4.6 hours."""
    now = ticks_ms()
    ms = _start[1] + ticks_diff(now, _start[0])
    _start[0] = now
    _start[1] = ms
    sys.stderr.write("%d.%03d %s %s\n" % (ms // 1000, ms % 1000, event, " ".join([str(f) for f in fields])))
