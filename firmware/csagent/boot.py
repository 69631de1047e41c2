"""Registration with the CSMS: BootNotification B01-B04 and the heartbeat.

Status stays Accepted across reconnects, so a mere reconnect does not boot
again (B04). While Pending the CSMS may provision us: we answer it and send
nothing of our own but the next BootNotification (B02). While Rejected we
send nothing until the interval expires (B03) and CSMS requests get
SecurityError.
"""
import asyncio

from . import backoff, clock
from .compat import heap
from .log import log
from .rpc import CallFailed

COMM = "OCPPCommCtrlr"
REASON_KEY = "_boot/reason"


class Registration:
    def __init__(self, agent):
        self.agent = agent
        self.status = None  # None, "Pending", "Rejected" or "Accepted"
        self.reason = agent.store.get(REASON_KEY) or agent.board.boot_reason()
        self.changed = asyncio.Event()  # set when HeartbeatInterval changes

    def gate(self, action):
        """CALLERROR for a CSMS request the registration state forbids."""
        if self.status == "Rejected":
            return ("SecurityError", "station is not accepted by the CSMS (B03)")
        return None

    def request(self):
        m, board = self.agent.model, self.agent.board
        station = {"model": m.value("ChargingStation", "Model") or "unknown",
                   "vendorName": m.value("ChargingStation", "VendorName") or "unknown"}
        serial = m.value("ChargingStation", "SerialNumber")
        if serial:
            station["serialNumber"] = serial
        firmware = m.value("ChargingStation", "FirmwareVersion")
        if firmware:
            station["firmwareVersion"] = firmware
        modem = board.modem_info()
        if modem:
            station["modem"] = modem
        return {"reason": self.reason, "chargingStation": station}

    async def register(self):
        """Boot until Accepted on this connection (B01-B03)."""
        attempt = 0
        while self.status != "Accepted":
            agent = self.agent
            try:
                answer = await agent.call("BootNotification", self.request())
            except CallFailed as e:
                log("boot", "no answer:", e.args[0] if e.args else "")
                await asyncio.sleep(backoff.delay(agent.model, attempt))
                attempt += 1
                continue
            self.status = answer["status"]
            interval = answer["interval"]
            log("boot", self.status, "interval", interval)
            if self.status == "Accepted":
                self._accepted(answer)
                return
            # B02.FR.01/B03.FR.02: not before the interval; 0 means our own wait.
            await asyncio.sleep(interval if interval > 0 else backoff.delay(agent.model, attempt))
            attempt += 1

    def _accepted(self, answer):
        agent = self.agent
        self.set_clock(answer)
        if answer["interval"] > 0:  # B01.FR.?: adopt the CSMS's heartbeat interval
            agent.model.set_value(COMM, "HeartbeatInterval", str(answer["interval"]))
        if agent.store.get(REASON_KEY) is not None:
            agent.store.commit({REASON_KEY: None})

    def set_clock(self, answer):
        try:
            self.agent.board.set_time(clock.parse(answer["currentTime"]))
        except ValueError:
            log("clock", "bad currentTime from CSMS")

    async def heartbeat(self):
        """Heartbeat every HeartbeatInterval, read live (a change wakes us)."""
        model = self.agent.model
        while True:
            interval = model.int_value(COMM, "HeartbeatInterval", 300)
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), interval if interval > 0 else 86400)
                continue  # interval changed: start the new period now
            except asyncio.TimeoutError:
                pass
            if interval > 0:
                try:
                    self.set_clock(await self.agent.call("Heartbeat", {}))
                except CallFailed:
                    pass
                used = heap()
                if used:
                    log("heap", "used", used[0], "free", used[1], "peak", used[2])
