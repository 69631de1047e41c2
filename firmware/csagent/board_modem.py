"""For the boards with a cellular modem (boards/common/ppp.py): the dialer,
the AT commands (3GPP TS 27.007) that bring up a data call with the APN of
the active NetworkConnectionProfile (B09, B10). Like board_base and
board_mcu it serves the boards: a board imports it, the agent does not.

After CONNECT the stream carries PPP and the board hands it to network.PPP.
Nothing here logs, and no ModemError text carries apnPassword or simPin:
errors name the command (never its parameters) and the modem's result code.
"""
import asyncio

from .compat import ticks_diff, ticks_ms
from .values import digits

# Result codes that end a command's answer (ITU-T V.250, TS 27.007 9.2).
_FINAL = ("OK", "ERROR", "+CME ERROR", "+CMS ERROR", "NO CARRIER", "NO DIALTONE",
          "BUSY", "NO ANSWER", "CONNECT")
# apnAuthentication -> <auth_prot> of +CGAUTH (0 none, 1 PAP, 2 CHAP), in the
# order to try; AUTO tries CHAP, then PAP, then none.
_AUTH = {"NONE": (0,), "PAP": (1,), "CHAP": (2,), "AUTO": (2, 1, 0)}
_REGISTERED = (1, 5)  # <stat> of +CREG/+CEREG: registered home, roaming
_ICCID_COMMANDS = ("AT+CCID", "AT+QCCID", "AT+CICCID")  # 27.007-ish, Quectel, SIMCom


class ModemError(Exception):
    """Why the modem could not be used, in one line without secrets."""


def _starts(line, prefixes):
    for p in prefixes:
        if line.startswith(p):
            return True
    return False


def _name(cmd):
    """The command without its parameters, for error texts."""
    for i in range(len(cmd)):
        if cmd[i] in "=?":
            return cmd[:i]
    return cmd


def at_string(field, value):
    """`value` as a quoted AT string parameter. A double quote or backslash
    (the 27.007 escape) would change the value, control and non-ASCII
    characters are not IRA: refuse them rather than send something else."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ModemError(field + " is not a string")
    for c in value:
        if c < " " or c > "~" or c in '"\\':
            raise ModemError(field + " has a character an AT string cannot carry")
    return '"' + value + '"'


def _field(lines, prefix):
    """Text after `prefix:` in the first line that has it, else None."""
    for line in lines:
        if line.startswith(prefix + ":"):
            return line[len(prefix) + 1:].strip()
    return None


class Modem:
    """A modem on an asyncio (reader, writer) pair, e.g. a UART's streams.

    timeout_ms bounds a plain command; network_ms bounds what waits on the
    network (operator selection, registration, the data call); poll_ms is
    the registration poll period. password_first: SIMCom A76xx/SIM7600
    take +CGAUTH=<cid>,<type>,<password>,<user>, against 27.007's order."""

    def __init__(self, reader, writer, timeout_ms=5000, network_ms=60000, poll_ms=1000,
                 password_first=False):
        self.reader = reader
        self.writer = writer
        self.timeout_ms = timeout_ms
        self.network_ms = network_ms
        self.poll_ms = poll_ms
        self.password_first = password_first

    async def command(self, cmd, expect=("OK",), timeout_ms=None):
        """Send `cmd` and return the answer's lines before the final result;
        ModemError on another final result or no answer in time."""
        self.writer.write(cmd.encode() + b"\r")
        await self.writer.drain()
        ms = self.timeout_ms if timeout_ms is None else timeout_ms
        try:
            return await asyncio.wait_for(self._answer(cmd, expect), ms / 1000)
        except asyncio.TimeoutError:
            raise ModemError(_name(cmd) + ": no answer")

    async def _answer(self, cmd, expect):
        lines = []
        while True:
            raw = await self.reader.readline()
            if not raw:
                raise ModemError(_name(cmd) + ": line closed")
            try:
                line = raw.decode().strip()
            except UnicodeError:  # line noise, e.g. while the modem boots
                continue
            if not line or line == cmd:  # blank or the echo (until ATE0)
                continue
            if _starts(line, expect):
                return lines
            if _starts(line, _FINAL):
                raise ModemError(_name(cmd) + ": " + line)
            lines.append(line)

    async def dial(self, apn, cid=1):
        """Everything from a silent modem to CONNECT with the profile's APN
        (NetworkConnectionProfile.apn); checks the profile before sending."""
        auth = _AUTH.get(apn.get("apnAuthentication"))
        if auth is None:
            raise ModemError("apnAuthentication is not CHAP, PAP, NONE or AUTO")
        context = 'AT+CGDCONT=%d,"IP",%s' % (cid, at_string("apn", apn.get("apn")))
        user = at_string("apnUserName", apn.get("apnUserName"))
        password = at_string("apnPassword", apn.get("apnPassword"))
        operator = self._operator_command(apn)
        pin = apn.get("simPin")
        if pin is not None:
            if not isinstance(pin, int) or not 0 <= pin <= 99999999:
                raise ModemError("simPin is not 4 to 8 digits")
            pin = "%04d" % pin  # an integer loses leading zeros; PINs have 4+ digits
        await self._sync()
        await self.command("ATE0")
        await self._unlock(pin)
        await self.command(operator, timeout_ms=self.network_ms)
        await self.command(context)
        registered = False
        for prot in auth:
            try:
                await self.command(self._auth_command(cid, prot, user, password))
            except ModemError:
                if prot == auth[-1]:
                    raise
                continue  # AUTO: the modem refuses this method, try the next
            if not registered:
                await self._await_registration()
                registered = True
            try:
                await self.command("ATD*99***%d#" % cid, ("CONNECT",), self.network_ms)
                return
            except ModemError:
                if prot == auth[-1]:
                    raise

    def _operator_command(self, apn):
        """+COPS: manual when only the preferred network may be used, else
        manual with automatic fallback (mode 4), automatic without one."""
        network = apn.get("preferredNetwork")
        if not network:
            return "AT+COPS=0"
        if not isinstance(network, str) or not 5 <= len(network) <= 6 or not digits(network):
            raise ModemError("preferredNetwork is not MCC+MNC digits")
        return 'AT+COPS=%d,2,"%s"' % (1 if apn.get("useOnlyPreferredNetwork") else 4, network)

    def _auth_command(self, cid, prot, user, password):
        if prot == 0:
            return "AT+CGAUTH=%d,0" % cid
        if self.password_first:
            user, password = password, user
        return "AT+CGAUTH=%d,%d,%s,%s" % (cid, prot, user, password)

    async def _sync(self):
        """A modem just powered up may miss the first ATs (autobaud, boot)."""
        for _ in range(3):
            try:
                await self.command("AT", timeout_ms=min(self.timeout_ms, 1000))
                return
            except ModemError:
                pass
        raise ModemError("modem does not answer AT")

    async def _unlock(self, pin):
        """Give the PIN only when the SIM asks for it, and only once: wrong
        tries count towards the PUK lock."""
        state = _field(await self.command("AT+CPIN?"), "+CPIN")
        if state == "READY":
            return
        if state != "SIM PIN":
            raise ModemError("SIM not usable: " + str(state))
        if pin is None:
            raise ModemError("SIM needs a PIN and the profile has no simPin")
        await self.command('AT+CPIN="%s"' % pin)

    async def _registration(self, cmd, prefix):
        """<stat> of a +CREG?/+CEREG? answer; None when not supported."""
        try:
            fields = _field(await self.command(cmd), prefix)
        except ModemError:
            return None
        fields = fields.split(",") if fields else ()
        stat = fields[1].strip() if len(fields) > 1 else ""
        return int(stat) if digits(stat) else None

    async def _await_registration(self):
        """Poll circuit (CREG) then EPS (CEREG, LTE-only modems) registration."""
        start = ticks_ms()
        while True:
            cs = await self._registration("AT+CREG?", "+CREG")
            if cs in _REGISTERED:
                return
            eps = await self._registration("AT+CEREG?", "+CEREG")
            if eps in _REGISTERED:
                return
            if ticks_diff(ticks_ms(), start) >= self.network_ms:
                raise ModemError("not registered within %d ms (CREG %s, CEREG %s)"
                                 % (self.network_ms, cs, eps))
            await asyncio.sleep(self.poll_ms / 1000)

    async def info(self):
        """The BootNotification ModemType: iccid and imsi (max 20 each),
        each left out when the modem does not tell."""
        out = {}
        for cmd in _ICCID_COMMANDS:
            iccid = await self._identifier(cmd)
            if iccid:
                out["iccid"] = iccid
                break
        imsi = await self._identifier("AT+CIMI")
        if imsi:
            out["imsi"] = imsi
        return out

    async def _identifier(self, cmd):
        """The digits of "+CCID: 89...", "+ICCID: 89...F", '"89..."' or bare
        "89..."; a trailing F is the SIM's BCD filler, not a digit."""
        try:
            lines = await self.command(cmd)
        except ModemError:
            return None
        for line in lines:
            value = line[line.find(":") + 1:].strip().strip('"').rstrip("Ff")
            if len(value) >= 6 and digits(value):
                return value[:20]
        return None
