"""ESP32 board: MicroPython 1.28's ESP32_GENERIC firmware, or a custom one
with the agent frozen in (boards/esp32/manifest.py).

OCPPInterface names: Wireless0 the WLAN station (network.json), Wired0
Ethernet when ETHERNET is set (the dict below, for the hardware you build
on), Wireless1 a cellular modem when modem.json names its UART
(tools/deploy.py --modem; network.PPP is in the default ESP32 firmware).
"""
import machine
import network

from csagent.board_mcu import settle
from mcu import STABLE_MS, McuBoard

# network.LAN keyword arguments, or None without Ethernet. Olimex ESP32-POE:
#   {"mdc": 23, "mdio": 18, "power": 12, "phy_type": network.PHY_LAN8720,
#    "phy_addr": 0, "ref_clk": 17, "ref_clk_mode": machine.Pin.OUT}
# WT32-ETH01: {"mdc": 23, "mdio": 18, "phy_type": network.PHY_LAN8720, "phy_addr": 1}
ETHERNET = None  # type: dict | None
LAN_MS = 15000  # link and DHCP


class Lan:
    """Ethernet through the ESP32's MAC and an RMII PHY (or an SPI chip)."""

    def __init__(self, config):
        self.config = config
        self.nic = None

    async def up(self, profile):
        if self.nic is None:  # here, not at boot: a missing PHY fails this interface only
            self.nic = network.LAN(**self.config)
        self.nic.active(True)
        await settle(self.nic.isconnected, LAN_MS, STABLE_MS)

    def down(self):
        if self.nic and self.nic.active():
            self.nic.active(False)


class Board(McuBoard):
    max_frame = 8192
    wdt_ms = 30000  # a TLS handshake blocks the loop for a few seconds
    # machine.reset_cause() -> BootReason. HARD_RESET is a software reset
    # nobody announced (a panic, a tool's machine.reset()); the agent's own
    # resets are RemoteReset from its store. Waking from deep sleep is a power-up.
    reset_causes = {machine.PWRON_RESET: "PowerUp", machine.WDT_RESET: "Watchdog",
                    machine.HARD_RESET: "ApplicationReset", machine.SOFT_RESET: "LocalReset",
                    machine.DEEPSLEEP_RESET: "PowerUp"}

    def make_links(self):
        links = McuBoard.make_links(self)
        if ETHERNET:
            links["Wired0"] = Lan(ETHERNET)
        # A SIMCom SIM7600 on UART1: modem.json
        #   {"uart": 1, "tx": 17, "rx": 16, "baudrate": 115200, "password_first": true}
        return self.add_modem(links)
