"""A small HTTP/1.1 GET client for firmware downloads (L01), over TCP or
TLS: the body is handed on in chunks of at most CHUNK bytes, never held
whole. Loaded by firmware_update only.

Every wait is bounded: connecting (with TLS) and each read time out after
`timeout` seconds of silence. Only status 200 with a Content-Length is
taken (no redirects, no chunked bodies), and the body must be exactly that
long: a peer that closes early, stalls, or sends more fails with HttpError.
"""
import asyncio

from .compat import borrow, const

CHUNK = const(512)
_MAX_LINE = const(512)
_MAX_HEADERS = const(40)


class HttpError(Exception):
    """The download failed; args[0] says why, in one line."""


def parse_url(url):
    """(secure, host, port, path) of an http:// or https:// URL, split as a
    WebSocket URL is (ws_handshake.split_url, borrowed for the moment), with
    no user info and no space in the path."""
    try:
        secure, host, port, path = borrow("csagent.ws_handshake", "split_url", url, "http", "https")
    except ValueError as e:
        raise HttpError("location: " + e.args[0])
    if "@" in host or " " in path:
        raise HttpError("location: user info or a space in URL")
    return secure, host, port, path


async def _read(reader, n, timeout):
    return await asyncio.wait_for(reader.read(n), timeout)


async def _line(reader, timeout):
    line = bytearray()
    while line[-1:] != b"\n":
        c = await _read(reader, 1, timeout)
        if not c:
            raise HttpError("connection closed inside the response head")
        if len(line) >= _MAX_LINE:
            raise HttpError("response head line longer than %d bytes" % _MAX_LINE)
        line += c
    return bytes(line).strip()


async def get(url, sink, ssl=None, timeout=15, most=1 << 20):
    """GET url; sink(chunk) takes the body piece by piece. ssl: a client
    context (tls.client_context) for https://. A body over `most` bytes is
    refused before any of it is read. Returns the body's length."""
    secure, host, port, path = parse_url(url)
    if secure and ssl is None:
        raise HttpError("https:// needs a CA certificate to verify the server")
    writer = None
    try:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ssl if secure else None), timeout)
            default = 443 if secure else 80
            writer.write(("GET %s HTTP/1.1\r\nHost: %s%s\r\nConnection: close\r\n\r\n"
                          % (path, "[%s]" % host if ":" in host else host,
                             "" if port == default else ":%d" % port)).encode())
            await asyncio.wait_for(writer.drain(), timeout)
            status = (await _line(reader, timeout)).split()
            if len(status) < 2 or status[1] != b"200":
                code = status[1][:3] if len(status) > 1 else b""
                raise HttpError("server answered status " + "".join(chr(c) if 48 <= c < 58 else "?" for c in code))
            length = None
            for _ in range(_MAX_HEADERS):
                line = await _line(reader, timeout)
                if not line:
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length" and value.strip().isdigit():
                    length = int(value)
                elif name == b"transfer-encoding":
                    raise HttpError("chunked bodies are not taken")
            else:
                raise HttpError("more than %d response headers" % _MAX_HEADERS)
            if length is None:
                raise HttpError("no Content-Length")
            if length > most:
                raise HttpError("body of %d bytes is over %d" % (length, most))
            left = length
            while left:
                chunk = await _read(reader, min(left, CHUNK), timeout)
                if not chunk:
                    raise HttpError("connection closed after %d of %d bytes" % (length - left, length))
                sink(chunk)
                left -= len(chunk)
            try:  # Connection: close: the peer must end here, not go on
                more = await _read(reader, 1, 1)
            except asyncio.TimeoutError:
                more = b""
            if more:
                raise HttpError("more bytes than Content-Length %d" % length)
            return length
        except asyncio.TimeoutError:
            raise HttpError("%s:%d silent for %d s" % (host, port, timeout))
        except (OSError, EOFError, ValueError) as e:  # TLS failures arrive as either on MicroPython
            raise HttpError("%s:%d: %s" % (host, port, (type(e).__name__ + " " + str(e))[:80]))
    finally:
        if writer is not None:
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:  # noqa: BLE001 - closing a broken link can only fail
                pass
