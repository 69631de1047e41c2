"""The few places where MicroPython and CPython differ, closed once.

Feature detection only, never version checks.
"""
import time

try:
    from micropython import const  # noqa: F401
except ImportError:  # pragma: no cover - CPython
    def const(x):
        return x

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
except AttributeError:  # pragma: no cover - CPython
    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


def collect():
    """Free garbage now on MicroPython; a no-op cost on CPython."""
    import gc
    gc.collect()
