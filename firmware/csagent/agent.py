"""The station: store, device model, RPC and the connection loop, wired.

Lifetimes: the agent's own tasks (watchdog, a scheduled reset) last as long
as it runs; everything a connection starts (registration, heartbeat,
connector status, a report, the work a handler starts after its answer)
belongs to that connection's Tasks and is cancelled when it ends.

Reconnecting (B04, OCPP-J Part 4 §5.3 as amended, TC_B_57): after power-up
the first attempt goes at once; after that, every attempt waits
(backoff.Reconnects): RetryBackOffWaitMinimum plus a random spread,
doubled for each attempt that failed to establish a WebSocket, and from the
minimum again once one was established. So a CSMS that accepts the upgrade
and hangs up at once sees one attempt per RetryBackOffWaitMinimum at most,
the OCPP-J floor, never a storm.
"""
import asyncio

from . import backoff, clock, variables  # noqa: F401  (variables: ACTIONS, resident)
from .boot import Registration
from .compat import borrow, collect, const, sleep, unload
from .offline import Connectors
from .log import log, reason
from .model import DeviceModel
from .rpc import Rpc
from .security_events import SecurityEvents
from .store import Store
from .tasks import Tasks
from .validate import check
from .ws import ConnectionClosed

_AVAILABILITY_STATE = const("AvailabilityState")
_BASIC_AUTH_PASSWORD = const("BasicAuthPassword")
_CLOCK = const("ClockCtrlr")
_COMM = const("OCPPCommCtrlr")
_CONNECTOR = const("Connector")
_HEARTBEAT_INTERVAL = const("HeartbeatInterval")
_MESSAGE_TIMEOUT = const("MessageTimeout")
_PING_INTERVAL = const("WebSocketPingInterval")
_PRIORITY = const("NetworkConfigurationPriority")
_SEC = const("SecurityCtrlr")
_SECURITY_PROFILE = const("SecurityProfile")
_SERIAL_NUMBER = const("SerialNumber")
_STATION = const("ChargingStation")

# code of a connection attempt
_LINK = const(("csagent.connection", "csagent.migration", "csagent.netprofiles", "csagent.security_profile",
               "csagent.ws_handshake"))
# Code loaded only while used. Each is imported once at start-up and dropped:
# the names it adds to MicroPython's string table stay. That table grows by
# doubling one pool (640 names take 7 KB in one piece on the unix port): it
# must grow now, while the heap is still whole, not at a later connect or
# report, when no such piece may be free (measured: connects then fail).
_REPORTS = const("csagent.reports")
_ON_DEMAND = const((_REPORTS, "csagent.netprofile_set", "csagent.reset", "csagent.trigger",
                    "csagent.ws_handshake", "csagent.tls", "csagent.connection", "csagent.netprofiles",
                    "csagent.migration", "csagent.security_profile", "csagent.remote_start",
                    "csagent.certificates", "csagent.cert_store", "csagent.firmware_update", "csagent.firmware_slots"))

# One table from each CSMS request this agent handles to its handler:
#   "<action> <module>.<function> <its parameters, in order>"
# payload and size are the request's; every other name is the Agent attribute
# of that name (model, board, store, registration, connectors, reports, close, tasks).
# A module in _ON_DEMAND is loaded for the request and dropped after it; the
# others are loaded at start-up anyway. An action not here is NotSupported or
# NotImplemented (rpc.py); host_tests/test_action_table.py checks every row
# against the module it names. To add a request: its row here, its module in
# _ON_DEMAND unless it is resident, its schema in tools/gen_schemas.py.
ACTIONS = const((
    "GetVariables variables.get_variables model payload size",  # B06
    "SetVariables variables.set_variables model payload size",  # B05
    "GetBaseReport reports.get_base_report payload reports",  # B07
    "GetReport reports.get_report payload size reports",  # B08
    "SetNetworkProfile netprofile_set.handle payload model board store",  # B09
    "Reset reset.handle payload board store close tasks",  # B11, B12
    "TriggerMessage trigger.handle payload registration connectors",  # F06
    "RequestStartTransaction remote_start.handle payload registration",  # F01, B02
    "UpdateFirmware firmware_update.handle payload board store events call close tasks",  # L01
    "InstallCertificate certificates.install payload model board ws",  # M05
    "GetInstalledCertificateIds certificates.installed payload board",  # M03
    "DeleteCertificate certificates.delete payload model board ws",  # M04
))


class Agent:
    def __init__(self, board):
        for name in _ON_DEMAND:  # before anything else: see _ON_DEMAND
            __import__(name)
            unload(name)
            collect()
        self.board = board
        store = self.store = Store(board.flash + "/store")
        model = self.model = DeviceModel(board.defaults, store)
        settings = board.read_json("install.json")  # what a technician left for the first start
        if settings:
            borrow("csagent.netprofiles", "install", model, store, settings)
            board.install_done()
        self.tasks = Tasks()  # the agent's own, for as long as it runs
        self.work = None  # the Tasks of the connection up now
        self.ws = None
        self.lost = None  # board.time() when the last connection ended
        events = self.events = SecurityEvents(store, self.call, board.time)
        self.registration = Registration(model, store, board, self.call, events)
        from . import migration  # loaded for each attempt (connect), here for the slot order (B10)
        self.slots = migration.cursor(model)
        unload(*_LINK)
        self.connectors = Connectors(board, self.call)
        self._reports = None  # the report under way: its code is loaded only then
        self.rpc = Rpc(self.handler, check, self.registration.gate)
        model.watch(self.changed)
        model.provide(_CLOCK, "DateTime", lambda: clock.iso(board.time()))
        model.provide(_SEC, "CertificateEntries", lambda: str(borrow("csagent.cert_store", "count", board)))
        if board.serial():  # boards with a chip id (machine.unique_id) report it
            model.provide(_STATION, _SERIAL_NUMBER, board.serial)
        for evse, connector in board.connectors:
            if model.value(_CONNECTOR, _AVAILABILITY_STATE, evse=evse, connector=connector) is not None:
                model.provide(_CONNECTOR, _AVAILABILITY_STATE,
                              lambda e=evse, c=connector: board.connector_status(e, c), evse=evse, connector=connector)
        model.add_check(_COMM, _PRIORITY, self.priority_check)
        events.record("StartupOfTheDevice", "boot reason " + self.registration.reason)
        if self.registration.reason not in ("PowerUp", "Unknown"):
            events.record("ResetOrReboot", "boot reason " + self.registration.reason)

    def handler(self, action):
        """The handler of a CSMS request as rpc.Rpc wants it, fn(payload,
        size), or None: the row of ACTIONS for the action, its module
        loaded for the request and, when it is code kept for a moment only
        (_ON_DEMAND), dropped with what it loaded once answered
        (compat.borrow; a task it started keeps what it needs alive). Made
        when the request comes, not kept per action: a
        table of closures held 0.7 KB of heap for the agent's whole run."""
        for row in ACTIONS:
            if row.startswith(action + " "):
                break
        else:
            return None
        _, target, *params = row.split()
        name, function = ("csagent." + target).rsplit(".", 1)

        def handle(payload, size):
            args = [payload if p == "payload" else size if p == "size" else getattr(self, p) for p in params]
            if name in _ON_DEMAND and name != _REPORTS:
                return borrow(name, function, *args)
            try:
                return getattr(__import__(name, None, None, (function,)), function)(*args)
            finally:
                if name == _REPORTS and not self._reports:  # no report under way: its code goes
                    unload(name)
        return handle

    @property
    def reports(self):
        """The report job holder (B07/B08), made when a report is asked for;
        the reports code stays loaded until the report has ended."""
        if self._reports is None:
            from .reports import Reports
            self._reports = Reports(self.model, self.call, self.board.time, self.report_done)
        return self._reports

    def report_done(self):
        self._reports = None
        unload(_REPORTS)

    def priority_check(self, value):
        """A new NetworkConfigurationPriority's check (migration.py, B10.FR.02)."""
        return borrow("csagent.migration", "check_priority", value, self.store, self.board)

    def changed(self, component, variable):
        """Live behaviour follows SetVariables without a restart."""
        if variable == _HEARTBEAT_INTERVAL:
            self.registration.changed.set()
        elif variable == _PING_INTERVAL and self.ws:
            self.ws.ping_interval = self.model.int_value(_COMM, _PING_INTERVAL, 0)
        elif variable == _BASIC_AUTH_PASSWORD:
            self.events.record("ReconfigurationOfSecurityParameters", "BasicAuthPassword changed")
            if self.model.int_value(_SEC, _SECURITY_PROFILE, 1) < 3:
                # A01: reconnect with the new password once this answer is out
                # (profile 3 authenticates with its certificate, not a password).
                self.rpc.later(lambda: self.close(1000, "new password"))

    async def call(self, action, payload):
        timeout = self.model.int_value(_COMM, _MESSAGE_TIMEOUT, 30, var_instance="Default")
        return await self.rpc.call(action, payload, timeout)

    async def close(self, code, why):
        """Close the live link, if there is one."""
        if self.ws:
            await self.ws.close(code, why)

    async def watchdog(self):
        """Feed the board's watchdog while the event loop runs: a stuck loop
        stops feeding and the board resets (RP2040's limit is 8.3 s)."""
        while True:
            self.board.feed()
            await asyncio.sleep(1)

    async def run(self):
        """Connect, register, stay online; every reconnection waits (module doc)."""
        self.tasks.start(self.watchdog(), "watchdog")
        waits = backoff.Reconnects(self.model)
        try:
            while True:
                seconds = waits.next()
                if seconds:
                    log("reconnect", "in", seconds)
                    await sleep(seconds)
                try:
                    ws = await self.connect()
                except Exception as e:  # any failure to connect: the next wait is longer
                    log("connect-failed", reason(e))
                    continue
                waits.went_well()  # the WebSocket is up: a successful connection (OCPP-J §5.3)
                await self.session(ws)
        except asyncio.CancelledError:  # stopped by its owner (a fleet): its own tasks with it
            self.tasks.stop()  # not in a `finally`: see session
            raise

    async def connect(self):
        """One attempt to make the link; its code is loaded only for it."""
        from . import connection
        try:
            return await connection.open_link(self.model, self.store, self.board, self.events, self.slots)
        finally:
            unload(*_LINK)

    async def session(self, ws):
        """One connection, until it closes."""
        self.ws = ws
        work = self.work = Tasks(self.failed)
        self.rpc.attach(ws, work.start)
        work.start(self.online(), "online")
        try:
            await self.rpc.serve()
        except ConnectionClosed as e:
            log("disconnected", e.code, e.reason)
        except asyncio.CancelledError:  # stopped by its owner: the connection's work with it
            work.stop()
            raise
        # Not in a `finally`: a KeyboardInterrupt that stops the unix port may
        # leave its heap locked, and this allocates.
        work.stop()
        self.rpc.attach(None)
        self.ws = self.work = None
        self.lost = self.board.time()
        if self._reports:
            self._reports.offline()

    async def failed(self, name, error):
        """A task of the connection failed (a MemoryError in a fragmented
        heap, a flash that refuses a write): close the link, to be made again
        after a wait, rather than stay online with nothing registering or
        heartbeating on it."""
        await self.close(1011, "internal error")

    async def online(self):
        """Register; once Accepted, tell the connectors' status (B01, B04:
        offline.py) and the security events that wait (A04), follow both,
        resume a report the last link broke off, and heartbeat."""
        work, fresh = self.work, self.registration.status != "Accepted"
        await self.registration.register()
        await self.connectors.back_online(None if fresh else self.lost,
                                          self.model.int_value(_COMM, "OfflineThreshold", 0))
        work.start(self.connectors.follow(), "connectors")
        work.start(self.events.deliver(), "security-events")
        if self._reports and self._reports.waiting():
            work.start(self._reports.resume(), "report")
        await self.registration.heartbeat()


def run(board):
    """Board entry: run until the process is stopped or the board resets."""
    try:
        asyncio.run(Agent(board).run())
    except KeyboardInterrupt:
        log("stopped")
