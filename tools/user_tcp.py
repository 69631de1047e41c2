"""IPv4 and TCP terminated in user space (RFC 791, 9293): each TCP
connection the board opens over PPP, to whatever address, is relayed to
the same port on 127.0.0.1. No kernel PPP, no tun, no root, and no
traffic anywhere but loopback. Other IP traffic is dropped.

A connection the board opens: SYN -> a socket to 127.0.0.1:port, SYN-ACK
when it connects (RST when refused). Bytes the board sends are taken in
order and written to the socket; bytes the socket gives are sent within
the board's window, at most IN_FLIGHT unacknowledged, retransmitted from
the oldest unacknowledged byte when no ACK comes within the RTO (doubled
each time, RETRIES at most, then RST).
"""
import asyncio
import os
import struct

TCP, FIN, SYN, RST, PSH, ACK = 6, 0x01, 0x02, 0x04, 0x08, 0x10
MSS = 1400  # fits a 1500-byte PPP MRU with headers to spare
IN_FLIGHT = 4096  # the serial line carries ~11 KB/s: a few KB keep it busy
RTO_S = 3.0
RETRIES = 6
WINDOW = 2 * 1460  # the board's segments in flight: frames its UART buffer takes whole (boards/common/ppp.py)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_packet(src, dst, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, TCP, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b""):
    offset = (20 + len(opts)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, WINDOW, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, TCP, len(header) + len(payload))
    csum = checksum(pseudo + header + payload)
    return ip_packet(src, dst, header[:16] + struct.pack("!H", csum) + header[18:] + payload)


class Relay:
    """send_ip(packet) reaches the board; log(text) tells what happened."""

    def __init__(self, send_ip, log, host="127.0.0.1"):
        self.send_ip, self.log, self.host = send_ip, log, host
        self.conns = {}

    def receive(self, pkt):
        """One IPv4 packet from the board."""
        if len(pkt) < 20 or pkt[0] >> 4 != 4 or checksum(pkt[:(pkt[0] & 15) * 4]):
            return
        ihl = (pkt[0] & 15) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        if pkt[9] != TCP or total > len(pkt) or total < ihl + 20:
            return
        src, dst, seg = pkt[12:16], pkt[16:20], pkt[ihl:total]
        pseudo = struct.pack("!4s4sBBH", src, dst, 0, TCP, len(seg))
        if checksum(pseudo + seg):
            return
        sport, dport, seq, ack, off, flags, window = struct.unpack("!HHIIBBH", seg[:16])
        key = (src, sport, dst, dport)
        conn = self.conns.get(key)
        if conn is None:
            if flags & SYN and not flags & ACK:
                self.conns[key] = conn = Connection(self, key, seq, seg[20:(off >> 4) * 4])
                conn.task = asyncio.ensure_future(conn.open())
            elif not flags & RST:
                self.send_ip(tcp_segment(dst, src, dport, sport, ack, seq + 1, RST | ACK))
            return
        conn.segment(seq, ack, flags, window, seg[(off >> 4) * 4:])

    def tick(self, now):
        for conn in list(self.conns.values()):
            conn.tick(now)

    def close_all(self):
        """The call ended: the board's side is gone, so are the sockets."""
        for conn in list(self.conns.values()):
            conn.drop()


class Connection:
    def __init__(self, relay, key, seq, opts):
        self.relay, self.key = relay, key
        self.rcv_nxt = (seq + 1) & 0xFFFFFFFF
        self.iss = struct.unpack("!I", os.urandom(4))[0]
        self.snd_una = self.snd_nxt = self.iss
        self.unacked = b""  # sent, not yet acknowledged (from snd_una)
        self.queued = b""  # from the socket, not yet sent
        self.window = 0
        self.mss = _mss(opts)
        self.fin_sent = self.fin_queued = self.fin_received = self.established = False
        self.rto, self.retries, self.deadline = RTO_S, 0, None
        self.writer = self.task = None
        self.now = 0.0

    def _send(self, flags, seq, payload=b"", opts=b""):
        src, sport, dst, dport = self.key
        self.relay.send_ip(tcp_segment(dst, src, dport, sport, seq, self.rcv_nxt, flags, payload, opts))

    async def open(self):
        port = self.key[3]
        try:
            reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.relay.host, port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            self.relay.log("tcp %s refused: %s" % (port, e))
            self._send(RST | ACK, 0)
            self.relay.conns.pop(self.key, None)
            return
        self.relay.log("tcp %d relayed to %s:%d" % (port, self.relay.host, port))
        self._send(SYN | ACK, self.iss, opts=struct.pack("!BBH", 2, 4, MSS))
        self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
        self.deadline = None
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self.queued += data
                self.pump()
                while len(self.queued) > 65536 and self.key in self.relay.conns:
                    await asyncio.sleep(0.05)  # the line is slow: hold the socket
        except OSError:
            pass
        self.fin_queued = True
        self.pump()

    def segment(self, seq, ack, flags, window, payload):
        if flags & RST:
            self.drop()
            return
        if flags & ACK:
            self._acked(ack, window)
        if flags & SYN:  # our SYN-ACK was lost: send it again
            if not self.established and self.writer:
                self._send(SYN | ACK, self.iss, opts=struct.pack("!BBH", 2, 4, MSS))
            return
        if payload or flags & FIN:
            if seq == self.rcv_nxt:
                self.rcv_nxt = (self.rcv_nxt + len(payload)) & 0xFFFFFFFF
                if payload and self.writer:
                    self.writer.write(payload)
                if flags & FIN:
                    self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                    self.fin_received = True
                    if self.writer and self.writer.can_write_eof():
                        self.writer.write_eof()
            self._send(ACK, self.snd_nxt)  # in order or not: say what we have
        self._maybe_done()

    def _acked(self, ack, window):
        self.window = window
        if not self.established and ack == (self.iss + 1) & 0xFFFFFFFF:
            self.established = True
            self.snd_una = ack
            self.deadline = None
        n = (ack - self.snd_una) & 0xFFFFFFFF
        if 0 < n <= len(self.unacked) + (1 if self.fin_sent else 0):
            self.unacked = self.unacked[n:]
            self.snd_una = ack
            self.rto, self.retries = RTO_S, 0
            self.deadline = self.now + self.rto if self.unacked or self._fin_unacked() else None
        self.pump()

    def _fin_unacked(self):
        return self.fin_sent and self.snd_una != self.snd_nxt

    def pump(self):
        if not self.established:
            return
        room = min(self.window, IN_FLIGHT) - len(self.unacked)
        while room > 0 and self.queued:
            chunk = self.queued[:min(room, self.mss)]
            self.queued = self.queued[len(chunk):]
            self._send(ACK | PSH, self.snd_nxt, chunk)
            self.unacked += chunk
            self.snd_nxt = (self.snd_nxt + len(chunk)) & 0xFFFFFFFF
            room -= len(chunk)
            self.deadline = self.deadline or self.now + self.rto
        if self.fin_queued and not self.queued and not self.fin_sent:
            self._send(FIN | ACK, self.snd_nxt)
            self.fin_sent = True
            self.snd_nxt = (self.snd_nxt + 1) & 0xFFFFFFFF
            self.deadline = self.deadline or self.now + self.rto
        self._maybe_done()

    def tick(self, now):
        self.now = now
        if self.deadline is None or now < self.deadline:
            return
        if self.retries >= RETRIES:
            self.relay.log("tcp %d: the board stopped acknowledging; reset" % self.key[3])
            self._send(RST | ACK, self.snd_nxt)
            self.drop()
            return
        self.retries += 1
        self.rto *= 2
        self.deadline = now + self.rto
        if not self.established:
            self._send(SYN | ACK, self.iss, opts=struct.pack("!BBH", 2, 4, MSS))
            return
        seq = self.snd_una
        for i in range(0, len(self.unacked), self.mss):  # go back to the oldest byte
            chunk = self.unacked[i:i + self.mss]
            self._send(ACK | PSH, seq, chunk)
            seq = (seq + len(chunk)) & 0xFFFFFFFF
        if self._fin_unacked():
            self._send(FIN | ACK, seq)

    def _maybe_done(self):
        if self.fin_received and self.fin_sent and not self._fin_unacked():
            self.drop()

    def drop(self):
        self.relay.conns.pop(self.key, None)
        if self.writer:
            self.writer.close()
        if self.task and not self.task.done():
            self.task.cancel()


def _mss(opts):
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if kind == 2 and opts[i + 1] == 4 and i + 4 <= len(opts):
            return min(MSS, struct.unpack("!H", opts[i + 2:i + 4])[0])
        i += opts[i + 1]
    return 536  # RFC 9293's default
