"""The modem played on the host (tools/cellmodem.py, ppp_peer.py, user_tcp.py):
the agent's own dialer (csagent.board_modem) against it over a loopback TCP line,
PPP negotiated frame by frame, TCP relayed to a real server on 127.0.0.1.
The emulated Pico W runs all of it against lwIP (test_emulated_pico.py)."""
import asyncio
import hashlib
import os
import struct
import subprocess
import sys

import pytest

import cellmodem
import ppp_peer
import user_tcp
from conftest import ROOT
from csagent.board_modem import Modem, ModemError
from ppp_peer import CHAP, CONF_ACK, CONF_NAK, CONF_REQ, IPCP, LCP, PAP, Deframer, frame, option, packet

SECRET = "apn-secret-42"
APN = {"apn": "internet.test", "apnAuthentication": "PAP", "apnUserName": "csagent", "apnPassword": SECRET,
       "simPin": 4711}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


# --- HDLC framing ---------------------------------------------------------

def test_frames_round_trip_and_damage_is_dropped():
    info = bytes(range(256))  # every byte, flags and escapes included
    wire = frame(IPCP, info)
    assert wire[0] == wire[-1] == 0x7E and 0x7E not in wire[1:-1]
    assert all(b >= 0x20 for b in wire[1:-1])  # control characters escaped
    assert Deframer().feed(wire) == [(IPCP, info)]
    bad = bytearray(wire)
    bad[10] ^= 0x01
    assert Deframer().feed(bytes(bad)) == []
    d = Deframer()  # split anywhere, two frames back to back
    both = wire + frame(LCP, b"x" * 4)
    assert d.feed(both[:7]) + d.feed(both[7:]) == [(IPCP, info), (LCP, b"xxxx")]


def test_fcs_matches_rfc1662_good_residue():
    body = b"\xff\x03\xc0\x21\x01\x01\x00\x04"
    fcs = ppp_peer.fcs16(body) ^ 0xFFFF
    assert ppp_peer.fcs16(body + struct.pack("<H", fcs)) == 0xF0B8


# --- PPP negotiation, as a board's PPP client would -----------------------

class Client:
    """The board's side, written out frame by frame."""

    def __init__(self, auth=None, credentials=None):
        self.sent = []
        self.events = []
        self.ip = []
        self.peer = ppp_peer.PppPeer(self.sent.append, self.ip.append, self.events.append, auth, credentials)
        self.peer.start(0.0)

    def take(self):
        frames = Deframer().feed(b"".join(self.sent))
        self.sent.clear()
        return frames

    def send(self, protocol, code, ident, data=b""):
        self.peer.receive(frame(protocol, packet(code, ident, data)))


def open_lcp(c, magic=b"\x11\x22\x33\x44"):
    (proto, info), = c.take()  # the modem's Configure-Request
    assert proto == LCP and info[0] == CONF_REQ
    c.send(LCP, CONF_ACK, info[1], info[4:])
    c.send(LCP, CONF_REQ, 1, option(1, b"\x05\xdc") + option(5, magic))
    return info


def test_lcp_ipcp_hand_the_board_its_address_and_dns():
    c = Client()
    open_lcp(c)
    frames = c.take()
    assert frames[0][0] == LCP and frames[0][1][0] == CONF_ACK
    proto, ipcp_req = frames[1]
    assert proto == IPCP and ipcp_req[0] == CONF_REQ
    c.send(IPCP, CONF_ACK, ipcp_req[1], ipcp_req[4:])
    zero = b"\0\0\0\0"
    c.send(IPCP, CONF_REQ, 7, option(3, zero) + option(129, zero) + option(131, zero))
    (proto, nak), = c.take()
    assert proto == IPCP and nak[0] == CONF_NAK
    assert nak[4:] == option(3, ppp_peer.BOARD_IP) + option(129, ppp_peer.DNS[0]) + option(131, ppp_peer.DNS[1])
    c.send(IPCP, CONF_REQ, 8, nak[4:])
    assert c.take()[0][1][0] == CONF_ACK
    assert c.events == ["up"]


def test_lcp_compressions_and_accm_are_refused():
    c = Client()
    c.take()
    c.send(LCP, CONF_REQ, 1, option(2, b"\0\0\0\0") + option(7, b"") + option(8, b"") + option(5, b"abcd"))
    (proto, rej), = c.take()
    assert proto == LCP and rej[0] == ppp_peer.CONF_REJ
    assert rej[4:] == option(2, b"\0\0\0\0") + option(7, b"") + option(8, b"")


@pytest.mark.parametrize("password,accepted", [(SECRET, True), ("wrong", False)])
def test_pap_checks_the_credentials(password, accepted):
    c = Client("PAP", ("csagent", SECRET))
    req = open_lcp(c)
    assert option(3, struct.pack(">H", PAP)) in req[4:]
    c.take()
    user, key = b"csagent", password.encode()
    c.send(PAP, 1, 5, bytes([len(user)]) + user + bytes([len(key)]) + key)
    frames = c.take()
    assert frames[0][0] == PAP and frames[0][1][0] == (2 if accepted else 3)
    assert c.events[0] == "auth PAP user csagent " + ("accepted" if accepted else "refused")
    assert (len(frames) == 2 and frames[1][0] == IPCP) == accepted
    assert SECRET not in " ".join(c.events)


def test_chap_md5_response_is_verified():
    c = Client("CHAP", ("csagent", SECRET))
    open_lcp(c)
    frames = c.take()
    proto, challenge = frames[-1]
    assert proto == CHAP and challenge[0] == 1
    value = challenge[5:5 + challenge[4]]
    digest = hashlib.md5(bytes([challenge[1]]) + SECRET.encode() + value).digest()
    c.send(CHAP, 2, challenge[1], bytes([16]) + digest + b"csagent")
    assert c.take()[0][1][0] == 3  # Success
    assert c.events == ["auth CHAP user csagent accepted"]


def test_terminate_request_from_the_network_ends_the_session():
    c = Client()
    open_lcp(c)
    c.take()
    c.peer.close(1.0)
    (proto, term), = c.take()
    assert proto == LCP and term[0] == ppp_peer.TERM_REQ
    c.send(LCP, ppp_peer.TERM_ACK, term[1])
    assert c.events[-1] == "terminated"


# --- TCP relayed to 127.0.0.1 --------------------------------------------

BOARD, HOST = ppp_peer.BOARD_IP, ppp_peer.PEER_IP


def tcp_fields(pkt):
    seg = pkt[20:]
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", seg[:14])
    return seq, ack, flags, seg[(off >> 4) * 4:]


def test_tcp_connection_is_relayed_to_loopback():
    async def scenario():
        async def echo(reader, writer):
            writer.write((await reader.read(100)).upper())
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        out, log = [], []
        relay = user_tcp.Relay(out.append, log.append)

        async def next_packet():
            for _ in range(200):
                if out:
                    return tcp_fields(out.pop(0))
                await asyncio.sleep(0.01)
            raise AssertionError("no packet from the relay")
        seg = lambda seq, ack, flags, data=b"": user_tcp.tcp_segment(BOARD, HOST, 40000, port, seq, ack, flags, data)
        relay.receive(seg(1000, 0, user_tcp.SYN, b""))
        seq, ack, flags, _ = await next_packet()
        assert flags == user_tcp.SYN | user_tcp.ACK and ack == 1001
        relay.receive(seg(1001, seq + 1, user_tcp.ACK))
        relay.receive(seg(1001, seq + 1, user_tcp.ACK | user_tcp.PSH, b"hello"))
        got = b""
        fin = False
        while not fin:
            s, a, flags, data = await next_packet()
            got += data
            fin = bool(flags & user_tcp.FIN)
        assert got == b"HELLO" and a == 1006
        assert log == ["tcp %d relayed to 127.0.0.1:%d" % (port, port)]
        server.close()
    run(scenario())


def test_tcp_to_a_closed_port_is_reset():
    async def scenario():
        out = []
        relay = user_tcp.Relay(out.append, lambda text: None)
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, not listening
            relay.receive(user_tcp.tcp_segment(BOARD, HOST, 40001, port, 5, 0, user_tcp.SYN))
            for _ in range(200):
                if out:
                    break
                await asyncio.sleep(0.01)
        assert tcp_fields(out[0])[2] & user_tcp.RST
    run(scenario())


def test_bad_checksums_and_other_protocols_are_dropped():
    out = []
    relay = user_tcp.Relay(out.append, lambda text: None)
    pkt = bytearray(user_tcp.tcp_segment(BOARD, HOST, 40002, 9, 5, 0, user_tcp.ACK))
    pkt[-1] ^= 0xFF
    relay.receive(bytes(pkt))
    udp = bytearray(user_tcp.ip_packet(BOARD, HOST, b"\0" * 8))
    udp[9] = 17
    relay.receive(bytes(udp))
    relay.receive(b"\x45garbage")
    assert out == []


# --- the AT dialogue over a loopback line --------------------------------

async def dial_over_line(server, apn=APN):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    modem = Modem(reader, writer, timeout_ms=2000, network_ms=5000, poll_ms=100)
    info = await modem.info()
    await modem.dial(apn)
    return modem, reader, writer, info


def test_dial_logs_the_apn_never_the_secrets():
    async def scenario():
        log = []
        server = await cellmodem.ModemServer(log=log.append, pin="4711", credentials=("csagent", SECRET)).start()
        modem, reader, writer, info = await dial_over_line(server)
        assert info == {"iccid": "89314404000012345678"}  # the IMSI only once the PIN is in
        assert server.modem.call_up and server.modem.online
        writer.close()
        await server.stop()
        return log
    log = run(scenario())
    text = "\n".join(log)
    assert "dialled APN internet.test, CGAUTH PAP user csagent" in text
    assert "SIM PIN given" in text
    assert SECRET not in text and "4711" not in text


def test_escape_hang_up_and_faults():
    async def scenario():
        log = []
        server = await cellmodem.ModemServer(log=log.append).start()
        modem, reader, writer, _ = await dial_over_line(server, dict(APN, simPin=None))
        await asyncio.sleep(cellmodem.GUARD_S + 0.2)
        writer.write(b"+++")
        await asyncio.sleep(cellmodem.GUARD_S + 0.4)
        assert not server.modem.online and server.modem.call_up  # command mode, call still up
        assert (await asyncio.wait_for(reader.readuntil(b"\r\nOK\r\n"), 5)).startswith(b"~")  # after LCP
        await modem.command("ATH")
        assert not server.modem.call_up
        await modem.dial(dict(APN, simPin=None))
        assert server.modem.fault("carrier-lost") == "ok"
        assert b"NO CARRIER" in await asyncio.wait_for(reader.readuntil(b"NO CARRIER\r\n"), 5)
        await modem.command("AT")  # command mode again
        assert server.modem.fault("deregister") == "ok"
        with pytest.raises(ModemError, match="not registered"):
            await modem.dial(dict(APN, simPin=None))
        server.modem.fault("register")
        await modem.dial(dict(APN, simPin=None))
        server.modem.fault("carrier-lost")
        await asyncio.wait_for(reader.readuntil(b"NO CARRIER\r\n"), 5)
        server.modem.fault("deaf")
        with pytest.raises(ModemError, match="no answer"):
            await modem.command("AT", timeout_ms=500)
        server.modem.fault("answer")
        await modem.command("AT")
        assert server.modem.fault("meteor") .startswith("unknown fault")
        writer.close()
        await server.stop()
    run(scenario())


def test_faults_over_the_control_socket(tmp_path):
    async def scenario():
        control = str(tmp_path / "modem.sock")
        server = await cellmodem.ModemServer(control=control, log=lambda text: None).start()
        assert await cellmodem.send_fault(control, "deaf") == "ok"
        assert server.modem.mute
        await server.stop()
    run(scenario())


@pytest.mark.parametrize("argv", [[], ["--port", "x"], ["--port", "1", "--user", "u"], ["--port", "1", "--pin", "12"],
                                  ["--port", "1", "--auth", "EAP"]])
def test_bad_command_lines(argv):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "cellmodem.py")] + argv, capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cellmodem.py: error: "), err
