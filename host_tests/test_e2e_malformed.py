"""Issue 3/4 end to end: a raw CSMS (plain `websockets`, since the `ocpp`
package refuses to send invalid payloads) throws malformed frames at the
agent on the unix port; each gets the CALLERROR the specification names and
the station keeps working."""
import asyncio
import json

from websockets.asyncio.server import serve

from malformed import malformed_cases
from stations import StationProcess, run

LARGEST = 4096  # the largest request the station takes whole: the host board's BytesPerMessage
VALID = [2, "ok", "GetVariables", {"getVariableData": [
    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}]


class RawCsms:
    """Answers the boot, then lets the test send any text and read the answer."""

    def __init__(self, boot_answer=None):
        self.boot_answer = boot_answer or {"currentTime": "2026-01-01T00:00:00Z", "interval": 300,
                                           "status": "Accepted"}
        self.ready = asyncio.Event()
        self.ws = None
        self.calls = []

    async def handler(self, ws):
        self.ws = ws
        while True:
            msg = json.loads(await ws.recv())
            if msg[0] != 2:
                await self.answers.put(msg)
                continue
            self.calls.append(msg[2])
            if msg[2] == "BootNotification":
                await ws.send(json.dumps([3, msg[1], self.boot_answer]))
            else:
                await ws.send(json.dumps([3, msg[1], {}]))
                if msg[2] == "StatusNotification":
                    self.ready.set()

    async def start(self):
        self.answers = asyncio.Queue()
        self.server = await serve(self.handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], max_size=2 ** 20)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def ask(self, text, timeout=10):
        await self.ws.send(text)
        return await asyncio.wait_for(self.answers.get(), timeout)


async def with_station(tmp_path, body, **csms_kw):
    csms = await RawCsms(**csms_kw).start()
    station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port).start()
    try:
        return await body(csms, station)
    finally:
        assert await station.stop() == 0, station.log()
        csms.server.close()


def test_frame_level_errors(tmp_path):
    async def body(csms, station):
        await asyncio.wait_for(csms.ready.wait(), 20)
        cases = [
            ("not json at all", "-1", "RpcFrameworkError"),
            ('{"a": 1}', "-1", "RpcFrameworkError"),
            ("[2]", "-1", "RpcFrameworkError"),
            ('[2, "%s", "GetVariables", {}]' % ("x" * 200), "-1", "RpcFrameworkError"),
            ('[7, "m7", "GetVariables", {}]', "m7", "MessageTypeNotSupported"),
            ('[2, "m1", "FlyToTheMoon", {}]', "m1", "NotImplemented"),
            ('[2, "m2", "RequestStartTransaction", {"idToken": {"idToken": "a", "type": "Central"}, "remoteStartId": 1}]',
             "m2", "NotSupported"),
            ('[2, "m3", "GetVariables", "payload"]', "m3", "FormatViolation"),
        ]
        for text, msg_id, code in cases:
            answer = await csms.ask(text)
            assert answer[0] == 4 and answer[1] == msg_id and answer[2] == code, (text, answer)
        await csms.ws.send('[3, "never-sent", {}]')  # a CALLRESULT for an id we never used: ignored
        answer = await csms.ask(json.dumps(VALID))
        assert answer[0] == 3 and answer[1] == "ok"
    run(with_station(tmp_path, body))


def test_schema_violations_get_the_mapped_codes(tmp_path):
    async def body(csms, station):
        await asyncio.wait_for(csms.ready.wait(), 20)
        for n, (action, payload, code) in enumerate(malformed_cases()):
            frame = json.dumps([2, "v%d" % n, action, payload])
            if len(frame.encode()) > LARGEST:  # not read whole: answered from its start (connection.py)
                code = "FormatViolation"
            answer = await csms.ask(frame)
            assert answer[:3] == [4, "v%d" % n, code], (action, payload, answer)
            assert len(answer[3]) <= 255 and answer[4] == {}
        answer = await csms.ask(json.dumps(VALID))
        assert answer[0] == 3
        assert csms.calls.count("BootNotification") == 1  # never restarted
    run(with_station(tmp_path, body))


def test_invalid_boot_answer_is_a_failed_request(tmp_path):
    async def body(csms, station):
        for _ in range(100):
            if "invalid RESULT BootNotification" in station.log():
                break
            await asyncio.sleep(0.1)
        assert "invalid RESULT BootNotification" in station.log()
        await asyncio.sleep(0.5)
        assert "StatusNotification" not in csms.calls  # not taken as Accepted
    run(with_station(tmp_path, body, boot_answer={"currentTime": "now", "interval": 300, "status": "Maybe"}))
