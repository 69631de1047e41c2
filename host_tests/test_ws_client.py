"""csagent.ws against real servers, with the client on CPython and on the
MicroPython unix port (from .mpy, 128 KB heap).

The client runs DRIVER in a subprocess: it reads its config file, connects,
performs the test's steps and prints one JSON line [[step, result, ms], ...]; a step that raises
records {"type", "text", "code", "reason"} and the next step still runs.
"""
import asyncio
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time
from http import HTTPStatus

import pytest
import trustme
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, Opcode

from conftest import ROOT, run_micropython
from ws_peer import Peer, accept_sans_io, flush, frames, read_request, upgrade_response

DRIVER = r'''
import asyncio, binascii, hashlib, json, sys
from csagent import tls, ws_handshake
from csagent.compat import ticks_diff, ticks_ms


def summary(data):
    """A message's text when short, else its size and SHA-1 (of its bytes: no copy as str)."""
    if len(data) <= 64:
        return str(data, "utf-8")
    return "%d:%s" % (len(data), binascii.hexlify(hashlib.sha1(data).digest()).decode())


async def step(conn, op, args):
    if op == "send":
        await conn.send(args[0])
    elif op == "send_fill":
        await conn.send(args[1] * args[0])
    elif op == "send_repeat":
        for _ in range(args[0]):
            await conn.send(args[2] * args[1])
    elif op == "send_together":
        await asyncio.gather(*[conn.send(c * args[0]) for c in args[1]])
    elif op == "send_parts_failing":  # a message whose pieces fail after its first fragment went
        def parts():
            yield args[1] * args[0]
            raise MemoryError("memory allocation failed")
        await conn.send_parts(parts())
    elif op == "recv":
        data, size = await conn.recv()
        return {"skipped": size, "start": str(data, "utf-8")} if len(data) < size else summary(data)
    elif op == "close":
        await conn.close(*args)
    elif op == "ping_interval":
        conn.ping_interval = args[0]
    elif op == "soft_limit":
        conn.soft_limit = args[0]
    elif op == "close_during_recv":  # the agent's shutdown: one task reads, another closes
        reader = asyncio.create_task(conn.recv())
        await asyncio.sleep(0.2)
        await conn.close(*args)
        return summary((await reader)[0])


async def main(cfg):
    log = []
    t0 = ticks_ms()
    try:
        ctx = tls.client_context(**cfg["tls"]) if "tls" in cfg else None
        conn = await ws_handshake.connect(cfg["url"], ssl=ctx, **cfg.get("connect", {}))
    except Exception as e:
        log.append(["connect", {"type": type(e).__name__, "text": e.args[0]}, ticks_diff(ticks_ms(), t0)])
        print(json.dumps(log))
        return
    log.append(["connect", None, ticks_diff(ticks_ms(), t0)])
    for s in cfg["steps"]:
        t = ticks_ms()
        try:
            result = await step(conn, s[0], s[1:])
        except Exception as e:
            result = {"type": type(e).__name__, "text": str(e.args[0]) if e.args else "",
                      "code": getattr(e, "code", None), "reason": getattr(e, "reason", None)}
        log.append([s[0], result, ticks_diff(ticks_ms(), t)])
    print(json.dumps(log))


with open(sys.argv[1]) as f:
    asyncio.run(main(json.load(f)))
'''


def summary(text):
    return text if len(text) <= 64 else "%d:%s" % (len(text), hashlib.sha1(text.encode()).hexdigest())


def closed(code, reason=None):
    """Matcher for a step that raised ConnectionClosed with `code`."""
    def match(result):
        return (isinstance(result, dict) and result["type"] == "ConnectionClosed" and result["code"] == code
                and (reason is None or result["reason"] == reason))
    return match


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    path = tmp_path_factory.mktemp("wsdriver") / "driver.py"
    path.write_text(DRIVER)
    return str(path)


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.stop()


@pytest.fixture(params=["cpython", "micropython"])
def client(request, driver, host_build, tmp_path):
    """client(cfg) -> list of [step, result, ms] from the client on one runtime.
    The config goes in a file: the unix port's launcher dies on an argument
    of 255 characters or more ("FATAL: uncaught NLR")."""
    def run(cfg, timeout=30, heap="128K"):
        arg = str(tmp_path / "cfg.json")
        with open(arg, "w") as f:
            json.dump(cfg, f)
        if request.param == "cpython":
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
            r = subprocess.run([sys.executable, driver, arg], capture_output=True, text=True,
                               timeout=timeout, env=env)
        else:
            r = run_micropython([driver, arg], [host_build], heap=heap, timeout=timeout)
        assert r.returncode == 0, r.stdout + r.stderr
        run.output = r.stdout + r.stderr
        return json.loads(r.stdout.strip().splitlines()[-1])
    run.runtime = request.param
    return run


def results(log):
    return [entry[1] for entry in log]


def wait_seen(peer, n, timeout=5):
    """peer.seen once it holds n records (server handlers finish after the client)."""
    end = time.monotonic() + timeout
    while len(peer.seen) < n and time.monotonic() < end:
        time.sleep(0.02)
    return peer.seen


def url(port, scheme="ws"):
    return "%s://127.0.0.1:%d/ocpp/CS001" % (scheme, port)


# -- plain ws:// against the websockets server ------------------------------

async def echo(conn):
    try:
        async for msg in conn:
            await conn.send(msg)
    except ConnectionClosed:  # closed with an error code: the test checks which
        pass


def serve_echo(peer, **kw):
    """Echo server recording the close code and reason the client sent."""
    async def handler(conn):
        await echo(conn)
        await conn.wait_closed()
        peer.seen.append(("closed", conn.close_code, conn.close_reason))
    return peer.serve(handler, **kw)


def test_echo_large_concurrent_and_client_close(peer, client):
    port = serve_echo(peer)
    large = 60000 if client.runtime == "cpython" else 24000  # MicroPython: the echo's send and receive share 128 KB
    log = client({"url": url(port), "steps": [
        ["send", "hello"], ["recv"],
        ["send_fill", large, "x"], ["recv"],
        ["send_together", 3000, ["a", "b", "c"]], ["recv"], ["recv"], ["recv"],
        ["close", 1000, "bye"], ["close"], ["send", "late"]]})
    got = results(log)
    assert got[:5] == [None, None, "hello", None, summary("x" * large)], log
    assert sorted(got[6:9]) == sorted(summary(c * 3000) for c in "abc"), log  # frames never interleaved
    assert got[9:11] == [None, None], log  # close, then close again: idempotent
    assert closed(1000)(got[11]), log
    assert wait_seen(peer, 1) == [("closed", 1000, "bye")]


def test_60kb_message_echoed_or_refused_with_1009_when_heap_is_short(peer, client):
    """A message is received once, as bytes, never also copied into a str:
    a 60 KB echo fits a 128 KB heap; in a 56 KB heap the same message from
    the server cannot be held, and it is refused with 1009."""
    port = serve_echo(peer)
    log = client({"url": url(port), "steps": [["send_fill", 60000, "z"], ["recv"], ["close"]]})
    assert results(log)[2] == summary("z" * 60000), log
    assert wait_seen(peer, 1) == [("closed", 1000, "")]
    if client.runtime == "cpython":
        return

    async def handler(conn):
        await conn.send("z" * 60000)
        await conn.wait_closed()
        peer.seen.append(("closed", conn.close_code, conn.close_reason))
    port = peer.serve(handler)
    log = client({"url": url(port), "steps": [["recv"]]}, heap="56K")
    assert closed(1009)(results(log)[1]), log
    assert wait_seen(peer, 2)[1] == ("closed", 1009, "message too big for free memory")


def test_message_over_soft_limit_is_skipped_and_the_link_goes_on(peer, client):
    big = '[2,"id-7","SetVariables",' + "x" * 9000 + "]"

    async def handler(conn):
        await conn.recv()
        await conn.send(big)
        await conn.send([big[:4000], big[4000:]])  # the same, fragmented
        await conn.send("after")
        await conn.wait_closed()
    port = peer.serve(handler)
    log = client({"url": url(port), "steps": [["soft_limit", 4096], ["send", "go"], ["recv"], ["recv"], ["recv"]]})
    got = results(log)
    for tooks in got[3:5]:
        assert tooks["skipped"] == len(big) and tooks["start"].startswith('[2,"id-7","SetVariables"'), log
    assert got[5] == "after", log


def test_message_failing_mid_way_closes_the_link_with_1011(peer, client):
    """A half-sent message cannot be ended, and any frame after it would
    break the stream: the link is dropped (the peer sees no close frame)."""
    port = serve_echo(peer)
    log = client({"url": url(port), "steps": [["send_parts_failing", 2000, "a"], ["send", "x"]]})
    got = results(log)
    assert closed(1011, "message aborted: memory allocation failed")(got[1]) and closed(1011)(got[2]), log
    assert wait_seen(peer, 1) == [("closed", 1006, "")]


def test_server_initiated_close(peer, client):
    async def handler(conn):
        await conn.send("going away")
        await conn.close(4001, "maintenance")
        peer.seen.append(("echoed", conn.close_code))
    port = peer.serve(handler)
    log = client({"url": url(port), "steps": [["recv"], ["recv"], ["send", "x"]]})
    got = results(log)
    assert got[1] == "going away", log
    assert closed(4001, "maintenance")(got[2]) and closed(4001)(got[3]), log
    assert wait_seen(peer, 1) == [("echoed", 4001)]


def test_close_while_another_task_receives(peer, client):
    port = serve_echo(peer)
    log = client({"url": url(port), "steps": [["close_during_recv", 1001, "shutdown"]]})
    _, result, ms = log[1]
    assert closed(1001)(result) and ms < 1500, log
    assert wait_seen(peer, 1) == [("closed", 1001, "shutdown")]


def test_fragmented_message_reassembled(peer, client):
    async def handler(conn):
        await conn.send(["frag", "ment", "ed \u00e9"])
        await conn.send(["p" * 5000, "q" * 5000, "r" * 5000])
        await conn.wait_closed()
    port = peer.serve(handler)
    log = client({"url": url(port), "steps": [["recv"], ["recv"], ["close"]]})
    assert results(log)[1:] == ["fragmented \u00e9", summary("p" * 5000 + "q" * 5000 + "r" * 5000), None], log


def test_server_ping_gets_pong(peer, client):
    async def handler(conn):
        waiter = await conn.ping(b"are you there")
        latency = await asyncio.wait_for(waiter, 3)
        await conn.send("pong after %.3fs" % latency)
        await conn.wait_closed()
    port = peer.serve(handler)
    log = client({"url": url(port), "steps": [["recv"], ["close"]]})
    assert results(log)[1].startswith("pong after"), log


def test_message_over_max_frame_refused_with_1009(peer, client):
    async def handler(conn):
        await conn.send("y" * 100000)
        await conn.wait_closed()
        peer.seen.append(("closed", conn.close_code))
    port = peer.serve(handler)
    log = client({"url": url(port), "connect": {"max_frame": 65536}, "steps": [["recv"]]})
    assert closed(1009)(results(log)[1]), log
    assert wait_seen(peer, 1) == [("closed", 1009)]


def test_fragments_over_max_frame_refused_with_1009(peer, client):
    async def handler(conn):
        await conn.send(["f" * 6000, "g" * 6000, "h" * 6000])  # each fits, together they do not
        await conn.wait_closed()
        peer.seen.append(("closed", conn.close_code))
    port = peer.serve(handler)
    log = client({"url": url(port), "connect": {"max_frame": 16384}, "steps": [["recv"]]})
    assert closed(1009)(results(log)[1]), log
    assert wait_seen(peer, 1) == [("closed", 1009)]


def test_subprotocol_not_selected_refused(peer, client):
    port = serve_echo(peer, subprotocols=None)  # accepts without Sec-WebSocket-Protocol
    log = client({"url": url(port), "steps": []})
    err = results(log)[0]
    assert err["type"] == "WebSocketError" and "subprotocol" in err["text"], log


def test_basic_auth_sent_and_401_hides_password(peer, client):
    good = "Basic " + base64.b64encode(b"CS001:s3cret-Pa55").decode()

    def check(conn, request):
        peer.seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != good:
            return conn.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
    port = serve_echo(peer, process_request=check)
    log = client({"url": url(port), "connect": {"user": "CS001", "password": "s3cret-Pa55"},
                  "steps": [["send", "in"], ["recv"], ["close"]]})
    assert results(log) == [None, None, "in", None], log
    log = client({"url": url(port), "connect": {"user": "CS001", "password": "wrong-Pa55"}, "steps": []})
    err = results(log)[0]
    assert err["type"] == "WebSocketError" and "401" in err["text"], log
    assert "wrong-Pa55" not in client.output and "Pa55" not in err["text"]
    assert wait_seen(peer, 3)[0] == good and peer.seen[1] == ("closed", 1000, "")


# -- a raw server that misbehaves on purpose --------------------------------

def serve_forged_upgrade(peer, **forge):
    async def handler(reader, writer):
        writer.write(upgrade_response(await read_request(reader), **forge))
        await writer.drain()
        await reader.read(100)
        writer.close()
    return peer.serve_raw(handler)


@pytest.mark.parametrize("forge,words", [
    ({"accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, "Sec-WebSocket-Accept"),
    ({"subprotocol": "ocpp1.6"}, "'ocpp1.6'"),
])
def test_forged_upgrade_refused(peer, client, forge, words):
    port = serve_forged_upgrade(peer, **forge)
    err = results(client({"url": url(port), "steps": []}))[0]
    assert err["type"] == "WebSocketError" and words in err["text"], err


def test_endless_header_line_refused_without_filling_the_heap(peer, client):
    async def handler(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nX-Junk: ")
        for _ in range(64):  # 1 MB of one header line, never ended
            writer.write(b"j" * 16384)
            await writer.drain()
        writer.close()
    port = peer.serve_raw(handler)
    err = results(client({"url": url(port), "steps": []}))[0]
    assert err["type"] == "WebSocketError" and "longer than 1024 bytes" in err["text"], err


def test_client_pings_when_idle_at_live_interval(peer, client):
    async def handler(reader, writer):
        proto = await accept_sans_io(reader, writer)
        pings = []

        async def watch():
            async for frame in frames(proto, reader, writer):  # answers each ping with a pong
                if frame.opcode is Opcode.PING:
                    pings.append(frame)
        task = asyncio.ensure_future(watch())
        await asyncio.sleep(2.6)
        proto.send_text(("pings=%d" % len(pings)).encode())
        await flush(proto, writer)
        await task
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "steps": [["ping_interval", 1], ["recv"], ["close"]]})
    assert results(log)[2] == "pings=2", log  # at ~1 s and ~2 s of silence


def test_dead_peer_detected_after_two_intervals(peer, client):
    async def handler(reader, writer):
        proto = await accept_sans_io(reader, writer)
        async for frame in frames(proto, reader, writer, answer=False):  # silent: no pong
            peer.seen.append(frame.opcode.name)
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "connect": {"ping_interval": 1}, "steps": [["recv"]]})
    _, result, ms = log[1]
    assert closed(1006)(result), log
    assert 1800 <= ms <= 3500, log
    assert wait_seen(peer, 1)[0] == "PING"


def test_close_against_silent_peer_is_bounded(peer, client):
    async def handler(reader, writer):
        proto = await accept_sans_io(reader, writer)
        async for frame in frames(proto, reader, writer, answer=False):  # never echoes the close
            peer.seen.append(frame.opcode.name)
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "steps": [["close"], ["recv"]]})
    assert results(log)[1] is None and 1800 <= log[1][2] <= 3500, log  # CLOSE_WAIT is 2 s
    assert closed(1000)(results(log)[2]), log
    assert wait_seen(peer, 1) == ["CLOSE"]


def test_send_to_a_peer_that_never_reads_is_bounded(peer, client):
    async def handler(reader, writer):
        await accept_sans_io(reader, writer)
        await asyncio.sleep(60)  # reads nothing more: the socket buffers fill up
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "connect": {"timeout": 1}, "steps": [["send_repeat", 400, 60000, "x"]]},
                 timeout=60)
    _, result, ms = log[1]
    assert closed(1006)(result) and result["reason"].startswith("send failed"), log
    assert ms < 30000, log


def test_handshake_timeout(peer, client):
    async def handler(reader, writer):
        await reader.read()  # takes the TCP connection, never answers the upgrade
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "connect": {"timeout": 1}, "steps": []})
    err, ms = log[0][1], log[0][2]
    assert err["type"] == "WebSocketError" and "timed out" in err["text"] and ms < 2500, log


def test_impossible_length_refused_before_buffering(peer, client):
    async def handler(reader, writer):
        proto = await accept_sans_io(reader, writer)
        writer.write(bytes((0x81, 0x7F)) + (2 ** 40).to_bytes(8, "big") + b"xxxx")
        await writer.drain()
        async for frame in frames(proto, reader, writer, answer=False):
            if frame.opcode is Opcode.CLOSE:
                peer.seen.append(Close.parse(frame.data).code)
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "steps": [["recv"]]})
    assert closed(1009)(results(log)[1]), log  # a buffer attempt would be a MemoryError
    assert wait_seen(peer, 1) == [1009]


@pytest.mark.parametrize("frame,code", [
    (b"\x82\x03abc", 1003),  # binary message
    (b"\x83\x00", 1002),  # reserved opcode
    (b"\x81\x83\x01\x02\x03\x04`ab", 1002),  # masked server frame
    (b"\xc1\x01a", 1002),  # RSV1 without an extension
    (b"\x09\x00", 1002),  # fragmented ping
    (b"\x89\x7e\x00\x7e" + b"p" * 126, 1002),  # ping over 125 bytes
    (b"\x80\x01a", 1002),  # continuation with nothing to continue
    (b"\x81\x02\xff\xfe", 1007),  # text that is not UTF-8
])
def test_protocol_violations_close_with_code(peer, client, frame, code):
    async def handler(reader, writer):
        proto = await accept_sans_io(reader, writer)
        writer.write(frame)
        await writer.drain()
        async for got in frames(proto, reader, writer):  # echoes the client's close
            if got.opcode is Opcode.CLOSE:
                peer.seen.append(Close.parse(got.data).code)
    port = peer.serve_raw(handler)
    log = client({"url": url(port), "steps": [["recv"]]})
    assert closed(code)(results(log)[1]) and log[1][2] < 1500, log
    assert wait_seen(peer, 1) == [code]


# -- wss:// with certificates from trustme ----------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca, other, client_ca = trustme.CA(), trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    (d / "ca.der").write_bytes(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    for name, issuer, ident in (("good", ca, "127.0.0.1"), ("stranger", other, "127.0.0.1"),
                                ("wrongname", ca, "csms.example")):
        issuer.issue_cert(ident).private_key_and_cert_chain_pem.write_to_path(str(d / (name + ".pem")))
    station = client_ca.issue_cert("cs001.example", common_name="CS001")
    station.cert_chain_pems[0].write_to_path(str(d / "station.crt"))
    station.private_key_pem.write_to_path(str(d / "station.key"))
    client_ca.cert_pem.write_to_path(str(d / "client_ca.pem"))
    return d


def server_ssl(pki, name, client_ca=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / (name + ".pem")))
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(str(pki / "client_ca.pem"))
    return ctx


@pytest.mark.parametrize("ca", ["ca.pem", "ca.der"])
def test_wss_echo_with_trusted_ca(peer, client, pki, ca):
    port = serve_echo(peer, ssl=server_ssl(pki, "good"))
    log = client({"url": url(port, "wss"), "tls": {"cafile": str(pki / ca)},
                  "steps": [["send_fill", 20000, "s"], ["recv"], ["close"]]})
    assert results(log) == [None, None, summary("s" * 20000), None], log
    assert wait_seen(peer, 1) == [("closed", 1000, "")]


@pytest.mark.parametrize("cert", ["stranger", "wrongname"])
def test_wss_refuses_untrusted_or_misnamed_server(peer, client, pki, cert):
    port = serve_echo(peer, ssl=server_ssl(pki, cert))
    err = results(client({"url": url(port, "wss"), "tls": {"cafile": str(pki / "ca.pem")}, "steps": []}))[0]
    assert err["type"] == "WebSocketError" and "certificate" in err["text"].lower(), err


def test_wss_without_context_refused(client):
    err = results(client({"url": "wss://127.0.0.1:9/", "steps": []}))[0]
    assert err["type"] == "WebSocketError" and "SSL context" in err["text"], err


def test_client_certificate_presented_and_required(peer, client, pki):
    async def handler(conn):
        cert = conn.transport.get_extra_info("peercert")
        peer.seen.append(dict(pair[0] for pair in cert["subject"])["commonName"])
        await echo(conn)
    port = peer.serve(handler, ssl=server_ssl(pki, "good", client_ca=True))
    tls = {"cafile": str(pki / "ca.pem"), "certfile": str(pki / "station.crt"), "keyfile": str(pki / "station.key")}
    log = client({"url": url(port, "wss"), "tls": tls, "steps": [["send", "mutual"], ["recv"], ["close"]]})
    assert results(log) == [None, None, "mutual", None], log
    assert wait_seen(peer, 1) == ["CS001"]
    err = results(client({"url": url(port, "wss"), "tls": {"cafile": str(pki / "ca.pem")}, "steps": []}))[0]
    assert err["type"] == "WebSocketError", err
