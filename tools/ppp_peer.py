"""The network side of a PPP link on a serial line (RFC 1661/1662, 1332,
1877, 1334, 1994), as a cellular modem plays it after CONNECT: HDLC-like
framing, LCP, PAP or CHAP-MD5 when the modem asks for it, IPCP handing
the board an address and DNS servers. IP packets go to a handler
(user_tcp.py); nothing here touches the host's network.

Addresses are documentation ones (RFC 5737) that exist only inside the
serial stream: the board gets BOARD_IP, the modem side is PEER_IP.
"""
import hashlib
import os
import struct

FLAG, ESCAPE = 0x7E, 0x7D
LCP, PAP, CHAP, IPCP, IPV4 = 0xC021, 0xC023, 0xC223, 0x8021, 0x0021
CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ, TERM_REQ, TERM_ACK, CODE_REJ, PROTO_REJ, ECHO_REQ, ECHO_REP = range(1, 11)
PEER_IP = bytes([192, 0, 2, 1])
BOARD_IP = bytes([192, 0, 2, 2])
DNS = (bytes([192, 0, 2, 53]), bytes([192, 0, 2, 54]))
RETRY_S = 1.0  # Configure-Request and Terminate-Request restart timer (RFC 1661 4.6)
MAX_CONFIGURE = 10
MAX_TERMINATE = 2


def fcs16(data, fcs=0xFFFF):
    """RFC 1662 C.2: the 16-bit frame check sequence, reflected CRC-CCITT."""
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs


def frame(protocol, info):
    """One HDLC-like frame, every control character escaped (the default ACCM)."""
    body = b"\xff\x03" + struct.pack(">H", protocol) + info
    body += struct.pack("<H", fcs16(body) ^ 0xFFFF)
    out = bytearray([FLAG])
    for b in body:
        if b < 0x20 or b in (FLAG, ESCAPE):
            out += bytes([ESCAPE, b ^ 0x20])
        else:
            out.append(b)
    out.append(FLAG)
    return bytes(out)


class Deframer:
    """Bytes from the line -> (protocol, info) of each good frame."""

    def __init__(self):
        self.buf = bytearray()
        self.escaped = False

    def feed(self, data):
        frames = []
        for b in data:
            if b == FLAG:
                if len(self.buf) >= 4:
                    frames.append(bytes(self.buf))
                self.buf.clear()
                self.escaped = False
            elif b == ESCAPE:
                self.escaped = True
            else:
                self.buf.append(b ^ 0x20 if self.escaped else b)
                self.escaped = False
        return [f for f in (self._parse(raw) for raw in frames) if f]

    @staticmethod
    def _parse(raw):
        if fcs16(raw) != 0xF0B8:  # the good-FCS residue: a damaged frame is dropped
            return None
        raw = raw[:-2]
        if raw[:2] == b"\xff\x03":
            raw = raw[2:]
        if not raw:
            return None
        if raw[0] & 1:  # a compressed protocol field
            return raw[0], raw[1:]
        return (struct.unpack(">H", raw[:2])[0], raw[2:]) if len(raw) >= 2 else None


def options(data):
    """(type, value) of each configuration option; None if malformed."""
    out, i = [], 0
    while i < len(data):
        if i + 2 > len(data) or data[i + 1] < 2 or i + data[i + 1] > len(data):
            return None
        out.append((data[i], data[i + 2:i + data[i + 1]]))
        i += data[i + 1]
    return out


def option(kind, value):
    return bytes([kind, len(value) + 2]) + value


def packet(code, ident, data=b""):
    return struct.pack(">BBH", code, ident, len(data) + 4) + data


class PppPeer:
    """One PPP session. send(bytes) writes to the line; on_ip(packet) takes
    the board's IPv4 packets; on_event(text) tells the modem what happened
    ("up", "auth <method> user <name>", "terminated", "failed ...").
    auth: None, "PAP" or "CHAP"; credentials: (user, password) to accept,
    or None to accept any. Timers: the caller calls tick(now) now and then."""

    def __init__(self, send, on_ip, on_event, auth=None, credentials=None):
        self.send, self.on_ip, self.on_event = send, on_ip, on_event
        self.auth, self.credentials = auth, credentials
        self.deframer = Deframer()
        self.magic = os.urandom(4)
        self.ident = 0
        self.lcp = _Negotiation()
        self.ipcp = _Negotiation()
        self.phase = "establish"  # establish, authenticate, network, open, terminating, dead
        self.challenge = None
        self.terminate = None  # [deadline, tries] while a Terminate-Request waits for its Ack
        self.now = 0.0

    # the modem's side of the line
    def start(self, now):
        self.now = now
        self._send_lcp_request()

    def receive(self, data):
        for protocol, info in self.deframer.feed(data):
            self._dispatch(protocol, info)

    def send_ip(self, pkt):
        if self.phase == "open":
            self.send(frame(IPV4, pkt))

    def close(self, now):
        """LCP Terminate-Request: the network ends the call."""
        self.now = now
        self.phase = "terminating"
        self.terminate = [now + RETRY_S, 1]
        self.send(frame(LCP, packet(TERM_REQ, self._next_ident())))

    def tick(self, now):
        self.now = now
        if self.terminate and now >= self.terminate[0]:
            if self.terminate[1] >= MAX_TERMINATE:
                self._dead("terminated")
            else:
                self.terminate = [now + RETRY_S, self.terminate[1] + 1]
                self.send(frame(LCP, packet(TERM_REQ, self._next_ident())))
        for neg, resend in ((self.lcp, self._send_lcp_request), (self.ipcp, self._send_ipcp_request)):
            if neg.deadline is not None and not neg.acked and now >= neg.deadline:
                if neg.tries >= MAX_CONFIGURE:
                    self._dead("failed: no Configure-Ack")
                else:
                    resend()

    # frames from the board
    def _dispatch(self, protocol, info):
        if self.phase == "dead" or len(info) < 4:
            return
        code, ident, length = struct.unpack(">BBH", info[:4])
        data = info[4:length]
        if protocol == LCP:
            self._lcp(code, ident, data)
        elif protocol == PAP and self.phase == "authenticate":
            self._pap(code, ident, data)
        elif protocol == CHAP and self.phase == "authenticate":
            self._chap(code, ident, data)
        elif protocol == IPCP and self.phase in ("network", "open"):
            self._ipcp(code, ident, data)
        elif protocol == IPV4 and self.phase == "open":
            self.on_ip(info)
        elif self.phase != "establish":  # IPV6CP, CCP and the rest: not here
            self.send(frame(LCP, packet(PROTO_REJ, self._next_ident(), struct.pack(">H", protocol) + info)))

    def _lcp(self, code, ident, data):
        if code == CONF_REQ:
            opts = options(data)
            if opts is None:
                return
            # MRU and the magic number are taken; the ACCM is refused, so the
            # board escapes every control character (no bare CR a modem back
            # in command mode would take for a command), and so are the
            # compressions, so every frame keeps its full header
            bad = b"".join(option(k, v) for k, v in opts if k not in (1, 5))
            if bad:
                self.send(frame(LCP, packet(CONF_REJ, ident, bad)))
                return
            self.send(frame(LCP, packet(CONF_ACK, ident, data)))
            self.lcp.peer_acked = True
            if self.lcp.deadline is None:
                self._send_lcp_request()
            self._lcp_maybe_up()
        elif code == CONF_ACK and ident == self.lcp.ident:
            self.lcp.acked = True
            self._lcp_maybe_up()
        elif code in (CONF_NAK, CONF_REJ) and ident == self.lcp.ident:
            self._dead("failed: the board refused LCP options")
        elif code == TERM_REQ:
            self.send(frame(LCP, packet(TERM_ACK, ident)))
            self._dead("terminated by the board")
        elif code == TERM_ACK and self.phase == "terminating":
            self._dead("terminated")
        elif code == ECHO_REQ and self.phase != "establish":
            self.send(frame(LCP, packet(ECHO_REP, ident, self.magic + data[4:])))

    def _lcp_maybe_up(self):
        if self.phase == "establish" and self.lcp.acked and self.lcp.peer_acked:
            if self.auth == "CHAP":
                self.phase = "authenticate"
                self.challenge = os.urandom(16)
                self.send(frame(CHAP, packet(1, self._next_ident(), bytes([16]) + self.challenge + b"modem")))
            elif self.auth == "PAP":
                self.phase = "authenticate"
            else:
                self._network()

    def _pap(self, code, ident, data):
        if code != 1 or not data:
            return
        n = data[0]
        user = data[1:1 + n]
        m = data[1 + n] if len(data) > 1 + n else 0
        password = data[2 + n:2 + n + m]
        ok = self.credentials is None or (user.decode(errors="replace"), password.decode(errors="replace")) == \
            tuple(self.credentials)
        self.send(frame(PAP, packet(2 if ok else 3, ident, b"\x00")))
        self._authenticated("PAP", user, ok)

    def _chap(self, code, ident, data):
        if code != 2 or not data or self.challenge is None:
            return
        size = data[0]
        response, name = data[1:1 + size], data[1 + size:]
        ok = True
        if self.credentials is not None:
            want = hashlib.md5(bytes([ident]) + self.credentials[1].encode() + self.challenge).digest()
            ok = name.decode(errors="replace") == self.credentials[0] and response == want
        self.send(frame(CHAP, packet(3 if ok else 4, ident)))
        self._authenticated("CHAP", name, ok)

    def _authenticated(self, method, user, ok):
        self.on_event("auth %s user %s %s" % (method, user.decode(errors="replace") or "-",
                                              "accepted" if ok else "refused"))
        if ok:
            self._network()
        else:
            self._dead("failed: authentication refused")

    def _network(self):
        self.phase = "network"
        self._send_ipcp_request()

    def _ipcp(self, code, ident, data):
        if code == CONF_REQ:
            opts = options(data)
            if opts is None:
                return
            wanted = {3: BOARD_IP, 129: DNS[0], 131: DNS[1]}
            bad = b"".join(option(k, v) for k, v in opts if k not in wanted)
            if bad:  # IP compression (VJ) and the NBNS servers
                self.send(frame(IPCP, packet(CONF_REJ, ident, bad)))
                return
            nak = b"".join(option(k, wanted[k]) for k, v in opts if v != wanted[k])
            if nak:
                self.send(frame(IPCP, packet(CONF_NAK, ident, nak)))
                return
            self.send(frame(IPCP, packet(CONF_ACK, ident, data)))
            self.ipcp.peer_acked = True
        elif code == CONF_ACK and ident == self.ipcp.ident:
            self.ipcp.acked = True
        elif code == TERM_REQ:
            self.send(frame(IPCP, packet(TERM_ACK, ident)))
        if self.phase == "network" and self.ipcp.acked and self.ipcp.peer_acked:
            self.phase = "open"
            self.on_event("up")

    def _send_lcp_request(self):
        opts = option(5, self.magic)
        if self.auth == "PAP":
            opts += option(3, struct.pack(">H", PAP))
        elif self.auth == "CHAP":
            opts += option(3, struct.pack(">H", CHAP) + b"\x05")  # MD5
        self.lcp.sent(self._next_ident(), self.now)
        self.send(frame(LCP, packet(CONF_REQ, self.lcp.ident, opts)))

    def _send_ipcp_request(self):
        self.ipcp.sent(self._next_ident(), self.now)
        self.send(frame(IPCP, packet(CONF_REQ, self.ipcp.ident, option(3, PEER_IP))))

    def _next_ident(self):
        self.ident = (self.ident + 1) & 0xFF
        return self.ident

    def _dead(self, why):
        if self.phase != "dead":
            self.phase = "dead"
            self.terminate = None
            self.on_event(why)


class _Negotiation:
    """Our Configure-Request (its ident, retries) and whether each side acked."""

    def __init__(self):
        self.ident = None
        self.tries = 0
        self.deadline = None
        self.acked = False
        self.peer_acked = False

    def sent(self, ident, now):
        self.ident = ident
        self.tries += 1
        self.deadline = now + RETRY_S
