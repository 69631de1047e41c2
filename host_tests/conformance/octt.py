"""The test tool's CSMS part (the OCTT of OCPP 2.0.1 Part 6), raw enough to
play every step of a case: it sees every frame, answers each CALL of the
station as the case says, sends any CALL and awaits its CALLRESULT or
CALLERROR, closes connections, refuses upgrades, and times the station's
connection attempts.

Every message the station sends (CALLs and CALLRESULTs) is checked against
the official OCA 2.0.1 schemas; a violation is recorded in `Octt.invalid`,
which each test's teardown asserts empty.

The tool runs its own event loop in a thread, so a test is plain code:
`link.call("GetVariables", {...})` blocks until the answer (bounded).

Like the OCTT it checks the station's HTTP Basic credentials (username the
station id, password the configured one; a wrong pair gets HTTP 401), serves
wss:// when given an SSL context, and can stop listening or listen again
with another context on the same port (a CSMS that is down, a certificate
or TLS version the station must refuse, then the valid one).
"""
import asyncio
import base64
import datetime
import itertools
import json
import os
import socket
import threading
import time

import jsonschema
import ocpp
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCHEMAS = os.path.join(os.path.dirname(ocpp.__file__), "v201", "schemas")
_validators = {}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def schema_errors(name, payload):
    """'BootNotificationRequest' etc.: the first schema error, or None."""
    if name not in _validators:
        with open(os.path.join(SCHEMAS, name + ".json")) as f:
            schema = json.load(f)
        schema.pop("$id", None)
        _validators[name] = jsonschema.validators.validator_for(schema)(schema)
    err = next(iter(_validators[name].iter_errors(payload)), None)
    return None if err is None else "%s: %s" % (name, err.message[:200])


def basic_auth(header):
    """(user, password) from an Authorization: Basic header, else None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


class CallError(Exception):
    """The station answered our CALL with a CALLERROR."""

    def __init__(self, code, description):
        super().__init__(code, description)
        self.code = code


class Link:
    """One accepted WebSocket connection of the station."""

    def __init__(self, octt, ws):
        self.octt = octt
        self.ws = ws
        self.opened = time.monotonic()
        self.closed = None  # time the connection ended
        self.received = []  # (time, action, payload) of the station's CALLs, in order
        self._read = {}  # action -> how many of its CALLs expect() has handed out
        self._pending = {}
        self._ids = itertools.count(1)
        self.arrived = asyncio.Condition()

    async def serve(self):
        try:
            async for raw in self.ws:
                await self._frame(json.loads(raw))
        except Exception:  # the connection went away: the case decides if that is right
            pass
        finally:
            self.closed = time.monotonic()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))
            async with self.arrived:
                self.arrived.notify_all()

    async def _frame(self, msg):
        kind = msg[0]
        if kind == 2:
            _, mid, action, payload = msg
            self.octt.check(action + "Request", payload)
            async with self.arrived:
                self.received.append((time.monotonic(), action, payload))
                self.arrived.notify_all()
            answer = self.octt.answer(action, payload)
            if answer is not None:
                await self.ws.send(json.dumps([3, mid, answer]))
        elif kind in (3, 4):
            fut = self._pending.pop(msg[1], None)
            if fut and not fut.done():
                fut.set_result(msg)

    async def _call(self, action, payload, timeout):
        mid = "octt-%d" % next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[mid] = fut
        await self.ws.send(json.dumps([2, mid, action, payload]))
        msg = await asyncio.wait_for(fut, timeout)
        if msg[0] == 4:
            raise CallError(msg[2], msg[3])
        self.octt.check(action + "Response", msg[2])
        return msg[2]

    async def _expect(self, action, timeout):
        async def arrived():
            async with self.arrived:
                await self.arrived.wait_for(
                    lambda: len(self.calls(action)) > self._read.get(action, 0) or self.closed)
        await asyncio.wait_for(arrived(), timeout)
        got = self.calls(action)
        n = self._read.get(action, 0)
        if len(got) <= n:
            raise ConnectionError("connection closed before %s" % action)
        self._read[action] = n + 1
        return got[n]

    # -- what a test calls (blocking, bounded) ------------------------------

    def call(self, action, payload, timeout=10):
        """Send a CALL; the station's CALLRESULT payload, or CallError."""
        return self.octt.run(self._call(action, payload, timeout), timeout + 1)

    def expect(self, action, timeout=10):
        """The station's next CALL named `action` (each is handed out once)."""
        return self.octt.run(self._expect(action, timeout), timeout + 1)

    def calls(self, action):
        return [p for _, a, p in self.received if a == action]

    def actions(self):
        return [a for _, a, _ in self.received]

    def close(self, code=1000):
        self.octt.run(self.ws.close(code), 5)

    def drop(self):
        """End the TCP connection without a closing handshake (a lost link)."""
        self.octt.loop.call_soon_threadsafe(self.ws.transport.abort)

    def tls(self):
        """The TLS version of this connection ("TLSv1.3" ...), None for plain ws."""
        ssl_object = self.ws.transport.get_extra_info("ssl_object")
        return ssl_object.version() if ssl_object else None

    def peer_certificate(self):
        """The station's client certificate (as ssl.getpeercert() gives it), or None."""
        return self.ws.transport.get_extra_info("peercert")

    def wait_closed(self, timeout=10):
        async def closed():
            async with self.arrived:
                await self.arrived.wait_for(lambda: self.closed)
        self.octt.run(asyncio.wait_for(closed(), timeout), timeout + 1)


class Octt:
    """The tool's CSMS. `boot` is the sequence of BootNotification statuses
    (the last one repeats); `answers` maps an action to fn(payload) -> the
    CALLRESULT payload (None: leave it unanswered)."""

    def __init__(self, boot=("Accepted",), interval=300, boot_interval=None, password=None, ssl=None,
                 station_id="CS001"):
        self.boot = list(boot)
        self.interval = interval
        self.boot_interval = boot_interval if boot_interval is not None else interval
        self.password = password  # None: any credentials, or none, get in
        self.station_id = station_id
        self.ssl = ssl
        self.auth = []  # (user, password) of every upgrade request, None without credentials
        self.answers = {}
        self.invalid = []
        self.links = []
        self.attempts = []  # monotonic time of every upgrade request, refused ones too
        self.refuse = 0  # refuse the next n upgrade requests with HTTP 503
        self.arrived = threading.Condition()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = None
        self.listen(ssl)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("wss" if self.ssl else "ws", self.port)

    def listen(self, ssl=None):
        """(Re)start the server on the same port, with `ssl` (None: plain ws)."""
        self.pause()
        self.ssl = ssl

        async def start():
            return await serve(self._handle, "127.0.0.1", self.port, subprotocols=["ocpp2.0.1"], ssl=ssl,
                               process_request=self._upgrade, ping_interval=None, max_size=2 ** 20)
        self.server = self.run(start())

    def pause(self):
        """Stop listening: the station's attempts meet a refused TCP connection.
        The connections up now stay up."""
        if self.server is not None:
            server, self.server = self.server, None

            async def close():
                server.server.close()  # the listening socket goes now; its port is free again
                server.close(close_connections=False)
            self.run(close())

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        async def shut():
            if self.server is not None:
                self.server.close()
            for link in self.links:
                link.ws.transport.abort()
        self.run(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def check(self, name, payload):
        err = schema_errors(name, payload)
        if err:
            self.invalid.append(err)

    def answer(self, action, payload):
        if action in self.answers:
            return self.answers[action](payload)
        if action == "BootNotification":
            status = self.boot.pop(0) if len(self.boot) > 1 else self.boot[0]
            return {"currentTime": now_iso(), "status": status,
                    "interval": self.interval if status == "Accepted" else self.boot_interval}
        if action == "Heartbeat":
            return {"currentTime": now_iso()}
        return {}  # StatusNotification, NotifyReport, NotifyEvent, SecurityEventNotification ...

    def _upgrade(self, connection, request):
        credentials = basic_auth(request.headers.get("Authorization"))
        with self.arrived:
            self.attempts.append(time.monotonic())
            self.auth.append(credentials)
            self.arrived.notify_all()
        if self.password is not None and credentials != (self.station_id, self.password):
            return Response(401, "Unauthorized", Headers([("WWW-Authenticate", 'Basic realm="OCTT"')]), b"")
        if self.refuse:
            self.refuse -= 1
            return Response(503, "Service Unavailable", Headers(), b"")
        return None

    async def _handle(self, ws):
        link = Link(self, ws)
        with self.arrived:
            self.links.append(link)
            self.arrived.notify_all()
        await link.serve()

    def link(self, n=1, timeout=20):
        """The station's n-th accepted connection (1-based), once it exists."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.links) >= n, timeout):
                raise TimeoutError("no connection %d within %ss" % (n, timeout))
            return self.links[n - 1]

    def attempt(self, n, timeout=30):
        """Time of the n-th upgrade request (1-based)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.attempts) >= n, timeout):
                raise TimeoutError("no connection attempt %d within %ss" % (n, timeout))
            return self.attempts[n - 1]
