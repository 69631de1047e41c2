"""WebSocket client (RFC 6455) for the OCPP link, on asyncio streams only.

Production rules the generic clients skip: every wait is bounded, a frame
larger than max_frame is refused before its payload is read, the handshake
checks Sec-WebSocket-Accept and the subprotocol, and the password never
appears in an error. One task reads (recv), any number of tasks may send.
"""
import asyncio
import errno
import os

from .compat import const, ticks_diff, ticks_ms

_OP_CONT = const(0)
_OP_TEXT = const(1)
_OP_BINARY = const(2)
_OP_CLOSE = const(8)
_OP_PING = const(9)
_OP_PONG = const(10)
_CHUNK = const(512)  # bytes masked and written per step; a multiple of 4 keeps the mask aligned
_ROOM = const(14)  # the longest header of a client's frame
_CLOSE_WAIT = const(2)  # seconds to wait for the peer's close frame
_PREFIX = const(128)  # bytes kept of a message over soft_limit: enough for its message id
_IDLE_SLICE = const(30)  # with pings off, re-read ping_interval this often
_VALID_CLOSE = const((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


class ConnectionClosed(Exception):
    """The connection is over; code 1006 means the peer vanished without a close frame."""

    def __init__(self, code, reason=""):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def encode_header(opcode, length, mask_key=None, fin=True):
    """Frame header bytes; clients pass a 4-byte mask_key (RFC 6455 5.3)."""
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if mask_key else 0
    if length < 126:
        head = bytes((b0, m | length))
    elif length < 65536:
        head = bytes((b0, m | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((b0, m | 127)) + length.to_bytes(8, "big")
    return head + mask_key if mask_key else head


def header_size(b1):
    """Header bytes that follow the first two, given the second byte."""
    n = b1 & 0x7F
    return (2 if n == 126 else 8 if n == 127 else 0) + (4 if b1 & 0x80 else 0)


def parse_header(head):
    """(fin, rsv, opcode, length, mask_key or None) of a complete header."""
    b0, b1 = head[0], head[1]
    n, at = b1 & 0x7F, 2
    if n == 126:
        n, at = int.from_bytes(head[2:4], "big"), 4
    elif n == 127:
        n, at = int.from_bytes(head[2:10], "big"), 10
    key = bytes(head[at:at + 4]) if b1 & 0x80 else None
    return bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, n, key


def mask(buf, key, start=0, end=None):
    """XOR buf[start:end] with the 4-byte key in place. A short range (an
    answer, a control frame) goes as one int: 4 times faster than byte by
    byte. A longer one goes byte by byte, allocating nothing: a large
    message must not leave the heap full of garbage pieces."""
    end = len(buf) if end is None else end
    n = end - start
    if n <= 256:
        k = int.from_bytes(key * ((n + 3) // 4), "big") >> (8 * (-n % 4))
        buf[start:end] = (int.from_bytes(buf[start:end], "big") ^ k).to_bytes(n, "big")
        return
    stop = end - n % 4
    k0, k1, k2, k3 = key
    for i in range(start, stop, 4):
        buf[i] ^= k0
        buf[i + 1] ^= k1
        buf[i + 2] ^= k2
        buf[i + 3] ^= k3
    for i in range(stop, end):
        buf[i] ^= key[i - stop]


def close_payload(code, reason=""):
    """Close frame body: code then at most 123 bytes of UTF-8 reason, cut on a character edge."""
    data = reason.encode()
    if len(data) > 123:
        end = 123
        while data[end] & 0xC0 == 0x80:
            end -= 1
        data = data[:end]
    return code.to_bytes(2, "big") + data


def parse_close(payload):
    """(code, reason) of a received close frame; ConnectionClosed(1002/1007) if malformed."""
    if not payload:
        return 1005, ""
    code = int.from_bytes(payload[:2], "big")
    if len(payload) == 1 or not (code in _VALID_CLOSE or 3000 <= code < 5000):
        raise ConnectionClosed(1002, "bad close frame")
    try:
        return code, str(payload[2:], "utf-8")
    except UnicodeError:
        raise ConnectionClosed(1007, "close reason not UTF-8")


def one_line(err):
    """Exception text on one line; bare MicroPython OSError numbers get a name."""
    text = " ".join(str(err).split())
    if isinstance(err, OSError) and text.lstrip("-").isdigit():
        n = int(text)
        text = "TLS error -0x%x" % -n if n < 0 else ("OSError %d %s" % (n, errno.errorcode.get(n, ""))).strip()
    return (text or type(err).__name__)[:160]


def check_utf8(data):
    """ConnectionClosed(1007) unless `data` is UTF-8 (RFC 6455 8.1). Checked
    in pieces of _CHUNK bytes cut on character edges, so a large message
    needs no second copy of itself in one piece."""
    view, at, n = memoryview(data), 0, len(data)
    while at < n:
        end = min(at + _CHUNK, n)
        back = 0
        while end < n and back < 3 and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
            back += 1
        try:
            str(view[at:end], "utf-8")
        except UnicodeError:
            raise ConnectionClosed(1007, "text message not UTF-8")
        at = end


class WebSocket:
    """An open connection on the streams of an established WebSocket
    (ws_handshake.connect opens them and does the upgrade)."""

    def __init__(self, reader, writer, max_frame, timeout, ping_interval):
        self.max_frame = max_frame
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.soft_limit = 0  # a message larger than this is not read whole (recv; 0: none)
        self._r, self._w = reader, writer
        self._readinto = hasattr(reader, "readinto")  # MicroPython: fill buffers in place
        self._copy = hasattr(writer, "transport")  # CPython asyncio: its transport may keep what it is given
        self._sent = asyncio.Event()  # set while no frame is going out
        self._sent.set()
        self._peer_closed = asyncio.Event()
        self._closed = None  # (code, reason) once over
        self._close_sent = False
        self._reading = False
        self._unread = 0  # payload bytes of a refused frame still in the stream
        self._buf = None  # what goes out: a frame's header and a chunk of its payload, masked

    async def send(self, text):
        """Send one TEXT message."""
        try:
            payload = memoryview(text)  # MicroPython: the str's own UTF-8 bytes, no copy
        except TypeError:
            payload = text.encode()
        await self._send_frame(_OP_TEXT, payload)

    async def send_parts(self, parts):
        """Send one TEXT message made of the str pieces `parts` yields, as
        fragments of up to _CHUNK bytes (RFC 6455 5.4): a large message, such
        as a NotifyReport, is never whole in memory."""
        await self._send_frame(_OP_TEXT, parts, self._write_parts)

    async def _write_parts(self, opcode, parts):
        buf = self._buffer()
        n = 0
        for part in parts:
            try:
                data = memoryview(part)
            except TypeError:
                data = part.encode()
            at = 0
            while at < len(data):
                take = min(_CHUNK - n, len(data) - at)
                buf[_ROOM + n:_ROOM + n + take] = data[at:at + take]
                n += take
                at += take
                if n == _CHUNK:
                    if self._put(self._seal(opcode, n, False), _ROOM + n):
                        await self._drain()
                    opcode, n = _OP_CONT, 0
            part = data = None  # not held while the next part is made (a report's entry)
        if self._put(self._seal(opcode, n, True), _ROOM + n):
            await self._drain()

    async def _send_frame(self, opcode, payload, write=None):
        while not self._sent.is_set():  # frames of concurrent senders never interleave
            await self._sent.wait()
        if self._closed or (self._close_sent and opcode != _OP_CLOSE):
            raise ConnectionClosed(*(self._closed or (1000, "closing")))
        self._sent.clear()
        try:
            await (write or self._write_frame)(opcode, payload)
        except (OSError, EOFError, asyncio.TimeoutError) as e:
            await self.shutdown(1006, "send failed: " + one_line(e))
            raise ConnectionClosed(*self._closed)
        except Exception as e:
            # A message's pieces failed, or the heap did, part-way: a
            # frame after a half-sent message would break the stream.
            await self.shutdown(1011, "message aborted: " + one_line(e))
            raise ConnectionClosed(*self._closed)
        finally:
            self._sent.set()

    def _buffer(self):
        """The connection's one send buffer: _ROOM bytes for a frame header,
        then _CHUNK bytes of payload, so that the header leaves in the same
        write as the payload's start (two small writes would meet Nagle's
        delay: 40 ms a frame). Made at the first send, after the TLS
        handshake's peak, and kept: sending allocates nothing large a
        fragmented heap could refuse."""
        if self._buf is None:
            self._buf = bytearray(_ROOM + _CHUNK)
        return self._buf

    def _seal(self, opcode, n, fin):
        """Make the n payload bytes the buffer holds one frame: its header
        in front, the payload masked. Returns where the frame starts."""
        key = os.urandom(4)
        head = encode_header(opcode, n, key, fin)
        start = _ROOM - len(head)
        self._buf[start:_ROOM] = head
        mask(self._buf, key, _ROOM, _ROOM + n)
        return start

    async def _write_frame(self, opcode, payload):
        """A frame whose payload is held elsewhere, masked through the buffer
        _CHUNK bytes at a time."""
        key = os.urandom(4)
        head = encode_header(opcode, len(payload), key)
        buf, view = self._buffer(), memoryview(payload)
        start, at = _ROOM - len(head), 0
        buf[start:_ROOM] = head
        while True:
            n = min(_CHUNK, len(payload) - at)
            buf[_ROOM:_ROOM + n] = view[at:at + n]
            mask(buf, key, _ROOM, _ROOM + n)
            if self._put(start, _ROOM + n):
                await self._drain()
            at += n
            if at >= len(payload):
                return
            start = _ROOM

    def _put(self, start, end):
        """Hand the buffer's bytes start:end to the stream; True when the
        socket has not taken them all. Only then is a timer set (_drain):
        mostly it has, and a timer per frame cost more than the rest of
        sending an answer."""
        w, chunk = self._w, memoryview(self._buf)[start:end]
        w.write(bytes(chunk) if self._copy else chunk)
        # MicroPython's stream keeps what the socket refused in out_buf
        return self._copy or len(getattr(w, "out_buf", b"?"))

    async def _drain(self):
        """What the socket refused must leave within the timeout."""
        await asyncio.wait_for(self._w.drain(), self.timeout)

    async def close(self, code=1000, reason=""):
        """Close handshake bounded by _CLOSE_WAIT (none for 1006); idempotent."""
        if not self._closed and not self._close_sent and code != 1006:
            try:
                await self._send_frame(_OP_CLOSE, close_payload(code, reason))
                self._close_sent = True
                # a task inside recv() sees the peer's close frame; else read it here
                wait = self._peer_closed.wait() if self._reading else self._await_close_frame()
                await asyncio.wait_for(wait, _CLOSE_WAIT)
            except (ConnectionClosed, OSError, EOFError, asyncio.TimeoutError):
                pass
        await self.shutdown(code, reason)

    async def recv(self):
        """Next TEXT message as (data, size): its UTF-8 bytes, unparsed and
        not copied into a str, and its size. Answers pings, detects a dead
        peer. A message over soft_limit bytes is not read whole: data is
        then its first _PREFIX bytes (len(data) < size), the rest was
        skipped and the connection goes on, so the RPC layer can answer it.
        A pair, not an exception: on a board each exception class is 0.13 KB
        of heap."""
        if self._closed:
            raise ConnectionClosed(*self._closed)
        self._reading = True
        try:
            return await self._recv()
        except ConnectionClosed as e:  # protocol violation, or the peer closed (already shut)
            code, reason = e.code, e.reason
        except MemoryError:  # the message fits max_frame but not the free heap
            code, reason = 1009, "message too big for free memory"
        except (OSError, EOFError, asyncio.TimeoutError):  # includes a frame stuck past timeout
            code, reason = 1006, "connection lost"
        finally:
            self._reading = False
        await self.close(code, reason)
        raise ConnectionClosed(*self._closed)

    async def _recv(self):
        msg = None
        size = 0
        while True:
            first = await self._first_byte()
            cap = max(0, self.soft_limit - size) if self.soft_limit else None
            end = ticks_ms() + int(self.timeout * 1000)  # the rest of the frame is due by then
            fin, op, data, n = await self._frame(first, self.max_frame - size, cap, end=end)
            if op == _OP_CLOSE:
                code, reason = parse_close(data)
                if not self._close_sent:  # echo the peer's code (RFC 6455 5.5.1)
                    await self._send_frame(_OP_CLOSE, b"" if code == 1005 else close_payload(code))
                    self._close_sent = True
                await self.shutdown(code, reason)
                raise ConnectionClosed(code, reason)
            if op == _OP_PING:
                if not self._close_sent:
                    await self._send_frame(_OP_PONG, data)
                continue
            if op == _OP_PONG:
                continue
            if op == _OP_BINARY:
                raise ConnectionClosed(1003, "binary messages not supported")
            if op not in (_OP_TEXT, _OP_CONT) or (op == _OP_CONT) != (msg is not None):
                raise ConnectionClosed(1002, "bad opcode or fragment order")
            size += n
            if msg is None:
                msg = data
            elif len(msg) < _PREFIX or not self.soft_limit or size <= self.soft_limit:
                msg += data
            if fin:
                if self.soft_limit and size > self.soft_limit:  # never whole, even under _PREFIX
                    return bytes(msg[:min(_PREFIX, self.soft_limit)]), size
                check_utf8(msg)
                return msg, size

    async def _first_byte(self):
        """First byte of the next frame; pings when idle for ping_interval, and
        declares the peer dead when a further ping_interval brings nothing."""
        pinged = False
        while True:
            idle = self.ping_interval  # read live: the agent may change it
            try:
                first = await asyncio.wait_for(self._r.read(1), idle or _IDLE_SLICE)
            except asyncio.TimeoutError:
                if not idle:
                    continue
                if pinged:
                    raise ConnectionClosed(1006, "no data for %ss after ping: peer dead" % idle)
                await self._send_frame(_OP_PING, b"")
                pinged = True
                continue
            if not first:
                raise EOFError
            return first

    async def _frame(self, first, room, cap=None, keep=True, end=None):
        """(fin, opcode, payload, size) of the frame that began with `first`.
        A data payload over `room` bytes is refused with 1009 before it is
        read; of one over `cap` bytes only the first _PREFIX are kept. The
        frame must be complete by ticks_ms() `end` (None: bounded outside)."""
        head = first + await self._read(1, end)
        extra = header_size(head[1])
        if extra:
            head += await self._read(extra, end)
        fin, rsv, op, n, key = parse_header(head)
        self._unread = n  # until read: a refused payload is skipped while closing
        if key is not None or rsv:
            raise ConnectionClosed(1002, "masked or extended frame from server")
        if op >= 8:
            if n > 125 or not fin:
                raise ConnectionClosed(1002, "bad control frame")
        elif not keep:
            await self._skip(n, end)
            self._unread = 0
            return fin, op, None, n
        if op < 8 and n > room:
            raise ConnectionClosed(1009, "message over max_frame (%d bytes)" % self.max_frame)
        kept = min(n, _PREFIX) if op < 8 and cap is not None and n > cap else n
        data = await self._payload(kept, end)
        await self._skip(n - kept, end)
        self._unread = 0
        return fin, op, data, n

    def _due(self, aw, end):
        """aw, bounded by what is left until ticks_ms() `end`."""
        if end is None:
            return aw
        return asyncio.wait_for(aw, max(0, ticks_diff(end, ticks_ms())) / 1000)

    async def _read(self, n, end):
        """n bytes. MicroPython's stream reads its non-blocking socket
        directly, so bytes the socket holds already are taken at once: no
        pass through the scheduler and no timer, which cost more than the
        rest of receiving a small request. The rest is awaited."""
        s = getattr(self._r, "s", None)  # None on CPython
        data = (s.read(n) if s else None) or b""
        if len(data) < n:
            data += await self._due(self._r.readexactly(n - len(data)), end)
        return data

    async def _payload(self, n, end):
        buf = bytearray(n)
        view = memoryview(buf)
        s = getattr(self._r, "s", None)
        got = (s.readinto(view) if s and n else None) or 0  # at once, as in _read
        while got < n:
            if self._readinto:
                k = await self._due(self._r.readinto(view[got:]), end)
            else:
                part = await self._due(self._r.read(n - got), end)
                k = len(part)
                view[got:got + k] = part
            if k == 0:
                raise EOFError
            got += k or 0
        return buf

    async def _skip(self, n, end=None):
        while n > 0:
            part = await self._due(self._r.read(min(n, _CHUNK)), end)
            if not part:
                raise EOFError
            n -= len(part)

    async def _await_close_frame(self):
        """Discard incoming data until the peer's close frame (after ours was sent)."""
        await self._skip(self._unread)
        self._unread = 0
        while True:
            _, op, _, _ = await self._frame(await self._read(1, None), 0, keep=False)
            if op == _OP_CLOSE:
                return

    async def shutdown(self, code=1006, reason="connection lost"):
        """Record the outcome (first one wins) and close the stream, bounded."""
        if self._closed:
            return
        self._closed = (code, reason)
        self._peer_closed.set()
        try:
            self._w.close()
            await asyncio.wait_for(self._w.wait_closed(), 1)
        except (OSError, EOFError, asyncio.TimeoutError):
            pass
