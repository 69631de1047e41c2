"""Servers the WebSocket client tests talk to (CPython only).

A Peer owns an asyncio loop in a background thread, so a test can block on
a client subprocess while the server keeps answering. Handlers record what
the server saw in peer.seen. Besides the real `websockets` server there is
a raw one (asyncio TCP + the sans-I/O websockets.server.ServerProtocol) for
behaviour a well-behaved server never shows: silence, forged headers,
impossible frame lengths.
"""
import asyncio
import base64
import hashlib
import threading

from websockets.asyncio.server import serve
from websockets.server import ServerProtocol

from conftest import free_port

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Peer:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.seen = []
        self.servers = []

    def run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, handler, **kw):
        """A websockets server (no keepalive pings of its own); returns its port."""
        kw.setdefault("subprotocols", ["ocpp2.0.1"])
        port = free_port()

        async def start():
            self.servers.append(await serve(handler, "127.0.0.1", port, ping_interval=None, **kw))
        self.run(start())
        return port

    def serve_raw(self, handler, ssl=None):
        """A plain asyncio TCP server running handler(reader, writer); returns its port."""
        port = free_port()

        async def start():
            self.servers.append(await asyncio.start_server(handler, "127.0.0.1", port, ssl=ssl))
        self.run(start())
        return port

    def stop(self):
        async def shut():
            for s in self.servers:
                s.close()
        self.run(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def read_request(reader):
    """Headers of the client's upgrade request, names lower-cased."""
    headers = {}
    await reader.readline()
    while True:
        line = (await reader.readline()).decode().strip()
        if not line:
            return headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()


def upgrade_response(headers, accept=None, subprotocol="ocpp2.0.1"):
    """A 101 answer to `headers`, with Sec-WebSocket-Accept and the
    subprotocol overridable to forge a bad one (None leaves it out)."""
    if accept is None:
        digest = hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()
        accept = base64.b64encode(digest).decode()
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Accept: " + accept]
    if subprotocol:
        lines.append("Sec-WebSocket-Protocol: " + subprotocol)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def accept_sans_io(reader, writer):
    """Complete the handshake with websockets' sans-I/O protocol, which then
    parses client frames (and queues pongs) for a hand-driven server."""
    proto = ServerProtocol(subprotocols=["ocpp2.0.1"])
    events = []
    while not events:
        data = await reader.read(4096)
        if not data:
            raise EOFError("client left during the handshake")
        proto.receive_data(data)
        events = proto.events_received()
    proto.send_response(proto.accept(events[0]))
    await flush(proto, writer)
    return proto


async def flush(proto, writer):
    for data in proto.data_to_send():
        if data:
            writer.write(data)
    await writer.drain()


async def frames(proto, reader, writer, answer=True):
    """Yield each frame the client sends; with answer=False the protocol's
    automatic replies (pongs, close echo) are withheld, like a dead peer's."""
    while True:
        data = await reader.read(65536)
        if not data:
            return
        proto.receive_data(data)
        for frame in proto.events_received():
            yield frame
        if answer:
            await flush(proto, writer)
        else:
            proto.data_to_send()

