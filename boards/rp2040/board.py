"""Raspberry Pi Pico W board (RP2040 and its CYW43 WLAN chip): MicroPython
1.28's RPI_PICO_W firmware, or a custom one with the agent frozen in
(boards/rp2040/manifest.py).

OCPPInterface names: Wireless0 the WLAN station (network.json); Wireless1
a cellular modem when modem.json names its UART (tools/deploy.py --modem)
and the firmware has network.PPP, which the default RPI_PICO_W firmware
leaves out (make firmware BOARD=picow builds one with it). No Ethernet.
"""
import machine
import network

from mcu import McuBoard, Wlan

# machine.reset() reboots through the watchdog as well; the pico-sdk's
# watchdog_enable() (machine.WDT) leaves this magic in WATCHDOG SCRATCH4,
# watchdog_reboot() (machine.reset) does not, and power-on clears it.
_SCRATCH4 = 0x40058000 + 0x1C  # RP2040 WATCHDOG_BASE; RP2350: 0x400D8000
_WDT_MAGIC = 0x6AB73121


class Board(McuBoard):
    max_frame = 8192
    wdt_ms = 8388  # the RP2040's longest
    reset_causes = {machine.PWRON_RESET: "PowerUp", machine.WDT_RESET: "Watchdog"}

    def make_links(self):
        # Power saving off: the CYW43 would otherwise sleep between beacons
        # and answer the CSMS late; a charger is on mains power.
        # A modem on UART0, say a Quectel EC21: modem.json
        #   {"uart": 0, "tx": 0, "rx": 1, "baudrate": 115200}
        return self.add_modem({"Wireless0": Wlan(self, network.WLAN.PM_NONE)})

    def boot_reason(self):
        if machine.reset_cause() == machine.WDT_RESET and machine.mem32[_SCRATCH4] != _WDT_MAGIC:
            return "ApplicationReset"  # machine.reset(): a panic handler or a tool
        return McuBoard.boot_reason(self)
