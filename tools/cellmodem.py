"""A cellular modem played on the host, for a board on a serial line (the
emulated Pico W's UART0, tools/emulator/pico.mjs --uart0 PORT).

  cellmodem.py --port PORT [--control PATH] [--pin PIN] [--auth NONE|PAP|CHAP]
               [--user U --password P]

The AT dialogue is host_tests/fake_modem.py's (SIM PIN, operator,
+CGDCONT/+CGAUTH, registration, ICCID/IMSI, ATD, NO CARRIER); after CONNECT
the modem plays the network's end of PPP (ppp_peer.py) and terminates IPv4
and TCP in user space, each TCP connection relayed to 127.0.0.1 on the
same port (user_tcp.py): no kernel PPP, no tun, no root, nothing beyond
loopback. The `+++` escape (a second of silence on each side) returns to
command mode with the call up; ATH ends it, ATO resumes it.

It logs, on stderr, what the board dialled (APN, authentication, user),
never a password or PIN. Faults on command, one per line on the control
socket (a Unix socket at PATH) or stdin:
  carrier-lost   the call drops: NO CARRIER, the board's PPP is not told
  lcp-terminate  the network ends PPP with an LCP Terminate-Request
  deregister     registration lost (+CREG: 0,2 from now on), the call drops
  register       registered again
  deaf           the modem stops answering anything
  answer         it answers again
"""
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "host_tests"))
from cli import OneLineParser  # noqa: E402
from fake_modem import FakeModem  # noqa: E402
from ppp_peer import PppPeer  # noqa: E402
from user_tcp import Relay  # noqa: E402

GUARD_S = 1.0  # the +++ escape's guard time (V.250 S12, 1 s by default)
TICK_S = 0.1
AUTH_NAMES = {0: None, 1: "PAP", 2: "CHAP"}
FAULTS = ("carrier-lost", "lcp-terminate", "deregister", "register", "deaf", "answer")


class CellModem(FakeModem):
    """The modem's state lives as long as the program: a board that resets
    finds it as it left it, in a data call maybe. write(bytes) reaches the
    board (or nowhere while no board is attached); log(text) one line."""

    def __init__(self, write, log, ppp_auth=None, **fake):
        super().__init__(**fake)
        self.write, self.log = write, log
        self.ppp_auth = ppp_auth  # NONE, PAP or CHAP; None: what +CGAUTH set
        self.mute = False
        self.ppp = self.relay = None
        self.call_up = False
        self.plus = 0  # '+' seen after a guard time, while online
        self.last_rx = 0.0
        self._cmd = b""

    def send(self, data):
        if not self.mute:
            self.write(data)

    def receive(self, data):
        if self.mute:
            return
        now = time.monotonic()
        quiet = now - self.last_rx
        self.last_rx = now
        if self.online:
            if data.strip(b"+") == b"" and (self.plus or quiet >= GUARD_S) and self.plus + len(data) <= 3:
                self.plus += len(data)  # maybe the escape: decided after the guard time
                return
            if self.plus:
                self.ppp.receive(b"+" * self.plus)
                self.plus = 0
            self.ppp.receive(data)
            return
        # command mode: PPP frames the board still sends ('~' flags, escaped
        # control characters) and line noise are no commands
        self._cmd += data
        while b"\r" in self._cmd:
            line, self._cmd = self._cmd.split(b"\r", 1)
            line = line.strip(b"\n")
            if line and all(32 <= b < 127 for b in line) and b"~" not in line:
                self._command(line.decode())
        self._cmd = self._cmd[-256:]

    def _command(self, line):
        cmd = line.upper()
        if cmd.startswith("AT+CPIN="):
            self.log("SIM PIN given")
        if cmd in ("ATH", "ATH0") and self.call_up:
            self._end_call("hung up (ATH)", carrier=False)
        if cmd == "ATO" and self.call_up:
            self.online = True
            self.send(b"\r\nCONNECT 150000000\r\n")
            return
        super().receive(line.encode() + b"\r")

    def connected(self):
        if self.call_up:
            self._end_call("a new call replaces the old", carrier=False)
        prot, creds = self.auth.get(1, (0, ()))
        apn = self.contexts.get(1, "")
        user = creds[0] if creds else ""
        self.log("dialled APN %s, CGAUTH %s%s" % (apn, AUTH_NAMES.get(prot) or "NONE",
                                                 " user " + user if user else ""))
        wanted = AUTH_NAMES.get(prot) if self.ppp_auth is None else self.ppp_auth
        auth = None if wanted in (None, "NONE") else wanted
        self.relay = Relay(lambda pkt: self.ppp.send_ip(pkt), self.log)
        self.ppp = PppPeer(self._data, self.relay.receive, self._ppp_event, auth, self.credentials)
        self.call_up = True
        self.ppp.start(time.monotonic())

    def _data(self, data):
        """PPP's bytes reach the board only in data mode: after +++ the
        call is up but the line carries AT commands."""
        if self.online:
            self.send(data)

    def _ppp_event(self, what):
        self.log("PPP " + what)
        if what.startswith(("terminated", "failed")):
            self._end_call(None)

    def _end_call(self, why, carrier=True):
        if why:
            self.log(why)
        self.relay.close_all()
        self.ppp = self.relay = None
        self.call_up = self.online = False
        self.plus = 0
        if carrier:
            self.send(b"\r\nNO CARRIER\r\n")

    def tick(self):
        now = time.monotonic()
        if self.plus == 3 and now - self.last_rx >= GUARD_S:
            self.plus = 0
            self.online = False
            self.log("+++ escape: command mode, the call stays up")
            self.send(b"\r\nOK\r\n")
        if self.ppp:
            self.ppp.tick(now)
        if self.relay:
            self.relay.tick(now)

    def fault(self, name):
        """One of FAULTS; returns what happened, for the control line."""
        self.log("fault: " + name)
        if name == "carrier-lost":
            if self.call_up:
                self._end_call("carrier lost")
        elif name == "lcp-terminate":
            if self.ppp:
                self.ppp.close(time.monotonic())
        elif name == "deregister":
            self.creg = [2]
            self.cereg = self.cereg and [2]
            self.registered = False
            if self.call_up:
                self._end_call("registration lost")
        elif name == "register":
            self.creg = [1]
            self.cereg = self.cereg and [1]
        elif name == "deaf":
            self.mute = True
        elif name == "answer":
            self.mute = False
        else:
            return "unknown fault %r; one of %s" % (name, " ".join(FAULTS))
        return "ok"


class ModemServer:
    """The modem on 127.0.0.1:port, where the emulator's UART0 connects; a
    new connection is the board starting again on the same modem."""

    def __init__(self, port=0, control=None, log=None, **modem):
        self.port, self.control = port, control
        self.log = log or (lambda text: sys.stderr.write("modem: %s\n" % text))
        self.writer = None
        self.modem = CellModem(self._write, self.log, **modem)
        self.servers = []
        self.ticker = None

    def _write(self, data):
        if self.writer and not self.writer.is_closing():
            self.writer.write(data)

    async def start(self):
        server = await asyncio.start_server(self._line, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        self.servers.append(server)
        if self.control:
            self.servers.append(await asyncio.start_unix_server(self._control, self.control))
        self.ticker = asyncio.ensure_future(self._tick())
        return self

    async def _tick(self):
        while True:
            await asyncio.sleep(TICK_S)
            self.modem.tick()

    async def _line(self, reader, writer):
        if self.writer:
            self.writer.close()
        self.writer = writer
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self.modem.receive(data)
        except OSError:
            pass
        finally:
            if self.writer is writer:
                self.writer = None
            writer.close()

    async def _control(self, reader, writer):
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            writer.write((self.modem.fault(line.decode(errors="replace").strip()) + "\n").encode())
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def stop(self):
        if self.ticker:
            self.ticker.cancel()
        for server in self.servers:
            server.close()
        if self.writer:
            self.writer.close()
        if self.modem.relay:
            self.modem.relay.close_all()
        if self.control and os.path.exists(self.control):
            os.remove(self.control)


async def send_fault(control, name, timeout=10):
    """Tell the modem at control socket `control` to inject a fault."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(control), timeout)
    writer.write(name.encode() + b"\n")
    answer = await asyncio.wait_for(reader.readline(), timeout)
    writer.close()
    return answer.decode().strip()


def parse(argv):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 for the board's serial line")
    p.add_argument("--control", help="a Unix socket path for fault commands")
    p.add_argument("--pin", help="the SIM's PIN (default: no PIN lock)")
    p.add_argument("--auth", choices=("NONE", "PAP", "CHAP"), help="what PPP asks of the board "
                   "(default: what AT+CGAUTH set)")
    p.add_argument("--user", help="with --password: the credentials the network accepts")
    p.add_argument("--password")
    args = p.parse_args(argv)
    if bool(args.user) != bool(args.password):
        p.error("--user and --password go together")
    if args.pin is not None and not (args.pin.isdigit() and 4 <= len(args.pin) <= 8):
        p.error("--pin wants 4 to 8 digits")
    return args


async def serve(args):
    credentials = (args.user, args.password) if args.user else None
    server = await ModemServer(args.port, args.control, pin=args.pin, credentials=credentials,
                               ppp_auth=args.auth).start()
    server.log("on 127.0.0.1:%d" % server.port)
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    try:
        while True:
            line = await lines.readline()
            if not line:
                await asyncio.Event().wait()  # stdin closed: serve until stopped
            if line.strip():
                server.log(server.modem.fault(line.decode(errors="replace").strip()))
    finally:
        await server.stop()


def main(argv=None):
    args = parse(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
