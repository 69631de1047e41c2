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


_high = [0]  # the most heap in use seen after a collection
try:
    from gc import mem_alloc  # noqa: F401
    BOARD_HEAP = True  # MicroPython: one small heap that must stay whole
except ImportError:  # pragma: no cover - CPython
    BOARD_HEAP = False  # a collection or a re-import per message only costs (a fleet pays it per station)


def collect():
    """Free garbage now on MicroPython (nothing on CPython), and note
    the heap still in use: its highest value is the agent's high-water mark.
    From then on MicroPython collects by itself once a quarter of the heap
    now free has been allocated (gc.threshold), rather than the agent after
    every message: a collection costs about as much as answering a small
    request, and more on a board's larger heap. An allocation the free heap
    cannot serve still collects first, as always."""
    if not BOARD_HEAP:
        return
    import gc
    gc.collect()
    _high[0] = max(_high[0], gc.mem_alloc())
    if hasattr(gc, "threshold"):
        gc.threshold(max(4096, gc.mem_free() // 4))


def heap():
    """(bytes in use, bytes free, high-water mark) of the heap after a
    collection, or None where the runtime does not tell (CPython)."""
    if not BOARD_HEAP:  # pragma: no cover - CPython
        return None
    import gc
    collect()
    return gc.mem_alloc(), gc.mem_free(), _high[0]


def borrow(name, function, *args):
    """The one way to run code kept in flash and loaded for a moment (the
    store's base log, loading the device model, a rare request): call
    `function` of module `name` with plain state, and drop the module
    (unload) once it returned, with every module of the agent it loaded
    meanwhile (x509 for a certificate, ...). The module takes what it works
    on as arguments and gives back what it made; it writes no other
    object's private fields, and imports nothing that imports it back."""
    import sys
    before = set(sys.modules) if BOARD_HEAP else None  # CPython keeps its modules
    module = __import__(name, None, None, (function,))
    try:
        return getattr(module, function)(*args)
    finally:
        if before is not None:
            unload(name, *[m for m in sys.modules if m not in before and m.startswith("csagent.")])


def unload(*names):
    """Forget modules used only now and then (the handshake, a report), so
    the heap their code takes is free between uses; the next import loads
    them again from flash. CPython keeps them."""
    if not BOARD_HEAP:
        return
    import sys
    for name in names:
        sys.modules.pop(name, None)
        package, _, attr = name.rpartition(".")
        parent = sys.modules.get(package)
        if parent is not None and attr in dir(parent):
            delattr(parent, attr)


_SLICE = const(86400)  # seconds: well inside the range of a board's ticks


async def wait_event(event, seconds):
    """Wait until `event` is set or `seconds` have passed, for any number of
    seconds: a board's asyncio counts in ticks, which overflow past about
    six days (a CSMS may ask 2^31 - 1). True when the event was set."""
    import asyncio  # here: modules that need only const() (validate) need no asyncio
    while seconds > 0:
        step = min(seconds, _SLICE)
        try:
            await asyncio.wait_for(event.wait(), step)
            return True
        except asyncio.TimeoutError:
            seconds -= step
    return event.is_set()


async def sleep(seconds):
    """asyncio.sleep for any number of seconds (see wait_event)."""
    import asyncio
    await wait_event(asyncio.Event(), seconds)
