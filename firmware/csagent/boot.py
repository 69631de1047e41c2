"""Registration with the CSMS: BootNotification B01-B03 and the heartbeat.

Status stays Accepted across reconnects, so a mere reconnect does not boot
again (B04). While Pending the CSMS may provision us: we answer it and send
nothing of our own but the next BootNotification (B02). While Rejected we
send nothing until the interval expires, on this connection or the next
(B03), and CSMS requests get SecurityError. Intervals the CSMS gives are
clamped to HeartbeatInterval's limits, never refused. A TriggerMessage for
BootNotification while not Accepted sends it at once, reason Triggered
(F06.FR.17).
"""
import asyncio

from . import backoff, clock
from .compat import borrow, const, heap, wait_event
from .log import log
from .rpc import CallFailed

_COMM = const("OCPPCommCtrlr")
_HEARTBEAT_INTERVAL = const("HeartbeatInterval")
_SERIAL_NUMBER = const("SerialNumber")
_STATION = const("ChargingStation")

REASON_KEY = "_boot/reason"
_JUMP = const(60)  # seconds the CSMS may move our clock before that is a security event


class Registration:
    def __init__(self, model, store, board, call, events):
        """call(action, payload) sends a CALL and returns its answer; events
        is the SecurityEvents queue."""
        self.model = model
        self.store = store
        self.board = board
        self.call = call
        self.events = events
        self.wake = asyncio.Event()  # a triggered BootNotification goes now
        self.status = None  # None, "Pending", "Rejected" or "Accepted"
        self.not_before = None  # board.time() before which no BootNotification may go (B02, B03)
        self.reason = store.get(REASON_KEY) or board.boot_reason()
        self.changed = asyncio.Event()  # set when HeartbeatInterval changes
        version = getattr(board, "firmware_version", None)  # an agent a firmware update installed
        if version:  # (firmware_slots): it reports the version of its bundle
            model.provide(_STATION, "FirmwareVersion", lambda: version)

    def gate(self, action):
        """CALLERROR for a CSMS request the registration state forbids."""
        if self.status == "Rejected":
            return ("SecurityError", "station is not accepted by the CSMS (B03)")
        return None

    def request(self):
        m = self.model
        station = {"model": m.value(_STATION, "Model") or "unknown",
                   "vendorName": m.value(_STATION, "VendorName") or "unknown"}
        serial = m.value(_STATION, _SERIAL_NUMBER)
        if serial:
            station["serialNumber"] = serial
        firmware = m.value(_STATION, "FirmwareVersion")
        if firmware:
            station["firmwareVersion"] = firmware
        modem = self.board.modem_info()
        if modem:
            station["modem"] = modem
        return {"reason": self.reason, "chargingStation": station}

    async def register(self):
        """Boot until Accepted on this connection (B01-B03)."""
        failures = 0
        while self.status != "Accepted":
            if self.not_before is not None:
                await wait_event(self.wake, self.not_before - self.board.time())
                self.wake.clear()
            try:
                answer = await self.call("BootNotification", self.request())
            except CallFailed as e:
                log("boot", "no answer:", e.args[0] if e.args else "")
                self.not_before = self.board.time() + backoff.delay(self.model, failures)
                failures += 1
                continue
            status, interval = answer["status"], answer["interval"]
            log("boot", status, "interval", interval)
            if status == "Accepted":
                self._accepted(answer)  # should it fail, we are not Accepted: boot again
                self.not_before = None
            else:  # B02.FR.01, B03.FR.02: not before the interval; 0 means our own wait
                self.not_before = self.board.time() + (interval or backoff.delay(self.model, failures))
                failures += 1
            self.status = status
        if getattr(self.board, "update_pending", False):  # L01: an update to finish and tell
            await borrow("csagent.firmware_update", "after_boot", self.board, self.call, self.events)

    def _accepted(self, answer):
        self.set_clock(answer)
        if answer["interval"] > 0:  # B01: adopt the CSMS's heartbeat interval
            self.model.set_value(_COMM, _HEARTBEAT_INTERVAL, str(self._clamped(answer["interval"])))
        if self.store.get(REASON_KEY) is not None:
            self.store.commit({REASON_KEY: None})

    def _clamped(self, interval):
        """The interval within HeartbeatInterval's limits: a week or 2^31 - 1
        is a valid answer, and must not cost the registration."""
        limits = self.model.characteristics(_COMM, _HEARTBEAT_INTERVAL) or {}
        low, high = limits.get("minLimit"), limits.get("maxLimit")
        n = max(interval, low) if low is not None else interval
        n = min(n, high) if high is not None else n
        if n != interval:
            log("clamped", _HEARTBEAT_INTERVAL, interval, "to", n)
        return n

    def set_clock(self, answer):
        try:
            now = clock.parse(answer["currentTime"])
        except ValueError:
            return log("clock", "bad currentTime from CSMS")
        was = self.board.time()
        self.board.set_time(now)
        if abs(now - was) > _JUMP:
            self.events.record("SettingSystemTime", "moved by %d s by the CSMS" % (now - was))

    async def beat(self):
        """One Heartbeat; its answer sets the clock."""
        try:
            self.set_clock(await self.call("Heartbeat", {}))
        except CallFailed:
            pass

    async def heartbeat(self):
        """Heartbeat every HeartbeatInterval, read live (a change wakes us)."""
        while True:
            interval = self.model.int_value(_COMM, _HEARTBEAT_INTERVAL, 300)
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), interval if interval > 0 else 86400)
                continue  # interval changed: start the new period now
            except asyncio.TimeoutError:
                pass
            if interval > 0:
                await self.beat()
                used = heap()
                if used:
                    log("heap", "used", used[0], "free", used[1], "peak", used[2])
