"""A cellular modem that speaks AT commands over an in-memory asyncio-style
(reader, writer) pair; CPython and the MicroPython unix port.

It answers the way 27.007 modems do (echo until ATE0, blank line before
each result, "+CME ERROR: n"), keeps the state a dialer depends on (SIM PIN
and PUK lock, operator selection, PDP context and authentication,
registration, data mode after CONNECT) and records every command line.
tools/cellmodem.py plays the same modem on a serial line, PPP included.
"""
import asyncio

PPP_START = b"~\xff}#\xc0!}!"  # the first bytes of an LCP Configure-Request


class FakeModem:
    """pin: SIM PIN the card wants (None: no PIN lock).
    creg / cereg: successive <stat> answers to AT+CREG? / AT+CEREG?, the last
    one repeating; cereg None: the modem has no +CEREG (a 2G/3G modem).
    networks: operators in reach (for +COPS manual selection).
    refuse_auth: <auth_prot>s +CGAUTH answers ERROR to.
    network_auth: <auth_prot>s the network accepts at ATD (else NO CARRIER);
    credentials: (user, password) it wants for PAP/CHAP.
    deaf: how many first commands get no answer (a modem still booting).
    replies: command line -> answer lines, in place of the built-in answer."""

    def __init__(self, pin=None, creg=(1,), cereg=None, networks=("20404",), refuse_auth=(),
                 network_auth=(0, 1, 2), credentials=None, deaf=0, replies=None,
                 iccid="89314404000012345678", imsi="204043612345678"):
        self.pin, self.pin_tries, self.creg, self.cereg = pin, 3, list(creg), cereg and list(cereg)
        self.networks, self.refuse_auth = networks, refuse_auth
        self.network_auth, self.credentials = network_auth, credentials
        self.deaf, self.replies = deaf, replies or {}
        self.iccid, self.imsi = iccid, imsi
        self.echo = True
        self.sim = "SIM PIN" if pin is not None else "READY"
        self.contexts, self.auth = {}, {}
        self.commands = []  # every command line received, in order
        self.data = b""  # what came after CONNECT (PPP)
        self.online = False
        self.registered = False  # seen registered by a +CREG?/+CEREG? answer
        self._line = b""
        self._out = b""
        self._ready = asyncio.Event()
        self.reader = _Reader(self)
        self.writer = _Writer(self)

    def receive(self, data):
        if self.online:
            self.data += data
            return
        self._line += data
        while b"\r" in self._line:
            i = self._line.find(b"\r")
            line, self._line = self._line[:i].decode(), self._line[i + 1:]
            if line.strip():
                self.commands.append(line)
                self._handle(line)

    def send(self, data):
        self._out += data
        self._ready.set()

    def _handle(self, line):
        if self.echo:
            self.send(line.encode() + b"\r")
        if self.deaf:
            self.deaf -= 1
            return
        answer = self.replies.get(line)
        if answer is None:
            answer = self._answer(line)
        for text in answer:
            self.send(b"\r\n" + text.encode() + b"\r\n")
        if answer and answer[-1].startswith("CONNECT"):
            self.online = True
            self.connected()

    def connected(self):
        """The data call is up: PPP from here (tools/cellmodem.py plays it)."""
        self.send(PPP_START)

    def _answer(self, line):
        cmd = line.upper()
        if cmd == "AT":
            return ["OK"]
        if cmd in ("ATE0", "ATE1"):
            self.echo = cmd == "ATE1"
            return ["OK"]
        if cmd in ("ATH", "ATH0"):  # hang up (after the +++ escape)
            return ["OK"]
        if cmd == "AT+CPIN?":
            return ["+CPIN: " + self.sim, "OK"]
        if cmd.startswith("AT+CPIN="):
            return self._enter_pin(line[8:].strip('"'))
        if cmd == "AT+CCID":
            return ["+CCID: " + self.iccid, "OK"]
        if self.sim != "READY":
            return ["+CME ERROR: %d" % (11 if self.sim == "SIM PIN" else 12)]
        if cmd == "AT+CIMI":
            return [self.imsi, "OK"]
        if cmd.startswith("AT+COPS="):
            return self._select_operator(_params(line[8:]))
        if cmd.startswith("AT+CGDCONT="):
            p = _params(line[11:])
            self.contexts[int(p[0])] = p[2]
            return ["OK"]
        if cmd.startswith("AT+CGAUTH="):
            p = _params(line[10:])
            if int(p[1]) in self.refuse_auth:
                return ["ERROR"]
            self.auth[int(p[0])] = (int(p[1]), tuple(p[2:4]))
            return ["OK"]
        if cmd == "AT+CREG?":
            return [self._registration("+CREG", self.creg), "OK"]
        if cmd == "AT+CEREG?" and self.cereg:
            return [self._registration("+CEREG", self.cereg), "OK"]
        if cmd.startswith("ATD*99***") and cmd.endswith("#"):
            return [self._data_call(int(cmd[9:-1]))]
        return ["ERROR"]

    def _enter_pin(self, pin):
        if self.sim != "SIM PIN":
            return ["+CME ERROR: %d" % (3 if self.sim == "READY" else 12)]
        if pin == self.pin:
            self.sim = "READY"
            return ["OK"]
        self.pin_tries -= 1
        if not self.pin_tries:
            self.sim = "SIM PUK"
        return ["+CME ERROR: 16"]  # incorrect password

    def _select_operator(self, p):
        if p[0] == "1" and p[2] not in self.networks:
            return ["+CME ERROR: 30"]  # no network service
        return ["OK"]

    def _registration(self, prefix, script):
        stat = script.pop(0) if len(script) > 1 else script[0]  # the last one stays
        self.registered = self.registered or stat in (1, 5)
        return "%s: 0,%d" % (prefix, stat)

    def _data_call(self, cid):
        if not self.registered:
            return "NO CARRIER"
        if cid not in self.contexts:
            return "ERROR"
        prot, creds = self.auth.get(cid, (0, ()))
        if prot not in self.network_auth:
            return "NO CARRIER"
        if prot and self.credentials is not None and creds != tuple(self.credentials):
            return "NO CARRIER"
        return "CONNECT 150000000"


def _params(text):
    """AT parameters: 1,"IP","a,b" -> ["1", "IP", "a,b"] (quotes kept apart)."""
    out, cur, quoted = [], "", False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


class _Reader:
    def __init__(self, modem):
        self.modem = modem

    async def readline(self):
        m = self.modem
        while b"\n" not in m._out:
            m._ready.clear()
            await m._ready.wait()
        i = m._out.find(b"\n") + 1
        line, m._out = m._out[:i], m._out[i:]
        return line

    async def read(self, n):
        m = self.modem
        while not m._out:
            m._ready.clear()
            await m._ready.wait()
        data, m._out = m._out[:n], m._out[n:]
        return data


class _Writer:
    def __init__(self, modem):
        self.modem = modem

    def write(self, data):
        self.modem.receive(bytes(data))

    async def drain(self):
        pass
