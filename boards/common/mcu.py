"""What the MicroPython microcontroller boards (ESP32, RP2) share: the WLAN
station, the watchdog, the RTC, reset and the serial number (a cellular
modem is ppp.py). boards/<name>/board.py subclasses McuBoard with what differs.

The port mounts its littlefs at / before main.py runs; the agent keeps its
files there (flash ""), next to the code and /model.jsonl.
"""
import machine
import network

from csagent.board_base import Board
from csagent.board_mcu import boot_reason, rtc_datetime, serial_number, settle

WLAN_MS = 20000  # association and DHCP
STABLE_MS = 2000  # a link must hold this long before it counts as up
MODEM = "Wireless1"  # the OCPPInterface of a cellular modem (ppp.Ppp)


class Wlan:
    """The WLAN station on the network of network.json. After a drop the
    port reconnects by itself; up() starts over when it gave up."""

    def __init__(self, board, pm=None):
        self.board = board
        self.pm = pm  # WLAN power management mode, None: the port's default
        self.nic = network.WLAN(network.STA_IF)
        self.failures = {network.STAT_WRONG_PASSWORD: "WLAN: wrong password",
                         network.STAT_NO_AP_FOUND: "WLAN: no access point",
                         network.STAT_CONNECT_FAIL: "WLAN: connect failed"}

    async def up(self, profile):
        nic = self.nic
        if nic.isconnected():
            return
        settings = self.board.read_json("network.json") or {}
        if not settings.get("ssid"):
            raise OSError("WLAN: no ssid in network.json")
        if settings.get("country"):
            network.country(settings["country"])
        nic.active(True)
        if self.pm is not None:
            nic.config(pm=self.pm)
        nic.connect(settings["ssid"], settings.get("key"))
        await settle(nic.isconnected, WLAN_MS, STABLE_MS,
                     failed=lambda: self.failures.get(nic.status()))

    def down(self):
        if self.nic.active():
            self.nic.active(False)


class McuBoard(Board):
    """Subclasses set reset_causes ({machine.reset_cause(): BootReason}),
    wdt_ms and make_links(): {OCPPInterface name: link with up(profile)
    and down()}, a ppp.Ppp under MODEM."""
    wdt_ms = 8000
    reset_causes = {}  # type: dict

    def __init__(self):
        super().__init__("", "/model.jsonl")
        self.links = self.make_links()
        self.interfaces = tuple(self.links)
        self.has_modem = MODEM in self.links
        self._wdt = None
        self._serial = None

    def make_links(self):
        return {"Wireless0": Wlan(self)}  # type: dict

    def add_modem(self, links):
        """A cellular modem as MODEM when modem.json (tools/deploy.py --modem)
        names its UART and the firmware has network.PPP."""
        config = self.read_json("modem.json")
        if config and hasattr(network, "PPP"):
            from ppp import Ppp  # only a board with a modem pays for its code
            links[MODEM] = Ppp(config)
        return links

    async def bring_up(self, profile):
        """One interface at a time: with two up, traffic would take whichever
        route the port prefers, not the profile's."""
        link = self.links.get(profile["ocppInterface"])
        if link is None:
            raise OSError("no interface " + profile["ocppInterface"])
        for other in self.links.values():
            if other is not link:
                other.down()
        await link.up(profile)

    def boot_reason(self):
        return boot_reason(machine.reset_cause(), self.reset_causes)

    def serial(self):
        if self._serial is None:
            self._serial = serial_number(machine.unique_id())
        return self._serial

    def modem_info(self):
        modem = self.links.get(MODEM)
        return modem.info if modem else None

    def set_time(self, seconds):
        machine.RTC().datetime(rtc_datetime(seconds))

    def feed(self):
        """The watchdog starts at the first feed, when the agent's loop runs,
        so a slow first start (formatting littlefs) cannot trip it."""
        if self._wdt is None:
            self._wdt = machine.WDT(timeout=self.wdt_ms)
        self._wdt.feed()

    def reset(self):
        machine.reset()
