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
# the names it adds to MicroPython's string table stay, and placed now they
# do not split the free heap later, when the module comes back.
ON_DEMAND = ("csagent.reports", "csagent.netprofile_set", "csagent.reset")


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
                wait = backoff.delay(self.model, attempt)
                log("connect-failed", _reason(e), "retry in", wait)
                attempt += 1
                await asyncio.sleep(wait)
                continue
            attempt = 0
            await self.session()

    async def session(self):
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

    async def online(self):
        if self.reports:
            self.reports.online()  # a report the lost link broke off starts over
        fresh = self.registration.status != "Accepted"
        await self.registration.register()
        if fresh:
            await self.notify_connectors()
        await self.registration.heartbeat()

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
