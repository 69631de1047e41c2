"""The link to the CSMS: which network profile, its interface, its WebSocket.

Slots are tried in NetworkConfigurationPriority order as read at start-up
(a new priority acts after a reboot, B10); after
NetworkProfileConnectionAttempts failures the next slot is tried, wrapping
around, so a station migrated to an unreachable CSMS falls back to the
slot that worked before. ActiveNetworkProfile tells the slot in use.
"""
from . import netprofiles
from .log import log
from .ws import WebSocketError, connect

COMM = "OCPPCommCtrlr"
SEC = "SecurityCtrlr"


class Connection:
    def __init__(self, agent):
        self.agent = agent
        self.slots = netprofiles.priority(agent.model)
        self.index = 0
        self.failures = 0
        self.password = None  # the password the live link authenticated with
        self.fallback = None  # the previous one, while a new one is untried

    def password_changed(self):
        """BasicAuthPassword changed on a live link: reconnect with the new one,
        keeping the old one to fall back to if the CSMS refuses the new."""
        self.fallback = self.password

    async def open(self):
        if not self.slots:
            raise ValueError("NetworkConfigurationPriority names no slot")
        slot = self.slots[self.index]
        try:
            ws = await self._open(slot)
        except Exception:
            self.failures += 1
            if self.failures >= self.agent.model.int_value(COMM, "NetworkProfileConnectionAttempts", 3):
                self.failures = 0
                self.index = (self.index + 1) % len(self.slots)
                if len(self.slots) > 1:
                    log("network-profile", "slot", slot, "failed; next slot", self.slots[self.index])
            raise
        self.failures = 0
        self.fallback = None
        self.agent.model.set_value(COMM, "ActiveNetworkProfile", str(slot))
        return ws

    async def _open(self, slot):
        agent = self.agent
        model, board = agent.model, agent.board
        profile = netprofiles.load(agent.store, slot)
        if profile is None:
            raise ValueError("slot %d holds no network profile" % slot)
        await board.bring_up(profile)
        timeout = str(profile.get("messageTimeout", 30))
        if model.value(COMM, "MessageTimeout", var_instance="Default") != timeout:
            model.set_value(COMM, "MessageTimeout", timeout, var_instance="Default")
        identity = model.value(SEC, "Identity") or ""
        url = netprofiles.station_url(profile, identity)
        sp = profile["securityProfile"]
        ssl = None
        if sp >= 2:
            from . import tls  # only stations on profile 2 or 3 pay its heap
            ssl = tls.client_context(cafile=board.ca_file(),
                                     certfile=board.client_cert() if sp == 3 else None,
                                     keyfile=board.client_key() if sp == 3 else None)
        password = (model.value(SEC, "BasicAuthPassword") or None) if sp < 3 else None
        try:
            ws = await self._connect(url, identity, password, ssl, profile)
        except WebSocketError as e:
            if self.fallback is None or " 401" not in str(e):
                raise
            # The CSMS refused the new password: go back to the one it knew.
            log("auth", "new BasicAuthPassword refused; falling back to the previous one")
            password, self.fallback = self.fallback, None
            model.set_value(SEC, "BasicAuthPassword", password)
            ws = await self._connect(url, identity, password, ssl, profile)
        self.password = password
        # The largest request we declare we take: a larger one is answered, not buffered.
        ws.soft_limit = max(model.int_value("DeviceDataCtrlr", "BytesPerMessage", 0, var_instance=i)
                            for i in ("GetReport", "GetVariables", "SetVariables"))
        if model.int_value(SEC, "SecurityProfile") != sp:
            model.set_value(SEC, "SecurityProfile", str(sp))
        log("connected", url, "slot", slot, "security profile", sp)
        return ws

    async def _connect(self, url, identity, password, ssl, profile):
        model = self.agent.model
        return await connect(url, user=identity, password=password, ssl=ssl,
                             max_frame=self.agent.board.max_frame, timeout=profile.get("messageTimeout", 30),
                             ping_interval=model.int_value(COMM, "WebSocketPingInterval", 0))
