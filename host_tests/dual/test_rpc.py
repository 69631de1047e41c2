"""OCPP-J framing and CALLERROR codes, over an in-memory WebSocket."""
import asyncio
import json

from csagent.rpc import CallError, CallFailed, Rpc
from csagent.ws import ConnectionClosed


class Link:
    """A WebSocket that replays `incoming` then closes, recording what we send."""

    def __init__(self, incoming=()):
        self.incoming = list(incoming)
        self.sent = []
        self.more = asyncio.Event()

    async def recv(self):
        while not self.incoming:
            self.more.clear()
            await self.more.wait()
        item = self.incoming.pop(0)
        if item is None:
            raise ConnectionClosed(1000, "")
        data = item.encode()
        return data, len(data)

    def feed(self, text):
        self.incoming.append(text)
        self.more.set()

    async def send_parts(self, parts):
        self.sent.append(json.loads("".join(parts)))


def serve(frames, handlers=None, gate=None, check=None):
    link = Link(list(frames) + [None])
    rpc = Rpc((handlers or {"GetVariables": lambda p, size: {"getVariableResult": []}}).get, check, gate)
    rpc.attach(link)

    async def go():
        try:
            await rpc.serve()
        except ConnectionClosed:
            pass
    asyncio.run(go())
    return link.sent


def codes(sent):
    return [(f[1], f[2]) if f[0] == 4 else (f[1], "RESULT") for f in sent]


def test_frame_errors():
    sent = serve([
        "not json", "{}", "[]", '[2, "a"]', '[9, "b", "x", {}]', '[2, 7, "GetVariables", {}]',
        '[2, "%s", "GetVariables", {}]' % ("x" * 37), '[2, "c", "GetVariables"]', '[true, "d", "X", {}]',
        '[2, "e", 5, {}]', '"text"', "[2, \"f\", \"GetVariables\", [1]]",
    ])
    assert codes(sent) == [
        ("-1", "RpcFrameworkError"), ("-1", "RpcFrameworkError"), ("-1", "RpcFrameworkError"),
        ("-1", "RpcFrameworkError"), ("b", "MessageTypeNotSupported"), ("-1", "RpcFrameworkError"),
        ("-1", "RpcFrameworkError"), ("c", "RpcFrameworkError"), ("-1", "RpcFrameworkError"),
        ("e", "RpcFrameworkError"), ("-1", "RpcFrameworkError"), ("f", "FormatViolation"),
    ]
    for frame in sent:
        assert len(frame) == 5 and frame[4] == {} and len(frame[3]) <= 255


def test_unknown_and_unsupported_actions():
    sent = serve(['[2, "a", "NoSuchAction", {}]', '[2, "b", "RequestStartTransaction", {}]'])
    assert codes(sent) == [("a", "NotImplemented"), ("b", "NotSupported")]


def test_handler_result_and_errors():
    def boom(p, size):
        raise ValueError("bug")

    def refuse(p, size):
        raise CallError("OccurrenceConstraintViolation", "too many items")
    sent = serve(['[2, "a", "GetVariables", {}]', '[2, "b", "Boom", {}]', '[2, "c", "Refuse", {}]'],
                 {"GetVariables": lambda p, size: {"size": size}, "Boom": boom, "Refuse": refuse})
    assert sent[0] == [3, "a", {"size": 28}]
    assert codes(sent[1:]) == [("b", "InternalError"), ("c", "OccurrenceConstraintViolation")]


def test_gate_and_schema_check_run_before_the_handler():
    ran = []
    sent = serve(['[2, "a", "GetVariables", {}]', '[2, "b", "GetVariables", {"bad": 1}]'],
                 {"GetVariables": lambda p, size: ran.append(p) or {}},
                 gate=lambda action: None,
                 check=lambda action, p, response: ("FormatViolation", "bad") if "bad" in p else None)
    assert codes(sent) == [("a", "RESULT"), ("b", "FormatViolation")] and ran == [{}]
    sent = serve(['[2, "a", "GetVariables", {}]'], gate=lambda action: ("SecurityError", "rejected"))
    assert codes(sent) == [("a", "SecurityError")]


def test_call_result_error_stray_and_timeout():
    async def go():
        link = Link()
        rpc = Rpc({}.get, None)
        rpc.attach(link)
        reader = asyncio.create_task(rpc.serve())
        task = asyncio.create_task(rpc.call("Heartbeat", {}, 5))
        await asyncio.sleep(0.01)
        call = link.sent[-1]
        assert call[0] == 2 and call[2] == "Heartbeat" and len(call[1]) <= 36
        link.feed('[3, "stray", {}]')  # an id we never sent: ignored
        link.feed(json.dumps([3, call[1], {"currentTime": "x"}]))
        assert await task == {"currentTime": "x"}
        task = asyncio.create_task(rpc.call("Heartbeat", {}, 5))
        await asyncio.sleep(0.01)
        link.feed(json.dumps([4, link.sent[-1][1], "GenericError", "", {}]))
        try:
            await task
            raise AssertionError("CALLERROR not raised")
        except CallFailed:
            pass
        try:
            await rpc.call("Heartbeat", {}, 0.05)
            raise AssertionError("no timeout")
        except CallFailed as e:
            assert e.args[0] == "timeout"
        ids = set(f[1] for f in link.sent)
        assert len(ids) == 3  # unique message ids
        link.feed(None)
        try:
            await reader
        except ConnectionClosed:
            pass
    asyncio.run(go())


def test_one_call_in_flight():
    async def go():
        link = Link()
        rpc = Rpc({}.get, None)
        rpc.attach(link)
        reader = asyncio.create_task(rpc.serve())
        first = asyncio.create_task(rpc.call("Heartbeat", {}, 5))
        second = asyncio.create_task(rpc.call("Heartbeat", {}, 5))
        await asyncio.sleep(0.02)
        assert len(link.sent) == 1  # the second waits behind the first
        link.feed(json.dumps([3, link.sent[0][1], {}]))
        await first
        await asyncio.sleep(0.02)
        assert len(link.sent) == 2
        link.feed(json.dumps([3, link.sent[1][1], {}]))
        await second
        link.feed(None)
        try:
            await reader
        except ConnectionClosed:
            pass
    asyncio.run(go())


def test_invalid_callresult_fails_the_call():
    async def go():
        link = Link()
        rpc = Rpc({}.get, lambda action, p, response: ("TypeConstraintViolation", "x") if response else None)
        rpc.attach(link)
        reader = asyncio.create_task(rpc.serve())
        task = asyncio.create_task(rpc.call("Heartbeat", {}, 5))
        await asyncio.sleep(0.01)
        link.feed(json.dumps([3, link.sent[0][1], {"currentTime": 5}]))
        try:
            await task
            raise AssertionError("invalid CALLRESULT accepted")
        except CallFailed:
            pass
        link.feed(None)
        try:
            await reader
        except ConnectionClosed:
            pass
    asyncio.run(go())
