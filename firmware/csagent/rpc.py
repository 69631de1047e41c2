"""OCPP-J RPC over one WebSocket: frames, CALLERROR codes, and our CALLs.

Incoming frames are checked in a fixed order before any handler runs:
frame shape (RpcFrameworkError) -> message type (MessageTypeNotSupported)
-> action known (NotImplemented) and handled (NotSupported) -> registration
gate (SecurityError, B02/B03) -> payload schema (validate.check, issue 4)
-> handler. Our own CALLs go one at a time; callers wait their turn, and a
CALL unanswered within the MessageTimeout fails so the queue goes on.
"""
import asyncio
import json
import os

from .compat import BOARD_HEAP, collect, const
from .log import log

_CALL = const(2)
_RESULT = const(3)
_ERROR = const(4)
_MAX_ID = const(36)  # OCPP-J: messageId is a string of at most 36 characters
_MAX_DESCRIPTION = const(255)
# Every OCPP 2.0.1 action name: known ones we do not handle get NotSupported,
# unknown ones NotImplemented (OCPP-J 2.0.1, 4.3). One string, not a set: a
# set of 64 names costs the board about 4 KB more heap.
_NAMES = const(
    " "
    "Authorize BootNotification CancelReservation CertificateSigned "
    "ChangeAvailability ClearCache ClearChargingProfile "
    "ClearDisplayMessage ClearVariableMonitoring ClearedChargingLimit "
    "CostUpdated CustomerInformation DataTransfer DeleteCertificate "
    "FirmwareStatusNotification Get15118EVCertificate GetBaseReport "
    "GetCertificateStatus GetChargingProfiles GetCompositeSchedule "
    "GetDisplayMessages GetInstalledCertificateIds GetLocalListVersion "
    "GetLog GetMonitoringReport GetReport GetTransactionStatus "
    "GetVariables Heartbeat InstallCertificate LogStatusNotification "
    "MeterValues NotifyChargingLimit NotifyCustomerInformation "
    "NotifyDisplayMessages NotifyEVChargingNeeds NotifyEVChargingSchedule "
    "NotifyEvent NotifyMonitoringReport NotifyReport PublishFirmware "
    "PublishFirmwareStatusNotification ReportChargingProfiles "
    "RequestStartTransaction RequestStopTransaction "
    "ReservationStatusUpdate ReserveNow Reset SecurityEventNotification "
    "SendLocalList SetChargingProfile SetDisplayMessage SetMonitoringBase "
    "SetMonitoringLevel SetNetworkProfile SetVariableMonitoring "
    "SetVariables SignCertificate StatusNotification TransactionEvent "
    "TriggerMessage UnlockConnector UnpublishFirmware UpdateFirmware "
)


class CallError(Exception):
    """Raised by a handler to answer with CALLERROR (code, description)."""

    def __init__(self, code, description=""):
        super().__init__(code, description)
        self.code = code
        self.description = description


class CallFailed(Exception):
    """Our CALL got a CALLERROR, an invalid answer, no answer, or the link went."""


def pieces(obj, depth=0):
    """The JSON text of obj in small pieces, so that no frame we send is
    ever one big string (the heap of a board is too fragmented for that).
    A record in a list inside the payload (a GetVariables result, a report
    entry) is one piece: it is small, and one json.dumps costs a fraction of
    walking it. An obj that is neither a dict, a list nor a JSON scalar is
    taken to yield pieces of JSON text itself (a report, reports.py)."""
    if isinstance(obj, dict):
        sep = "{"
        for key in obj:
            item = obj[key]
            if item is None or isinstance(item, (str, int, float)):  # a scalar: with its key
                yield sep + json.dumps(key) + ":" + json.dumps(item)
            else:
                yield sep + json.dumps(key) + ":"
                yield from pieces(item, depth + 1)
            sep = ","
        yield "}" if sep == "," else "{}"
    elif isinstance(obj, (list, tuple)):
        sep = "["
        for item in obj:
            if item is None or isinstance(item, (str, int, float)) or (depth > 1 and isinstance(item, dict)):
                yield sep + json.dumps(item, separators=(",", ":"))
            else:
                yield sep
                yield from pieces(item, depth + 1)
            sep = ","
        yield "]" if sep == "," else "[]"
    elif obj is None or isinstance(obj, (str, int, float)):
        yield json.dumps(obj)
    else:
        yield from obj


def _known(action):
    return " " not in action and (" " + action + " ") in _NAMES


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class Rpc:
    def __init__(self, handler, check=None, gate=None):
        # handler(action) -> None (not handled) or fn(payload, size) returning
        # a response dict, or (response, after): after() runs once the
        # CALLRESULT has been sent. A dict's get will do.
        self.handler = handler
        self.check = check
        self.gate = gate
        self.ws = None
        self.spawn = None  # spawn(coroutine, name): a task of the connection
        self._later = []
        self._idle = asyncio.Event()  # set while no CALL of ours is in flight
        self._idle.set()
        self._prefix = "%08x-" % int.from_bytes(os.urandom(4), "big")
        self._count = 0
        # Our CALL in flight, or None: an Event, set once the CALL is
        # answered, that also carries its msg_id, action and result (the
        # CALLRESULT payload, or the CallFailed it ended with). Made per CALL:
        # fields or an Event kept for good hold 0.1 KB more of a board's heap.
        self._out = None

    def attach(self, ws, spawn=None):
        """Serve `ws`; spawn(coroutine, name) starts the connection's tasks."""
        self.ws = ws
        self.spawn = spawn
        self._later = []

    def later(self, fn):
        """Run fn() once the answer to the CALL being handled has been sent;
        a coroutine it returns becomes a task of the connection."""
        self._later.append(fn)

    async def serve(self):
        """Answer frames until the connection closes; never raises for bad input."""
        from .ws import ConnectionClosed
        collect()  # and MicroPython collects by itself from here (compat.collect)
        try:
            while True:
                data, size = await self.ws.recv()
                if len(data) < size:  # over soft_limit: only its start was read (ws.recv)
                    await self._too_large(data, size)
                    continue
                try:
                    await self._frame(data, size)
                except ConnectionClosed:
                    raise
                except Exception as e:  # garbage must never stop the agent
                    log("error", "frame", repr(e)[:120])
                data = None
        except ConnectionClosed as e:
            self._fail(CallFailed("connection closed %d" % e.code))
            raise

    async def call(self, action, payload, timeout):
        """Send a CALL and return the CALLRESULT payload, or raise CallFailed.
        `payload` is a dict, or an iterable of the str pieces of its JSON
        text, sent as they come (a report never whole in memory)."""
        while self._out is not None:  # one at a time (asyncio.Lock: 0.4 KB more heap)
            await self._idle.wait()
        if self.ws is None:
            raise CallFailed("offline")
        self._count += 1
        msg_id = self._prefix + str(self._count)
        out = self._out = asyncio.Event()
        out.msg_id, out.action, out.result = msg_id, action, None
        self._idle.clear()
        try:
            await self._send([_CALL, msg_id, action, payload], "CALL", action, msg_id)
            await asyncio.wait_for(out.wait(), timeout)
        except asyncio.TimeoutError:
            log("timeout", action, msg_id)
            raise CallFailed("timeout")
        finally:
            self._out = None
            self._idle.set()
        result = out.result
        if isinstance(result, Exception):
            raise result
        return result

    def _fail(self, exc):
        out = self._out
        if out is not None and out.result is None:
            out.result = exc
            out.set()

    async def _send(self, frame, kind, action, msg_id):
        await self.ws.send_parts(pieces(frame))
        log("sent", kind, action, msg_id)

    async def _error(self, msg_id, code, description):
        frame = [_ERROR, msg_id, code, description[:_MAX_DESCRIPTION], {}]
        await self._send(frame, "CALLERROR", code, msg_id)

    async def _too_large(self, prefix, size):
        """A CALL larger than any BytesPerMessage* we declare was not read
        whole (ws soft_limit): answer from its first bytes (B06.FR.17)."""
        try:
            parts = str(prefix, "utf-8").split('"', 4)
        except UnicodeError:
            parts = ()
        if len(parts) < 4 or parts[0].replace(" ", "") != "[2,":
            return log("ignored", "oversized message", size)
        log("recv", "CALL", parts[3][:40], parts[1], "too large:", size)
        await self._error(parts[1][:_MAX_ID], "FormatViolation", "message of %d bytes is larger than we accept" % size)

    async def _frame(self, data, size):
        """One whole message, parsed from its UTF-8 bytes (ws.recv checked
        them): a large request is in memory once, not also as a str."""
        try:  # CPython would take a byte-order mark, or UTF-16 or -32, from bytes: it gets the text
            msg = json.loads(data if BOARD_HEAP else str(data, "utf-8"))
            data = None
        except ValueError:
            return await self._error("-1", "RpcFrameworkError", "not valid JSON")
        if not isinstance(msg, list) or len(msg) < 3 or not _is_int(msg[0]):
            return await self._error("-1", "RpcFrameworkError", "not an OCPP-J frame")
        kind, msg_id = msg[0], msg[1]
        if not isinstance(msg_id, str) or not msg_id or len(msg_id) > _MAX_ID:
            return await self._error("-1", "RpcFrameworkError", "bad messageId")
        if kind == _CALL:
            return await self._call(msg, msg_id, size)
        if kind == _RESULT or kind == _ERROR:
            return self._answer(msg, kind, msg_id)
        await self._error(msg_id, "MessageTypeNotSupported", "message type %d" % kind)

    def _answer(self, msg, kind, msg_id):
        out = self._out
        if out is None or out.msg_id != msg_id or out.result is not None:
            log("ignored", "RESULT" if kind == _RESULT else "CALLERROR", msg_id)
            return
        action = out.action
        if kind == _ERROR:
            code = msg[2] if len(msg) > 2 else "?"
            log("recv", "CALLERROR", action, msg_id, code)
            return self._fail(CallFailed("CALLERROR %s" % code))
        payload = msg[2]
        bad = None
        if len(msg) != 3 or not isinstance(payload, dict):
            bad = ("FormatViolation", "not a CALLRESULT")
        elif self.check:
            bad = self.check(action, payload, True)
        if bad:
            log("invalid", "RESULT", action, msg_id, bad[0])
            return self._fail(CallFailed("invalid response: %s" % bad[1]))
        log("recv", "RESULT", action, msg_id)
        out.result = payload
        out.set()

    async def _call(self, msg, msg_id, size):
        if len(msg) != 4 or not isinstance(msg[2], str):
            return await self._error(msg_id, "RpcFrameworkError", "CALL needs [2, id, action, payload]")
        action, payload = msg[2], msg[3]
        log("recv", "CALL", action[:40], msg_id)
        handler = self.handler(action)
        if handler is None:
            if _known(action):
                return await self._error(msg_id, "NotSupported", action + " is not supported")
            return await self._error(msg_id, "NotImplemented", "unknown action")
        denied = self.gate(action) if self.gate else None
        if denied is None and not isinstance(payload, dict):
            denied = ("FormatViolation", "payload must be a JSON object")
        if denied is None and self.check:
            denied = self.check(action, payload, False)
        if denied:
            return await self._error(msg_id, denied[0], denied[1])
        later = self._later = []
        try:
            response = handler(payload, size)
            if isinstance(response, tuple):
                response, after = response
                later.append(after)
        except CallError as e:
            return await self._error(msg_id, e.code, e.description)
        except Exception as e:
            log("error", action, repr(e)[:120])
            return await self._error(msg_id, "InternalError", "handler failed")
        await self._send([_RESULT, msg_id, response], "RESULT", action, msg_id)
        self._later = []  # not kept to the next CALL: a report's start held the report (2 KB)
        for fn in later:
            work = fn()
            if work is not None:
                self.spawn(work, action)
