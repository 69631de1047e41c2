"""Faults on the wire: a TCP proxy on loopback between stations and the CSMS.

Named faults ("toxics", as Toxiproxy calls them) act on the links of a set
of stations (None: all), told apart by the last segment of the WebSocket
upgrade's path, which OCPP-J makes the station id:
  latency   every chunk waits `ms` more, both ways
  jitter    every chunk waits 0..`ms` more, at random
  freeze    no byte passes until the toxic is removed (a stalled link)
  refuse    new connections are closed at once (the CSMS is gone, or the
            station's network is); drop() cuts the live ones
A CSMS restart is drop() of every link plus refuse for a while.

The proxy can also send a station a CALL as if from the CSMS (request()),
for the changes a CSMS drives; the station's answer is kept from the CSMS.
"""
import asyncio
import itertools
import json
import random
from urllib.parse import unquote

HEAD_LIMIT = 8192
OUR_ID = "fleet-"  # message ids of the CALLs the proxy sends


class Toxic:
    def __init__(self, name, kind, stations=None, ms=0):
        self.name = name
        self.kind = kind
        self.stations = stations
        self.ms = ms
        self.lifted = asyncio.Event()  # freeze: set when removed

    def hits(self, station):
        return self.stations is None or station in self.stations


class Link:
    """One station's connection through the proxy."""

    def __init__(self, proxy, station, down_r, down_w):
        self.proxy = proxy
        self.station = station
        self.down_r, self.down_w = down_r, down_w
        self.up_w = None
        self.waiting = {}  # message id -> future of the station's answer
        self.buf = bytearray()
        self.swallow = False  # the frames of the current message are an answer to us

    def abort(self):
        for w in (self.down_w, self.up_w):
            if w is not None:
                w.transport.abort()

    async def _delay(self):
        for t in list(self.proxy.toxics.values()):
            if not t.hits(self.station):
                continue
            if t.kind == "freeze":
                await t.lifted.wait()
            elif t.kind == "latency":
                await asyncio.sleep(t.ms / 1000)
            elif t.kind == "jitter":
                await asyncio.sleep(random.random() * t.ms / 1000)

    async def pump(self, reader, writer, upstream):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self._delay()
                if upstream:
                    data = self._from_station(data)
                if data:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.abort()

    def _from_station(self, data):
        """Pass the station's frames on, less its answers to our CALLs. Frame
        boundaries are followed always; payloads are unmasked only to tell
        such an answer (its first bytes) and to read it."""
        self.buf += data
        out = bytearray()
        while True:
            frame = _frame(self.buf)
            if frame is None:
                return bytes(out)
            size, opcode, fin, at, key = frame
            if opcode == 1:  # the first frame of a text message
                head = _unmask(self.buf, at, min(size, at + 24), key) if self.waiting else b""
                self.swallow = head[:4] in (b'[3,"', b'[4,"') and head[4:].startswith(OUR_ID.encode())
                self.answer = bytearray()
            if self.swallow and opcode in (0, 1):
                self.answer += _unmask(self.buf, at, size, key)
                if fin:
                    self.swallow = False
                    self._answered(bytes(self.answer))
            else:
                out += self.buf[:size]
            del self.buf[:size]

    def _answered(self, text):
        try:
            msg = json.loads(text)
        except ValueError:
            return
        future = self.waiting.pop(msg[1], None)
        if future and not future.done():
            future.set_result(msg)

    async def request(self, action, payload, timeout):
        msg_id = OUR_ID + str(next(self.proxy.ids))
        future = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = future
        text = json.dumps([2, msg_id, action, payload]).encode()
        self.down_w.write(_header(len(text)) + text)
        try:
            msg = await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(msg_id, None)
        return msg


def _header(length):
    """A server's (unmasked) TEXT frame header, RFC 6455 5.2."""
    if length < 126:
        return bytes((0x81, length))
    if length < 65536:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def _frame(buf):
    """(size, opcode, fin, payload offset, mask key) of the first whole frame
    in buf, or None while it is incomplete."""
    if len(buf) < 2:
        return None
    fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
    masked, n = buf[1] & 0x80, buf[1] & 0x7F
    at = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = int.from_bytes(buf[2:4], "big"), 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = int.from_bytes(buf[2:10], "big"), 10
    key = b""
    if masked:
        key, at = bytes(buf[at:at + 4]), at + 4
    if len(buf) < at + n:
        return None
    return at + n, opcode, fin, at, key


def _unmask(buf, start, end, key):
    data = bytes(buf[start:end])
    return bytes(b ^ key[i % 4] for i, b in enumerate(data)) if key else data


class Proxy:
    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.toxics = {}
        self.links = {}  # station id -> Link (the newest)
        self.ids = itertools.count(1)
        self.server = None
        self.port = None
        self.connections = 0  # accepted and passed on to the CSMS

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        for link in list(self.links.values()):
            link.abort()
        await self.server.wait_closed()

    def add(self, toxic):
        self.toxics[toxic.name] = toxic
        return toxic

    def remove(self, name):
        toxic = self.toxics.pop(name, None)
        if toxic:
            toxic.lifted.set()

    def drop(self, stations=None):
        """Cut the live links of `stations` (None: all) without a close frame."""
        for station, link in list(self.links.items()):
            if stations is None or station in stations:
                link.abort()

    def refusing(self, station):
        return any(t.kind == "refuse" and t.hits(station) for t in self.toxics.values())

    async def request(self, station, action, payload, timeout=30):
        """Send `station` a CALL as its CSMS would; its answer frame, or raise."""
        link = self.links.get(station)
        if link is None:
            raise ConnectionError("%s is not connected" % station)
        return await link.request(action, payload, timeout)

    async def _serve(self, reader, writer):
        try:
            await self._link(reader, writer)
        except asyncio.CancelledError:  # the proxy stops; asyncio's streams would print it
            writer.transport.abort()

    async def _link(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.transport.abort()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        station = unquote(line[1].rsplit("/", 1)[-1]) if len(line) > 1 else ""
        if self.refusing(station):
            writer.transport.abort()
            return
        link = Link(self, station, reader, writer)
        try:
            up_r, link.up_w = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 30)
        except (asyncio.TimeoutError, OSError):
            writer.transport.abort()
            return
        self.connections += 1
        self.links[station] = link
        link.up_w.write(head)
        try:
            await asyncio.gather(link.pump(reader, link.up_w, True), link.pump(up_r, writer, False))
        finally:
            if self.links.get(station) is link:
                del self.links[station]

