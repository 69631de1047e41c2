"""The station: store, device model, RPC and the connection loop, wired."""
import asyncio
import json

from . import backoff, clock, netprofiles, variables
from .boot import Registration
from .compat import collect, unload
from .connection import Connection
from .log import log
from .model import DeviceModel
from .rpc import Rpc
from .store import Store
from .validate import check
from .ws import ConnectionClosed

COMM = "OCPPCommCtrlr"
SEC = "SecurityCtrlr"
# Code loaded only while used. Each is imported once at start-up and dropped:
# the names it adds to MicroPython's string table stay. That table grows by
# doubling one pool (640 names take 7 KB in one piece on the unix port): it
# must grow now, while the heap is still whole, not at a later connect or
# report, when no such piece may be free (measured: connects then fail).
ON_DEMAND = ("csagent.reports", "csagent.netprofile_set", "csagent.reset", "csagent.ws_handshake",
             "csagent.tls")


class Agent:
    def __init__(self, board):
        for name in ON_DEMAND:  # before anything else: see ON_DEMAND
            __import__(name)
            unload(name)
            collect()
        self.board = board
        self.store = Store(board.flash + "/store")
        self.model = DeviceModel(board.defaults, self.store)
        settings = board.read_install()
        if settings:
            self.install(settings)
            board.install_done()
        self.registration = Registration(self)
        self.link = Connection(self)
        self.reports = None  # the report under way: its code is loaded only then
        self.failure = None  # what broke the current session on our side
        self.rpc = Rpc(self.handlers(), check, self.registration.gate)
        self.ws = None
        self.model.watch(self.changed)
        self.model.provide("ClockCtrlr", "DateTime", lambda: clock.iso(board.time()))
        if board.serial():  # boards with a chip id (machine.unique_id) report it
            self.model.provide("ChargingStation", "SerialNumber", board.serial)
        self.model.add_check(COMM, "NetworkConfigurationPriority", self.priority_check)

    def handlers(self):
        m = self.model
        return {
            "GetVariables": lambda p, size: variables.get_variables(m, p, size),
            "SetVariables": lambda p, size: variables.set_variables(m, p, size),
            "SetNetworkProfile": self.on_demand("netprofile_set"),
            "Reset": self.on_demand("reset"),
            "GetBaseReport": lambda p, size: self.report("get_base_report", p, size),
            "GetReport": lambda p, size: self.report("get_report", p, size),
        }

    def on_demand(self, module):
        """A handler for a rare request whose code is loaded when the request
        comes and dropped once answered (a task it started keeps what it
        needs alive): the heap holds it only while it is used."""
        name = "csagent." + module

        def handle(payload, size):
            try:
                return __import__(name, None, None, ("handle",)).handle(self, payload, size)
            finally:
                unload(name)
        return handle

    def report(self, method, payload, size):
        """GetBaseReport/GetReport (B07/B08): the reports code is loaded for
        the request and dropped when the report has ended."""
        if self.reports is None:
            from .reports import Reports
            self.reports = Reports(self.model, self.call, self.board.time, self.report_done)
        try:
            return getattr(self.reports, method)(payload, size)
        finally:
            if not self.reports.busy():
                self.report_done()

    def report_done(self):
        self.reports = None
        unload("csagent.reports")

    def install(self, settings):
        """First start: what the technician entered (id, password, CSMS URL)."""
        self.model.apply_install(settings)
        if settings.get("csms_url"):
            slot = (netprofiles.priority(self.model) or [0])[0]
            profile = netprofiles.install_profile(settings)
            self.store.commit({netprofiles.PREFIX + str(slot): json.dumps(profile)})
            self.model.set_value(SEC, "SecurityProfile", str(profile["securityProfile"]))
        log("installed", "identity", settings.get("identity"))

    def priority_check(self, value):
        """B10.FR.02: every slot of a new priority must hold a profile."""
        for slot in value.split(","):
            if netprofiles.load(self.store, int(slot)) is None:
                return "NoProfileInSlot"
        return None

    def changed(self, component, variable):
        """Live behaviour follows SetVariables without a restart."""
        if variable == "HeartbeatInterval":
            self.registration.changed.set()
        elif variable == "WebSocketPingInterval" and self.ws:
            self.ws.ping_interval = self.model.int_value(COMM, "WebSocketPingInterval", 0)
        elif variable == "BasicAuthPassword" and self.ws:
            # Reconnect with the new password once this answer is out (A01).
            self.link.password_changed()
            asyncio.create_task(self.ws.close(1000, "new password"))

    async def call(self, action, payload):
        timeout = self.model.int_value(COMM, "MessageTimeout", 30, var_instance="Default")
        return await self.rpc.call(action, payload, timeout)

    async def watchdog(self):
        """Feed the board's watchdog while the event loop runs: a stuck loop
        stops feeding and the board resets (RP2040's limit is 8.3 s)."""
        while True:
            self.board.feed()
            await asyncio.sleep(1)

    async def run(self):
        """Connect, register, stay online; reconnect with backoff (B04)."""
        asyncio.create_task(self.watchdog())
        attempt = 0
        while True:
            try:
                self.ws = await self.link.open()
            except Exception as e:  # any failure to connect: wait and retry
                await self.retry_later("connect-failed", e, attempt)
                attempt += 1
                continue
            failure = await self.session()
            if failure:  # failed while online: back off as after a failed connect
                await self.retry_later("online-failed", failure, attempt)
                attempt += 1
            else:
                attempt = 0

    async def retry_later(self, event, error, attempt):
        wait = backoff.delay(self.model, attempt)
        log(event, _reason(error), "retry in", wait)
        await asyncio.sleep(wait)

    async def session(self):
        """One connection, until it closes; returns the failure that closed
        it from our side (see online), else None."""
        self.failure = None
        self.rpc.attach(self.ws)
        work = asyncio.create_task(self.online())
        try:
            await self.rpc.serve()
        except ConnectionClosed as e:
            log("disconnected", e.code, e.reason)
        finally:
            work.cancel()
            self.rpc.attach(None)
            self.ws = None
            if self.reports:
                self.reports.offline()
        return self.failure

    async def online(self):
        """Register and keep the heartbeat. Should this fail (a MemoryError in
        a fragmented heap, a flash that refuses a write), the link is closed
        and made again later: a connection on which nothing registers or
        heartbeats would leave the station silent."""
        ws = self.ws
        registered = False
        try:
            if self.reports:
                self.reports.online()  # a report the lost link broke off starts over
            fresh = self.registration.status != "Accepted"
            await self.registration.register()
            if fresh:
                await self.notify_connectors()
            registered = True
            await self.registration.heartbeat()
        except ConnectionClosed:
            pass  # the session has seen it too, and ends
        except Exception as e:
            self.failure = e
            if not registered:  # not all of it done: boot again on the next link
                self.registration.status = None
            await ws.close(1011, "internal error")

    async def notify_connectors(self):
        """B01: after Accepted, the state of every connector."""
        now = clock.iso(self.board.time())
        for evse, connector in self.board.connectors:
            await self.call("StatusNotification", {
                "timestamp": now, "connectorStatus": "Available", "evseId": evse, "connectorId": connector})


def _reason(e):
    return (type(e).__name__ + " " + " ".join(str(a) for a in e.args))[:120]


def run(board):
    """Board entry: run until the process is stopped or the board resets."""
    try:
        asyncio.run(Agent(board).run())
    except KeyboardInterrupt:
        log("stopped")
