"""A small development CSMS on the `ocpp` package (OCPP 2.0.1).

It validates every message it receives against the official schemas (the
`ocpp` package does so), answers BootNotification with a configurable
sequence of statuses, records what stations send, and can send a station
any request. Used by `make run`, the end-to-end tests and the benchmarks.

Console use: python tools/csms.py --port 9000, then type lines such as
  GetVariables {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}
"""
import asyncio
import base64
import datetime
import json
import logging
import ssl as ssl_module
import sys

import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Opcode
from websockets.datastructures import Headers
from websockets.http11 import Response

from ocpp.charge_point import camel_to_snake_case, serialize_as_dict, snake_to_camel_case, remove_nones
from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

logging.getLogger("ocpp").setLevel(logging.CRITICAL)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compact(obj, limit=160):
    text = json.dumps(obj, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Station(ChargePoint):
    """One connected station as the CSMS sees it."""

    def __init__(self, station_id, ws, csms):
        super().__init__(station_id, ws, response_timeout=csms.response_timeout)
        self.csms = csms
        self.received = []  # (action, payload) of every CALL the station sent
        self.invalid = []  # what the `ocpp` package refused (schema errors)
        self.reports = {}  # requestId -> list of NotifyReport payloads
        self.open = True  # until the connection ends
        self.arrived = asyncio.Condition()

    async def route_message(self, raw):
        msg = json.loads(raw)
        if msg[0] == 2 and msg[2] in self.csms.silent:
            self.csms.say("%s -> %s (left unanswered)" % (self.id, msg[2]))
            return
        if msg[0] == 2:
            self.csms.say("%s -> %s %s" % (self.id, msg[2], compact(msg[3])))
        await super().route_message(raw)

    async def _handle_call(self, msg):
        try:
            result = await super()._handle_call(msg)
        except OCPPError as e:
            self.invalid.append((msg.action, type(e).__name__, str(e)[:300]))
            raise
        async with self.arrived:
            self.received.append((msg.action, msg.payload))
            self.arrived.notify_all()
        return result

    async def wait_for(self, action, count=1, timeout=10):
        """The payloads of the first `count` CALLs named `action`."""
        async def enough():
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.calls(action)) >= count)
        await asyncio.wait_for(enough(), timeout)
        return self.calls(action)[:count]

    def calls(self, action):
        return [p for a, p in self.received if a == action]

    async def request(self, action, payload, timeout=None):
        """Send `action` with a camelCase payload; the camelCase answer, or raise."""
        request = getattr(call, action)(**camel_to_snake_case(payload))
        self.csms.say("%s <- %s %s" % (self.id, action, compact(payload)))
        if timeout:
            self._response_timeout = timeout
        result = await self.call(request, suppress=False)
        answer = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
        self.csms.say("%s => %s %s" % (self.id, action, compact(answer)))
        return answer

    @on("BootNotification")
    def on_boot(self, charging_station, reason, **_):
        status = self.csms.next_boot_status()
        return call_result.BootNotification(current_time=now_iso(), interval=self.csms.interval_for(status),
                                            status=status)

    @on("Heartbeat")
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, **_):
        return call_result.StatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **_):
        return call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_):
        return call_result.FirmwareStatusNotification()

    @on("NotifyReport")
    def on_report(self, request_id, generated_at, seq_no, tbc=False, report_data=None, **_):
        """Keep the parts (camelCase) per requestId; seqNo 0 again means the
        station started the report over, so the parts so far are dropped."""
        if seq_no == 0:
            self.reports[request_id] = []
        self.reports.setdefault(request_id, []).append(snake_to_camel_case(remove_nones({
            "request_id": request_id, "generated_at": generated_at, "seq_no": seq_no, "tbc": tbc,
            "report_data": report_data})))
        return call_result.NotifyReport()


class CountingConnection(ServerConnection):
    """Counts the WebSocket pings a station sends (its keep-alive)."""
    pings = 0

    def process_event(self, event):
        if getattr(event, "opcode", None) == Opcode.PING:
            self.pings += 1
        super().process_event(event)


class Csms:
    """The server: one `Station` per connected station id."""

    def __init__(self, port=0, boot=("Accepted",), interval=300, pending_interval=1, password=None,
                 ssl=None, response_timeout=10, quiet=False):
        self.port = port
        self.boot = list(boot)
        self.interval = interval
        self.pending_interval = pending_interval
        self.password = password
        self.ssl = ssl
        self.response_timeout = response_timeout
        self.quiet = quiet
        self.silent = set()  # actions left unanswered, to test the station's timeouts
        self.stations = {}
        self.connections = []  # station ids in connection order
        self.sessions = []  # every Station, one per connection, to count all a station sent
        self.closed = []  # close codes seen from stations
        self.arrived = asyncio.Condition()
        self.server = None

    def say(self, line):
        if not self.quiet:
            print("CSMS " + line, flush=True)

    def next_boot_status(self):
        return self.boot.pop(0) if len(self.boot) > 1 else self.boot[0]

    def interval_for(self, status):
        return self.interval if status == "Accepted" else self.pending_interval

    def check_auth(self, connection, request):
        if self.password is None:
            return None
        expected = "Basic " + base64.b64encode(
            ("%s:%s" % (request.path.rsplit("/", 1)[-1], self.password)).encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response(401, "Unauthorized", Headers([("WWW-Authenticate", 'Basic realm="csms"')]), b"")
        return None

    async def start(self):
        self.server = await serve(self.handle, "127.0.0.1", self.port, subprotocols=["ocpp2.0.1"],
                                  process_request=self.check_auth, ssl=self.ssl, max_size=2 ** 20,
                                  ping_interval=None, create_connection=CountingConnection)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def handle(self, ws):
        from urllib.parse import unquote
        station_id = unquote(ws.request.path.rsplit("/", 1)[-1])
        station = Station(station_id, ws, self)
        async with self.arrived:
            self.stations[station_id] = station
            self.connections.append(station_id)
            self.sessions.append(station)
            self.arrived.notify_all()
        self.say("%s connected" % station_id)
        try:
            await station.start()
        except websockets.ConnectionClosed as e:
            self.closed.append(e.rcvd.code if e.rcvd else 1006)
        finally:
            station.open = False
        self.say("%s disconnected" % station_id)

    async def wait_station(self, station_id, connections=1, timeout=20):
        """The station once it has connected `connections` times."""
        async def enough():
            async with self.arrived:
                await self.arrived.wait_for(lambda: self.connections.count(station_id) >= connections)
        await asyncio.wait_for(enough(), timeout)
        return self.stations[station_id]


def server_tls(cert, key, client_ca=None):
    ctx = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl_module.CERT_REQUIRED
    return ctx


async def console(csms):
    """Read `Action {json}` lines from stdin and send them to the newest station."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        action, _, text = line.strip().partition(" ")
        if not action:
            continue
        if not csms.connections:
            print("no station connected", flush=True)
            continue
        try:
            await csms.stations[csms.connections[-1]].request(action, json.loads(text or "{}"))
        except Exception as e:
            print("error: %s" % e, flush=True)


def parse_args(argv=None):
    from cli import OneLineParser
    p = OneLineParser(description="development CSMS (OCPP 2.0.1)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--boot", default="Accepted", help="comma-separated BootNotification answers, e.g. Pending,Accepted")
    p.add_argument("--interval", type=int, default=300, help="heartbeat interval given on Accepted")
    p.add_argument("--password", help="require HTTP Basic auth with this password")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    p.add_argument("--quiet", action="store_true", help="print nothing per message (a fleet)")
    return p.parse_args(argv)


async def main(args):
    try:
        tls = server_tls(args.cert, args.key, args.client_ca) if args.cert else None
    except (OSError, ssl_module.SSLError) as e:
        sys.exit("csms.py: error: certificate: %s" % e)
    csms = await Csms(args.port, args.boot.split(","), args.interval, password=args.password, ssl=tls,
                      quiet=args.quiet).start()
    print("CSMS listening on %s://127.0.0.1:%d" % ("wss" if tls else "ws", csms.port), flush=True)
    await console(csms)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:
        pass
