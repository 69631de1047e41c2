"""One line per event on stderr: what happened, never a payload.

Payloads are not logged at all, so a secret (BasicAuthPassword, apnPassword,
a VPN key) can never reach a log line through here.
"""
import sys

from .compat import ticks_diff, ticks_ms

# Milliseconds since start, summed from tick differences: a board's ticks
# wrap (every ~12 days on MicroPython), a sum of differences does not, as
# long as a line is logged at least every few days (heartbeats are).
_clock = [ticks_ms(), 0]  # ticks at the last line, ms up to it
_write = [sys.stderr.write]


def redirect(write):
    """Send the lines to write(text) instead of stderr (a test, a fleet of
    stations in one process)."""
    _write[0] = write


def log(event, *fields):
    """Write `<seconds since start> <event> <fields...>`."""
    now = ticks_ms()
    _clock[1] += ticks_diff(now, _clock[0])
    _clock[0] = now
    ms = _clock[1]  # integer arithmetic: a board's single-precision float would round it
    _write[0]("%d.%03d %s %s\n" % (ms // 1000, ms % 1000, event, " ".join([str(f) for f in fields])))


def reason(e):
    """An exception in one short line, for a log field."""
    return (type(e).__name__ + " " + " ".join(str(a) for a in e.args))[:120]
