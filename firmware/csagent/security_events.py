"""Security events (A04): SecurityEventNotification, queued in the store.

An event waits in the store until the CSMS has acknowledged it, so it
survives an offline period and a reboot (A04.FR.02); the queue is bounded
(the oldest gives way). Events go out only once the station is Accepted, in
the order they happened. A failure that repeats at every connection
attempt (a refused password, a bad CSMS certificate) is queued once while
an event of its type still waits, not once per attempt.
"""
import asyncio
import json

from .clock import iso
from .compat import const
from .log import log
from .rpc import CallFailed

_PREFIX = const("_sec/")
_MOST = const(10)  # events kept; each holds a few hundred bytes of the store's RAM


class SecurityEvents:
    def __init__(self, store, call, now):
        """call(action, payload) sends a CALL; now() gives Unix seconds."""
        self.store = store
        self.call = call
        self.now = now
        self.added = asyncio.Event()
        numbers = [int(k[len(_PREFIX):]) for k, _ in store.items() if k.startswith(_PREFIX)]
        self.first = min(numbers) if numbers else 0  # number of the oldest event waiting
        self.next = max(numbers) + 1 if numbers else 0

    def record(self, kind, info=None, repeats=False):
        """Queue event `kind` (SecurityEventEnumType text), with techInfo
        `info`; repeats: skip it while one of its type still waits."""
        if repeats:  # the events not yet acknowledged
            for n in range(self.first, self.next):
                if json.loads(self.store.get(_PREFIX + str(n)))["type"] == kind:
                    return
        event = {"type": kind, "timestamp": iso(self.now())}
        if info:
            event["techInfo"] = info[:255]
        changes = {_PREFIX + str(self.next): json.dumps(event)}
        if self.next - self.first >= _MOST:  # full: the oldest gives way
            changes[_PREFIX + str(self.first)] = None
            self.first += 1
        try:
            self.store.commit(changes)
        except OSError as e:  # a full flash must not stop what reported the event
            log("security-event", kind, "not stored", e.args[0] if e.args else "")
            return
        self.next += 1
        log("security-event", kind)
        self.added.set()

    async def deliver(self):
        """A connection's task from Accepted on: send what waits, then what
        comes. An event stays queued until the CSMS answered it."""
        while True:
            self.added.clear()
            while self.first < self.next:
                key = _PREFIX + str(self.first)
                try:
                    await self.call("SecurityEventNotification", json.loads(self.store.get(key)))
                except CallFailed as e:  # tried again at the next event or connection
                    log("security-event", "not delivered:", e.args[0] if e.args else "")
                    break
                self.store.commit({key: None})
                self.first += 1
            await self.added.wait()
