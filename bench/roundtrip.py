"""Request round trip against a raw-frame CSMS (issue 13, item 7).

The `ocpp` package's CSMS validates and routes every frame, and is slower
than either station, so a rate measured through it says more about it than
about the station. Here a minimal CSMS speaks WebSocket at the byte level
(asyncio.Protocol): it writes each request as a ready-made OCPP-J text
frame and only looks for the matching message id in what comes back: no
schema, no routing, no WebSocket library. Both stations are connected
to it at once, our agent on the MicroPython unix port (the runner's default
heap, .mpy) and the `ocpp` package's ChargePoint on CPython, each in a
process of its own; rounds of requests alternate between them so that the
machine's noise hits both.
"""
import asyncio
import base64
import hashlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

ROUNDS = 20
PER_ROUND = 100
GET = ('{"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, '
       '"variable": {"name": "HeartbeatInterval"}}]}')
NOW = "2026-11-26T04:09:23.125Z"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ANSWERS = {  # what the raw CSMS answers to a station's own CALLs
    "BootNotification": {"currentTime": NOW, "interval": 300, "status": "Accepted"},
    "Heartbeat": {"currentTime": NOW},
}


class _Link(asyncio.Protocol):
    """One station's WebSocket, server side, at the byte level: the upgrade,
    then unmasking of the station's frames; ours go out unmasked as one write."""

    def __init__(self, csms):
        self.csms = csms
        self.buf = b""
        self.upgraded = False
        self.parts = []  # payloads of a fragmented message so far
        self.waiting = {}  # message id -> future

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode(), self.buf[end + 4:]
            key = name = None
            for line in head.split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
                elif line.startswith("GET "):
                    name = line.split()[1].rsplit("/", 1)[-1]
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            self.transport.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                                  "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n" % accept).encode())
            self.upgraded = True
            self.csms.stations[name] = self
            self.csms.arrived.set()
        while self._frame():
            pass

    def _frame(self):
        b = self.buf
        if len(b) < 2:
            return False
        n, at = b[1] & 0x7F, 2
        if n == 126:
            n, at = int.from_bytes(b[2:4], "big"), 4
        elif n == 127:
            n, at = int.from_bytes(b[2:10], "big"), 10
        if len(b) < at + 4 + n:
            return False
        key = b[at:at + 4]
        data = bytes(c ^ key[i % 4] for i, c in enumerate(b[at + 4:at + 4 + n]))
        self.buf = b[at + 4 + n:]
        op = b[0] & 0x0F
        if op == 8:
            self.transport.write(_header(8, 2) + data[:2])
            self.transport.close()
        elif op == 9:
            self.transport.write(_header(10, len(data)) + data)
        elif op in (0, 1):
            self.parts.append(data)
            if b[0] & 0x80:
                self._message(json.loads(b"".join(self.parts)))
                self.parts = []
        return True

    def _message(self, msg):
        if msg[0] == 2:
            self.send(json.dumps([3, msg[1], ANSWERS.get(msg[2], {})]))
        elif msg[1] in self.waiting:
            self.waiting.pop(msg[1]).set_result(msg)

    def send(self, text):
        data = text.encode()
        self.transport.write(_header(1, len(data)) + data)


def _header(op, n):
    if n < 126:
        return bytes((0x80 | op, n))
    return bytes((0x80 | op, 126)) + n.to_bytes(2, "big")


class RawCsms:
    """Answers a station's CALLs with fixed payloads; request() sends one
    raw CALL frame and waits for the frame that carries its id."""

    def __init__(self):
        self.stations = {}  # id -> _Link
        self.arrived = asyncio.Event()

    async def start(self):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Link(self), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        for link in self.stations.values():
            link.transport.close()
        await self.server.wait_closed()

    async def wait_station(self, name, timeout):
        deadline = time.monotonic() + timeout
        while name not in self.stations:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
        return name

    async def request(self, name, n):
        link = self.stations[name]
        fut = asyncio.get_running_loop().create_future()
        msg_id = "r%d" % n
        link.waiting[msg_id] = fut
        link.send('[2, "%s", "GetVariables", %s]' % (msg_id, GET))
        answer = await asyncio.wait_for(fut, 10)
        assert answer[0] == 3 and answer[2]["getVariableResult"][0]["attributeStatus"] == "Accepted", answer


PY_STATION = """
import asyncio, sys
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result


class PyStation(ChargePoint):
    @on("GetVariables")
    def on_get(self, get_variable_data, **_):
        return call_result.GetVariables(get_variable_result=[
            {"attributeStatus": "Accepted", "component": d["component"], "variable": d["variable"],
             "attributeValue": "300"} for d in get_variable_data])


async def main(url):
    async with websockets.connect(url, subprotocols=["ocpp2.0.1"]) as ws:
        await PyStation("PY001", ws).start()


asyncio.run(main(sys.argv[1]))
"""


async def measure(rounds=ROUNDS, per_round=PER_ROUND):
    """{station: [ms per request of each round]}, rounds interleaved. Each
    station is a process of its own, as the CSMS is."""
    from stations import StationProcess

    csms = await RawCsms().start()
    url = "ws://127.0.0.1:%d" % csms.port
    state = tempfile.mkdtemp(prefix="bench-rt-")
    station = await StationProcess(os.path.join(state, "flash"), url).start()
    py = await asyncio.create_subprocess_exec(sys.executable, "-c", PY_STATION, url + "/PY001",
                                              stdin=asyncio.subprocess.DEVNULL)
    times = {"CS001": [], "PY001": []}
    n = 0
    try:
        for name in times:
            await csms.wait_station(name, timeout=20)
        await asyncio.sleep(1)  # the agent's StatusNotifications are through
        for _ in range(rounds):
            for name in times:
                t0 = time.perf_counter()
                for _ in range(per_round):
                    n += 1
                    await csms.request(name, n)
                times[name].append((time.perf_counter() - t0) * 1000 / per_round)
    finally:
        py.kill()
        await py.wait()
        await station.stop()
        await csms.stop()
    return times


def run():
    times = asyncio.run(measure())
    best = {name: min(t) for name, t in times.items()}
    middle = {name: statistics.median(t) for name, t in times.items()}
    rows = []
    for name, label in (("CS001", "csagent on the MicroPython unix port (.mpy, 192 KB heap)"),
                        ("PY001", "`ocpp` package ChargePoint on CPython")):
        rows.append("| %s | %.3f | %.3f | %.0f |" % (label, best[name], middle[name], 1000 / best[name]))
    return "\n".join([
        "## Request round trip against a raw-frame CSMS (issue 13)",
        "",
        "A minimal CSMS (bench/roundtrip.py: WebSocket at the byte level on asyncio.Protocol) sends",
        "ready-made GetVariables frames and waits for the answer carrying the same id, without validation",
        "or routing, so the stations' own time dominates. Both stations, each a process of its own, are",
        "connected at once; %d rounds of %d sequential requests alternate between them. Other work on this"
        % (ROUNDS, PER_ROUND),
        "shared machine only ever adds time, so the best round is the figure compared; the median round",
        "shows the spread.",
        "",
        "Where the agent's time went (issue 13), per request, measured on the unix port: five device-model",
        "lookups that each re-read and parsed a line of model.jsonl (now: the last one kept parsed and",
        "the int limits kept until the next write), a gc.collect() after every message (now: gc.threshold),",
        "byte-by-byte masking (now one int for a short frame), a timer per frame sent and per received frame's body",
        "(now only when the socket makes us wait), and one JSON piece per token of the answer (now one per",
        "scalar with its key, and per list record).",
        "",
        "| station | ms per request, best round | median round | requests/s, best round |",
        "|---|---:|---:|---:|",
    ] + rows + [
        "| speed-up (their time / ours), best rounds | %.2fx | %.2fx (medians) | |" % (
            best["PY001"] / best["CS001"], middle["PY001"] / middle["CS001"]),
        "",
        "Reproduce: `make bench` (this section alone: `.venv/bin/python tools/bench.py roundtrip`).",
    ])


if __name__ == "__main__":
    print(run())
