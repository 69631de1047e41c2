"""Issue 11 end to end: every way a connection ends is followed by a wait
(B04, OCPP-J 2.0.1 Part 4 reconnecting), on the MicroPython unix port,
against a raw CSMS that misbehaves on purpose. The station runs with
RetryBackOffWaitMinimum 1 s, no random spread and two doublings, so the
attempts must come at least 1, 2, 4, 4 ... seconds apart while the CSMS
never answers, and at least 1 s apart when it answered each time.
"""
import asyncio
import json
import time

from websockets.frames import Close, Opcode
from websockets.protocol import State

from stations import StationProcess, defaults_with, run
from ws_peer import accept_sans_io, flush, frames

WAITS = (1, 2, 4, 4, 4)  # RetryBackOffWaitMinimum 1, RepeatTimes 2, RandomRange 0
WATCH = 13  # seconds each station is watched


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


class HostileCsms:
    def __init__(self, behave):
        self.behave = behave
        self.attempts = []  # time.monotonic() of each connection
        self.closes = []  # close codes the station sent

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def handle(self, reader, writer):
        self.attempts.append(time.monotonic())
        try:
            proto = await accept_sans_io(reader, writer)
            await self.behave(proto, reader, writer, self.closes)
        except (EOFError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self):
        self.server.close()


async def watch(tmp_path, behave):
    csms = await HostileCsms(behave).start()
    name = behave.__name__
    defaults = defaults_with(tmp_path / (name + ".jsonl"), RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0,
                             RetryBackOffRepeatTimes=2, WebSocketPingInterval=1)
    station = await StationProcess(tmp_path / name, "ws://127.0.0.1:%d" % csms.port, defaults=defaults).start()
    try:
        await asyncio.sleep(WATCH)
    finally:
        await station.stop()
        await csms.stop()
    return name, csms, station.log()


def test_every_way_a_connection_ends_is_followed_by_a_wait(tmp_path):
    never_answered = (close_at_once, going_away, tcp_close, dead, bad_utf8, too_big)

    async def all_at_once():
        return await asyncio.gather(*(watch(tmp_path, b) for b in never_answered + (answers_then_goes_away,)))
    results = run(all_at_once())
    for name, csms, log in results:
        gaps = [b - a for a, b in zip(csms.attempts, csms.attempts[1:])]
        assert len(gaps) >= 2, (name, gaps, log)
        if name == "answers_then_goes_away":
            assert all(g >= 1 for g in gaps), (name, gaps)  # never at once after a loss
            assert max(gaps) < 3, (name, gaps)  # a good connection starts the waits over
            assert len(gaps) >= 4, (name, gaps)
        else:
            for n, gap in enumerate(gaps):  # each failed attempt doubles the wait, two doublings at most
                assert gap >= WAITS[n] - 0.05, (name, gaps)
            assert len(gaps) <= 4, (name, gaps)  # 1 + 2 + 4 + 4 = 11 s: no more fit in 13 s
            assert "reconnect in 4" in log, (name, log)
    closes = {name: csms.closes for name, csms, _ in results}
    assert 1007 in closes["bad_utf8"] and 1009 in closes["too_big"], closes
