"""A raw CSMS that misbehaves on purpose, one way per connection ending:
each behaviour gets the upgraded connection (websockets' sans-I/O
protocol) and ends it its own way. HostileCsms notes when each connection
attempt came and the close codes the station sent. Used by
test_e2e_reconnect.py and bench/reconnect.py.
"""
import asyncio
import json
import time

from websockets.frames import Close, Opcode
from websockets.protocol import State

from ws_peer import accept_sans_io, flush, frames


async def close_at_once(proto, reader, writer, seen):
    proto.send_close(1000, "unknown station")
    await flush(proto, writer)
    await asyncio.sleep(0.5)


async def going_away(proto, reader, writer, seen):
    proto.send_close(1001, "going away")
    await flush(proto, writer)
    await asyncio.sleep(0.5)


async def tcp_close(proto, reader, writer, seen):
    pass  # the caller closes the socket: no close frame at all


async def dead(proto, reader, writer, seen):
    """No answer, no pong: the station's ping finds the link dead."""
    async for frame in frames(proto, reader, writer, answer=False):
        pass


async def bad_utf8(proto, reader, writer, seen):
    writer.write(bytes((0x81, 2, 0xFF, 0xFE)))  # a text frame that is no UTF-8: we close 1007
    await listen(proto, reader, writer, seen)


async def too_big(proto, reader, writer, seen):
    writer.write(bytes((0x81, 127)) + (1 << 20).to_bytes(8, "big"))  # beyond max_frame: we close 1009
    await listen(proto, reader, writer, seen)


async def answers_then_goes_away(proto, reader, writer, seen):
    """A CSMS that works (it answers the station and asks it something),
    then drains (1001): a connection that went well, so the waits start
    over at the minimum each time."""
    async def answer():
        async for frame in frames(proto, reader, writer):
            msg = json.loads(frame.data) if frame.opcode == Opcode.TEXT else None
            if msg and msg[0] == 2 and proto.state is State.OPEN:
                boot = {"status": "Accepted", "currentTime": "2026-11-29T00:00:00Z", "interval": 300}
                proto.send_text(json.dumps([3, msg[1], boot if msg[2] == "BootNotification" else {}]).encode())
                await flush(proto, writer)
    answering = asyncio.ensure_future(answer())
    proto.send_text(json.dumps([2, "q1", "GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}]).encode())
    await flush(proto, writer)
    await asyncio.sleep(0.5)
    proto.send_close(1001, "draining")
    await flush(proto, writer)
    await asyncio.sleep(0.3)
    answering.cancel()


async def listen(proto, reader, writer, seen):
    async for frame in frames(proto, reader, writer):
        if frame.opcode == Opcode.CLOSE:
            seen.append(Close.parse(frame.data).code)


async def refuse_upgrade(reader, writer):
    """Not a behaviour on the link: the upgrade itself is refused (HTTP 503),
    so no WebSocket is established and the attempt failed."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


class HostileCsms:
    def __init__(self, behave):
        self.behave = behave  # a behaviour on the upgraded link, or refuse_upgrade
        self.attempts = []  # time.monotonic() of each connection
        self.closes = []  # close codes the station sent

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def handle(self, reader, writer):
        self.attempts.append(time.monotonic())
        try:
            if self.behave is refuse_upgrade:
                return await refuse_upgrade(reader, writer)
            proto = await accept_sans_io(reader, writer)
            await self.behave(proto, reader, writer, self.closes)
        except (EOFError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stop(self):
        self.server.close()
