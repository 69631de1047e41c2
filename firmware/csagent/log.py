"""One line per event on stderr: what happened, never a payload.

Payloads are not logged at all, so a secret (BasicAuthPassword, apnPassword,
a VPN key) can never reach a log line through here.
"""
import sys

from .compat import ticks_ms

_start = ticks_ms()


def log(event, *fields):
    """Write `<seconds since start> <event> <fields...>`."""
    t = (ticks_ms() - _start) / 1000
    sys.stderr.write("%.3f %s %s\n" % (t, event, " ".join(str(f) for f in fields)))
