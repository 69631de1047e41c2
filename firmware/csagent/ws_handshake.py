"""Opening a WebSocket (RFC 6455 section 4): URL parsing, the TCP and TLS
connection, the HTTP upgrade request and every check on the server's answer.
Loaded for a connection attempt only (and by http_get for a moment, to
split a URL): its code needs no heap while the link is up.

Errors say what failed in one line and never contain the password.
"""
import asyncio
import binascii
import hashlib
import os

from .compat import const
from .values import digits
from .ws import WebSocket, one_line

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADERS = const(50)
_MAX_LINE = const(1024)  # bytes in one line of the answer


class WebSocketError(Exception):
    """Handshake refused or impossible; args[0] is a one-line reason."""


async def connect(url, subprotocol="ocpp2.0.1", user=None, password=None, ssl=None,
                  max_frame=65536, timeout=30, ping_interval=0):
    """The WebSocket, once established; `timeout` bounds TCP + TLS + HTTP
    upgrade together."""
    secure, host, port, path = parse_url(url)
    if secure and ssl is None:
        raise WebSocketError("wss:// needs an SSL context (tls.client_context)")
    made = []  # the WebSocket, once the TCP (and TLS) connection is up
    try:
        await asyncio.wait_for(_open(made, host, port, path, ssl if secure else None, subprotocol, user, password,
                                     (max_frame, timeout, ping_interval)), timeout)
        return made[0]
    except asyncio.TimeoutError:
        reason = "connect/handshake with %s:%d timed out after %ss" % (host, port, timeout)
    except (OSError, EOFError, ValueError) as e:  # TLS failures arrive as either on MicroPython
        reason = "connect to %s:%d failed: %s" % (host, port, one_line(e))
    except WebSocketError:
        if made:
            await made[0].shutdown()
        raise
    if made:
        await made[0].shutdown()
    raise WebSocketError(reason)


async def _open(made, host, port, path, ssl, subprotocol, user, password, settings):
    """TCP, TLS when ssl is given, then the upgrade on the WebSocket's
    streams; the WebSocket goes into `made` as soon as it has them."""
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl)
    made.append(WebSocket(reader, writer, *settings))
    await handshake(reader, writer, host, port, path, ssl is not None, subprotocol, user, password)


def parse_url(url):
    """(secure, host, port, path) of a ws:// or wss:// URL."""
    try:
        return split_url(url, "ws", "wss")
    except ValueError as e:
        raise WebSocketError(e.args[0])


def split_url(url, plain, secure):
    """(secure, host, port, path) of a `plain`:// or `secure`:// URL (ws and
    wss here, http and https for http_get, which borrows it): port 80 or 443
    unless given, path "/" unless given, an IPv6 host in brackets. ValueError
    for another scheme, no host, or a port not all ASCII digits."""
    if url.startswith(secure + "://"):
        is_secure, rest = True, url[len(secure) + 3:]
    elif url.startswith(plain + "://"):
        is_secure, rest = False, url[len(plain) + 3:]
    else:
        raise ValueError("URL must start with %s:// or %s://" % (plain, secure))
    cut = rest.find("/")
    netloc, path = (rest, "/") if cut < 0 else (rest[:cut], rest[cut:])
    if netloc.startswith("["):  # IPv6 literal
        end = netloc.find("]")
        host, port = netloc[1:end], netloc[end + 2:]
    else:
        colon = netloc.find(":")
        host, port = (netloc, "") if colon < 0 else (netloc[:colon], netloc[colon + 1:])
    if not host or (port and not digits(port)):
        raise ValueError("bad host or port in URL")
    return is_secure, host, int(port) if port else (443 if is_secure else 80), path


def accept_key(key):
    """Sec-WebSocket-Accept the server must answer to Sec-WebSocket-Key `key`."""
    digest = hashlib.sha1(key + GUID if isinstance(key, bytes) else key.encode() + GUID).digest()
    return binascii.b2a_base64(digest).strip().decode()


def basic_auth(user, password):
    """Authorization header value for HTTP Basic auth (security profiles 1 and 2)."""
    token = ("%s:%s" % (user or "", password)).encode()
    return "Basic " + binascii.b2a_base64(token).strip().decode()


async def _line(reader):
    """One line of the server's answer, refused past _MAX_LINE bytes: a
    stream's readline() has no limit, and a peer that never ends its line
    must not fill the heap."""
    line = bytearray()
    while line[-1:] != b"\n":
        c = await reader.read(1)
        if not c:
            break
        if len(line) >= _MAX_LINE:
            raise WebSocketError("handshake response line longer than %d bytes" % _MAX_LINE)
        line += c
    return bytes(line)


async def handshake(reader, writer, host, port, path, secure, subprotocol, user, password):
    """Send the upgrade request and check the answer: status 101, Upgrade,
    Sec-WebSocket-Accept, no extensions, exactly our subprotocol."""
    key = binascii.b2a_base64(os.urandom(16)).strip()
    default = 443 if secure else 80
    host_hdr = ("[%s]" % host if ":" in host else host) + ("" if port == default else ":%d" % port)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
           % (path, host_hdr, key.decode(), subprotocol))
    if password is not None:
        req += "Authorization: " + basic_auth(user, password) + "\r\n"
    writer.write((req + "\r\n").encode())
    await writer.drain()
    status = await _line(reader)
    parts = status.split()
    if len(parts) < 2 or parts[1] != b"101":
        text = "".join(chr(c) if 32 <= c < 127 else " " for c in status[:80]).strip()
        raise WebSocketError("handshake refused: " + (text or "connection closed before any answer"))
    got = {}
    for _ in range(_MAX_HEADERS):
        line = (await _line(reader)).decode()
        if not line.strip():
            break
        colon = line.find(":")
        if colon > 0:
            got[line[:colon].strip().lower()] = line[colon + 1:].strip()
    else:
        raise WebSocketError("handshake response has too many headers")
    if got.get("upgrade", "").lower() != "websocket" or "upgrade" not in got.get("connection", "").lower():
        raise WebSocketError("handshake response is not a WebSocket upgrade")
    if got.get("sec-websocket-accept") != accept_key(key):
        raise WebSocketError("handshake response has a wrong Sec-WebSocket-Accept")
    if "sec-websocket-extensions" in got:
        raise WebSocketError("server imposed an extension we did not offer")
    chosen = got.get("sec-websocket-protocol")
    if chosen != subprotocol:
        raise WebSocketError("server chose subprotocol %r, expected %r" % (chosen, subprotocol))
