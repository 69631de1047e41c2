"""The link to the CSMS: one attempt through the network-profile slot the
fallback cursor points at (migration.py, B10): its interface, its TLS
context, its WebSocket. ActiveNetworkProfile tells the slot in use, and
SecurityProfile the profile (security_profile.py, A05).

The BasicAuthPassword the CSMS last accepted stays in the store until a
new one has worked: should the CSMS refuse a new password (HTTP 401), even
after a reboot, the station goes back to that one (A01).

A refused password and a failed TLS handshake are security events (A04),
queued once however often the attempt fails.

The agent loads this module for each attempt and drops it after: between
attempts and while online its code takes no heap.
"""
from . import migration, netprofiles, security_profile
from .compat import const
from .log import log
from .ws_handshake import WebSocketError, connect

_BASIC_AUTH_PASSWORD = const("BasicAuthPassword")
_BYTES_PER_MESSAGE = const("BytesPerMessage")
_COMM = const("OCPPCommCtrlr")
_DDC = const("DeviceDataCtrlr")
_MESSAGE_TIMEOUT = const("MessageTimeout")
_PING_INTERVAL = const("WebSocketPingInterval")
_SEC = const("SecurityCtrlr")

GOOD_PASSWORD = "_auth/accepted"
# What a TLS handshake error says (CPython's ssl, MicroPython's mbedTLS) -> its event
TLS_EVENTS = (("CERT", "InvalidCsmsCertificate"), ("VERSION", "InvalidTLSVersion"),
              ("CIPHER", "InvalidTLSCipherSuite"), ("HANDSHAKE_FAILURE", "InvalidTLSCipherSuite"))


async def open_link(model, store, board, events, cursor):
    """The WebSocket of the next attempt, through the slot `cursor` points
    at; events is the SecurityEvents queue."""
    return await _Attempt(model, store, board, events).run(cursor)


class _Attempt:
    def __init__(self, model, store, board, events):
        self.model = model
        self.store = store
        self.board = board
        self.events = events

    async def run(self, cursor):
        slots = cursor["slots"]
        if not slots:
            raise ValueError("NetworkConfigurationPriority names no slot")
        slot = slots[cursor["index"]]
        try:
            ws = await self._open(slot)
        except Exception:
            migration.attempt_failed(self.model, self.store, cursor)
            raise
        cursor["failures"] = 0
        self.model.set_value(_COMM, "ActiveNetworkProfile", str(slot))
        return ws

    async def _open(self, slot):
        model = self.model
        profile = netprofiles.load(self.store, slot)
        if profile is None:
            raise ValueError("slot %d holds no network profile" % slot)
        await self.board.bring_up(profile)
        timeout = str(profile.get("messageTimeout", 30))
        if model.value(_COMM, _MESSAGE_TIMEOUT, var_instance="Default") != timeout:
            model.set_value(_COMM, _MESSAGE_TIMEOUT, timeout, var_instance="Default")
        identity = model.value(_SEC, "Identity") or ""
        url = netprofiles.station_url(profile, identity)
        sp = profile["securityProfile"]
        ssl = None
        if sp >= 2:
            from . import tls  # only stations on profile 2 or 3 pay its heap
            board = self.board
            ssl = tls.client_context(cafile=board.cert("csms_root.pem"),
                                     certfile=board.cert("client.pem") if sp == 3 else None,
                                     keyfile=board.cert("client.key") if sp == 3 else None)
        password = (model.value(_SEC, _BASIC_AUTH_PASSWORD) or None) if sp < 3 else None
        accepted = self.store.get(GOOD_PASSWORD)
        try:
            ws = await self._connect(url, identity, password, ssl, profile)
        except WebSocketError as e:
            self._security_event(str(e), sp)
            if not accepted or accepted == password or " 401" not in str(e):
                raise
            # The CSMS refused the new password: go back to the one it knew.
            log("auth", "new BasicAuthPassword refused; falling back to the previous one")
            password = accepted
            model.set_value(_SEC, _BASIC_AUTH_PASSWORD, password)
            ws = await self._connect(url, identity, password, ssl, profile)
        if password and password != accepted:
            self.store.commit({GOOD_PASSWORD: password})
        # The largest request we declare we take: a larger one is answered (FormatViolation),
        # not buffered. A certificate request fits it: a CSMS root's or a signing certificate's
        # PEM is 1 to 2 KB, though the schemas allow 5,500 characters.
        ws.soft_limit = max(model.int_value(_DDC, _BYTES_PER_MESSAGE, 0, var_instance=i)
                            for i in ("GetReport", "GetVariables", "SetVariables"))
        security_profile.connected(model, self.events, sp)
        log("connected", url, "slot", slot, "security profile", sp)
        return ws

    def _security_event(self, error, sp):
        if " 401" in error:
            return self.events.record("FailedToAuthenticateAtCsms", error, repeats=True)
        if sp >= 2:
            upper = error.upper()
            for word, kind in TLS_EVENTS:
                if word in upper:
                    return self.events.record(kind, error, repeats=True)

    async def _connect(self, url, identity, password, ssl, profile):
        return await connect(url, user=identity, password=password, ssl=ssl,
                             max_frame=self.board.max_frame, timeout=profile.get("messageTimeout", 30),
                             ping_interval=self.model.int_value(_COMM, _PING_INTERVAL, 0))
