"""csagent.http_get against servers that answer anything: generated
responses on CPython (hypothesis), and the same canned faults on the
MicroPython unix port. Whatever comes back, get() returns a body exactly
Content-Length long or raises HttpError, and never waits longer than its
timeout for a byte."""
import asyncio
import socket
import threading

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import run_micropython

from csagent.http_get import HttpError, get

CANNED = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
    (b"HTTP/1.1 200 OK\r\ncontent-length:3\r\nX: y\r\n\r\nabc", b"abc"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b""),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", None),
    (b"HTTP/1.1 301 Moved\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n", None),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", None),
    (b"HTTP/1.1 200 OK\r\n\r\nno length", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nlonger", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", None),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 60 + b"Content-Length: 1\r\n\r\nz", None),
    (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 2000 + b"\r\n\r\n", None),
    (b"", None),
    (b"garbage without any line end", None),
    (b"\xff\xfe\x00\x01\r\n\r\n", None),
]


class Server:
    """Answers every connection with the next canned response, then closes."""

    def __init__(self, responses):
        self.responses = list(responses)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for response in self.responses:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(4096)
                    conn.sendall(response)
                except OSError:
                    pass
        self.sock.close()


def fetch(port, timeout=1, most=1 << 20):
    body = []

    async def go():
        return await get("http://127.0.0.1:%d/fw" % port, body.append, timeout=timeout, most=most)
    try:
        n = asyncio.run(go())
    except HttpError as e:
        assert e.args and "\n" not in e.args[0]
        return None
    data = b"".join(body)
    assert n == len(data)
    return data


def test_canned_responses_on_cpython():
    server = Server([r for r, _ in CANNED])
    for response, want in CANNED:
        assert fetch(server.port, most=4096) == want, response[:60]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.lists(st.binary(max_size=40), max_size=6), length=st.one_of(st.none(), st.integers(0, 64)),
       body=st.binary(max_size=80))
def test_generated_responses_end_in_a_body_or_http_error(head, length, body):
    lines = [b"HTTP/1.1 200 OK"] + head + ([b"Content-Length: %d" % length] if length is not None else [])
    response = b"\r\n".join(lines) + b"\r\n\r\n" + body
    server = Server([response])
    got = fetch(server.port, timeout=0.5)
    if got is not None:
        assert length is not None and got == body[:length] == body


PROBE = """
import asyncio, sys
from csagent.http_get import HttpError, get
for port in sys.argv[1:]:
    body = []
    try:
        asyncio.run(get("http://127.0.0.1:%s/fw" % port, body.append, timeout=2, most=4096))
        print("OK", b"".join(body))
    except HttpError as e:
        print("HttpError", e.args[0].replace(" ", "_"))
"""


def test_canned_responses_on_the_unix_port(host_build, tmp_path):
    servers = [Server([r]) for r, _ in CANNED]
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    r = run_micropython([str(probe)] + [str(s.port) for s in servers], [host_build], timeout=120)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == len(CANNED), r.stdout + r.stderr
    for (response, want), line in zip(CANNED, lines):
        if want is None:
            assert line.startswith("HttpError "), (response[:60], line)
        else:
            assert line == "OK %r" % want, (response[:60], line)


def test_a_silent_server_times_out():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        assert fetch(sock.getsockname()[1], timeout=0.5) is None
    finally:
        sock.close()
