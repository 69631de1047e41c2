"""A cellular modem on a UART for the MicroPython boards: network.PPP is in
the ESP32 firmware; on RP2 only in custom builds (MICROPY_PY_NETWORK_PPP_LWIP).
A board imports this only when it has a modem."""
import asyncio

import machine
import network

from csagent.board_mcu import settle
from csagent.modem import Modem, ModemError
from mcu import STABLE_MS

PPP_MS = 30000  # LCP, authentication and IPCP after CONNECT


class Ppp:
    """A cellular modem on a UART: AT commands dial the profile's APN
    (csagent.modem), then network.PPP carries IP over the same UART.
    config: {"uart", "tx", "rx"[, "baudrate", "password_first"]}."""

    def __init__(self, config):
        self.config = config
        self.uart = None
        self.ppp = None
        self.info = None  # ICCID and IMSI for BootNotification

    async def up(self, profile):
        if self.ppp and self.ppp.isconnected():
            return
        apn = profile.get("apn")
        if not apn:
            raise OSError(profile["ocppInterface"] + ": the profile has no apn")
        self.down()
        c = self.config
        if self.uart is None:
            self.uart = machine.UART(c["uart"], baudrate=c.get("baudrate", 115200),
                                     tx=c["tx"], rx=c["rx"], rxbuf=1024)
        modem = Modem(asyncio.StreamReader(self.uart), asyncio.StreamWriter(self.uart, {}),
                      password_first=c.get("password_first", False))
        try:
            await self._command_mode(modem, self.uart)
            self.info = await modem.info() or None  # read before the data call takes the line
            await modem.dial(apn)
        except ModemError as e:
            raise OSError(e.args[0])
        ppp = network.PPP(self.uart)
        self.ppp = ppp
        ppp.active(True)
        # The modem authenticates to the network (+CGAUTH); this is the link
        # to the modem, which asks for the same method if it asks at all.
        security = {"PAP": ppp.SEC_PAP, "CHAP": ppp.SEC_CHAP}.get(apn.get("apnAuthentication"), ppp.SEC_NONE)
        ppp.connect(security=security, user=apn.get("apnUserName") or "", key=apn.get("apnPassword") or "")
        await settle(ppp.isconnected, PPP_MS, STABLE_MS)

    async def _command_mode(self, modem, uart):
        """A modem still in a data call (PPP dropped, the board reset) takes
        no AT commands: escape with +++ between guard times and hang up."""
        try:
            await modem.command("AT", timeout_ms=500)
            return
        except ModemError:
            pass
        await asyncio.sleep(1.2)
        uart.write(b"+++")
        await asyncio.sleep(1.2)
        try:
            await modem.command("ATH")
        except ModemError:
            pass  # dial() says whether the modem answers at all

    def down(self):
        if self.ppp:
            self.ppp.active(False)
            self.ppp = None
