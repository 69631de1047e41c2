"""A cellular modem on a UART for the MicroPython boards: network.PPP is in
the ESP32 firmware; on RP2 only in custom builds (MICROPY_PY_NETWORK_PPP_LWIP,
boards/ports/CSAGENT_PICO_W). A board imports this only when it has a modem.

network.PPP in MicroPython v1.28 (extmod/network_ppp_lwip.c on rp2, its
copy in ports/esp32): PPP(uart) takes the UART's IRQ_RXIDLE interrupt from
connect() until lwIP's PCB is freed; connect(security=, user=, key=),
disconnect(), isconnected(), status(): 0 inactive, 3 connecting, 4
connected, below 0 lwIP's error after the link failed. disconnect() ends a
link that is up or coming up, and frees the PCB once LCP has terminated;
the finaliser frees it at once (a running link) or after a failure: ESP32
keeps it as the deprecated active(False), rp2 has no active() and its
__del__ does it.
One PPP object is kept per UART: a second one's finaliser, run by a later
collection, would take the UART's interrupt from the first.
"""
import asyncio

import machine
import network

from csagent.board_mcu import settle
from csagent.compat import ticks_diff, ticks_ms
from csagent.log import log
from csagent.board_modem import Modem, ModemError
from mcu import STABLE_MS

PPP_MS = 30000  # LCP, authentication and IPCP after CONNECT
CLOSE_MS = 8000  # LCP Terminate-Request, its retries (lwIP: 2 x 3 s) and the free
_INACTIVE = 0
_CONNECTING = 3
_CONNECTED = 4


class Ppp:
    """A cellular modem on a UART: AT commands dial the profile's APN
    (csagent.board_modem), then network.PPP carries IP over the same UART.
    config: {"uart", "tx", "rx"[, "baudrate", "password_first"]}
    (modem.json on the board, tools/deploy.py --modem)."""

    def __init__(self, config):
        self.config = config
        self.uart = None
        self.ppp = None  # the one network.PPP on self.uart, made at the first dial
        self.info = None  # ICCID and IMSI for BootNotification

    async def up(self, profile):
        """Dial and bring PPP up. Called again while the link is up, it is
        because the connection over it failed: a carrier lost without a word
        to lwIP (LCP echo is off) looks just like that, so the call is
        ended and dialled again."""
        apn = profile.get("apn")
        if not apn:
            raise OSError(profile["ocppInterface"] + ": the profile has no apn")
        await self._hang_up()
        start = ticks_ms()
        c = self.config
        if self.uart is None:
            # txbuf: lwIP writes a PPP frame whole or not at all, and the
            # driver waits only ~1 ms for room (timeout_char): frames must
            # fit; the host's TCP window keeps 2 segments in flight
            self.uart = machine.UART(c["uart"], baudrate=c.get("baudrate", 115200), tx=c["tx"], rx=c["rx"],
                                     rxbuf=1024, txbuf=4096)
        modem = Modem(asyncio.StreamReader(self.uart), asyncio.StreamWriter(self.uart, {}),
                      password_first=c.get("password_first", False))
        try:
            await self._command_mode(modem, self.uart)
            self.info = await modem.info() or None  # read before the data call takes the line
            await modem.dial(apn)
        except ModemError as e:
            raise OSError(e.args[0])
        log("modem", "dialled in", ticks_diff(ticks_ms(), start), "ms")
        start = ticks_ms()
        if self.ppp is None:
            self.ppp = network.PPP(self.uart)
        ppp = self.ppp
        # The modem authenticates to the network (+CGAUTH); this is the link
        # to the modem, which asks for the same method if it asks at all.
        security = {"PAP": ppp.SEC_PAP, "CHAP": ppp.SEC_CHAP}.get(apn.get("apnAuthentication"), ppp.SEC_NONE)
        ppp.connect(security=security, user=apn.get("apnUserName") or "", key=apn.get("apnPassword") or "")
        try:
            await settle(ppp.isconnected, PPP_MS, STABLE_MS, failed=lambda: _failure(ppp))
        except OSError:
            self.down()
            raise
        log("ppp", "up in", ticks_diff(ticks_ms(), start), "ms")

    async def _hang_up(self):
        """Free the link before a dial. A running link is dropped at once (lwIP's
        carrier-lost close): a graceful LCP close waits for the modem's
        Terminate-Ack on lwIP's timers, which the rp2 port stops once no TCP
        socket is open and no link is up, so after a lost carrier it never
        ended, and kept lwIP's only PPP PCB. The modem is taken back with
        +++ and ATH anyway. A link still negotiating gets disconnect(); an
        object lwIP will not release is detached from the UART and left to
        the collector (its finaliser then touches no UART)."""
        ppp = self.ppp
        if ppp is None:
            return
        inactive = lambda: ppp.status() == _INACTIVE  # noqa: E731
        if ppp.status() == _CONNECTING:
            ppp.disconnect()
            await _until(inactive)
        if not inactive():
            self.down()
            await _until(inactive)
        if not inactive():
            ppp.config(stream=None)
            self.ppp = None

    async def _command_mode(self, modem, uart):
        """A modem still in a data call (PPP dropped, the board reset) takes
        no AT commands: escape with +++ between guard times and hang up.
        What the line holds before each step (the old call's PPP frames, the
        escape's own OK) is dropped, or it would be read as the next answer."""
        _drain(uart)
        try:
            await modem.command("AT", timeout_ms=500)
            return
        except ModemError:
            pass
        await asyncio.sleep(1.2)
        uart.write(b"+++")
        await asyncio.sleep(1.2)
        _drain(uart)
        try:
            await modem.command("ATH")
        except ModemError:
            pass  # dial() says whether the modem answers at all

    def down(self):
        """Free lwIP's PCB and give the UART's interrupt back, at once (no
        LCP goodbye: the next up() takes the modem back with +++ and ATH)."""
        ppp = self.ppp
        if ppp and ppp.status() != _INACTIVE:
            if hasattr(ppp, "active"):
                ppp.active(False)  # ESP32
            else:
                ppp.__del__()  # rp2: what its finaliser does, now


async def _until(done):
    try:
        await settle(done, CLOSE_MS, 0)
    except OSError:
        pass  # the caller looks again


def _drain(uart):
    while uart.any():
        uart.read()


def _failure(ppp):
    status = ppp.status()
    return "PPP: link failed (lwIP error %d)" % -status if status < 0 else None
