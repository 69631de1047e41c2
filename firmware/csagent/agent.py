"""The station: store, device model, RPC and the connection loop, wired."""
import asyncio
import json

from . import backoff, netprofiles, tls, variables
from .boot import Registration
from .log import log
from .model import DeviceModel
from .rpc import Rpc
from .store import Store
from .ws import ConnectionClosed, connect

try:
    from .validate import check
except ImportError:  # pragma: no cover - until the schema tables land
    check = None

COMM = "OCPPCommCtrlr"
SEC = "SecurityCtrlr"


class Agent:
    def __init__(self, board):
        self.board = board
        self.store = Store(board.flash + "/store")
        self.model = DeviceModel(board.defaults, self.store)
        settings = board.read_install()
        if settings:
            self.install(settings)
            board.install_done()
        self.registration = Registration(self)
        self.rpc = Rpc(self.handlers(), check, self.registration.gate)
        self.ws = None
        self.model.watch(self.changed)

    def handlers(self):
        m = self.model
        return {
            "GetVariables": lambda p, size: variables.get_variables(m, p, size),
            "SetVariables": lambda p, size: variables.set_variables(m, p, size),
        }

    def install(self, settings):
        """First start: what the technician entered (id, password, CSMS URL)."""
        self.model.apply_install(settings)
        if settings.get("csms_url"):
            slot = (netprofiles.priority(self.model) or [0])[0]
            profile = netprofiles.install_profile(settings)
            self.store.commit({netprofiles.PREFIX + str(slot): json.dumps(profile)})
            self.model.set_value(SEC, "SecurityProfile", str(profile["securityProfile"]))
        log("installed", "identity", settings.get("identity"))

    def changed(self, component, variable):
        """Live behaviour follows SetVariables without a restart."""
        if variable == "HeartbeatInterval":
            self.registration.changed.set()
        elif variable == "WebSocketPingInterval" and self.ws:
            self.ws.ping_interval = self.model.int_value(COMM, "WebSocketPingInterval", 0)

    async def call(self, action, payload):
        timeout = self.model.int_value(COMM, "MessageTimeout", 30, var_instance="Default")
        return await self.rpc.call(action, payload, timeout)

    async def run(self):
        """Connect, register, stay online; reconnect with backoff (B04)."""
        attempt = 0
        while True:
            try:
                self.ws = await self.connect()
            except Exception as e:  # any failure to connect: wait and retry
                wait = backoff.delay(self.model, attempt)
                log("connect-failed", _reason(e), "retry in", wait)
                attempt += 1
                await asyncio.sleep(wait)
                continue
            attempt = 0
            await self.session()

    async def connect(self):
        slots = netprofiles.priority(self.model)
        profile = netprofiles.load(self.store, slots[0]) if slots else None
        if profile is None:
            raise ValueError("no network profile configured")
        timeout = str(profile.get("messageTimeout", 30))
        if self.model.value(COMM, "MessageTimeout", var_instance="Default") != timeout:
            self.model.set_value(COMM, "MessageTimeout", timeout, var_instance="Default")
        identity = self.model.value(SEC, "Identity") or ""
        url = netprofiles.station_url(profile, identity)
        sp = profile["securityProfile"]
        ssl = None
        if sp >= 2:
            ssl = tls.client_context(cafile=self.board.ca_file(),
                                     certfile=self.board.client_cert() if sp == 3 else None,
                                     keyfile=self.board.client_key() if sp == 3 else None)
        password = self.model.value(SEC, "BasicAuthPassword") if sp < 3 else None
        ws = await connect(url, user=identity, password=password or None, ssl=ssl,
                           max_frame=self.board.max_frame, timeout=profile.get("messageTimeout", 30),
                           ping_interval=self.model.int_value(COMM, "WebSocketPingInterval", 0))
        log("connected", url)
        return ws

    async def session(self):
        self.rpc.attach(self.ws)
        work = asyncio.create_task(self.online())
        try:
            await self.rpc.serve()
        except ConnectionClosed as e:
            log("disconnected", e.code)
        finally:
            work.cancel()
            self.rpc.attach(None)
            self.ws = None

    async def online(self):
        fresh = self.registration.status != "Accepted"
        await self.registration.register()
        if fresh:
            await self.notify_connectors()
        await self.registration.heartbeat()

    async def notify_connectors(self):
        """B01: after Accepted, the state of every connector."""
        from . import clock
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
