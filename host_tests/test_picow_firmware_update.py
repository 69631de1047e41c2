"""The secure firmware update (L01) on the emulated Pico W over its dialled
cellular link (tools/station.py --runtime picow): the CSMS installs the
manufacturer root, the board downloads a bundle through the modem, boots it
from the .mpy files of its slot on top of the frozen agent and keeps it;
then a bundle that cannot start is rolled back by the board itself.
Slow (the emulated RP2040 runs at about a fifth of real time): `make
firmware-test` runs it, with CSAGENT_PICOW naming the image."""
import os

import pytest

import picow
from firmware_server import FileServer, statuses
from firmware_server import request as update_request
from stations import Csms, StationProcess, run
from test_e2e_firmware_update import NEW, kit  # noqa: F401  (kit: the fixture)

pytestmark = pytest.mark.skipif(
    not os.environ.get("CSAGENT_PICOW"), reason="emulated Pico W: make firmware-test runs it (CSAGENT_PICOW)")

BOOT_S = 240  # from a (re)start to BootNotification, wall seconds, with a slow machine's margin


def on_board(server):
    """The bundle's location as the board reaches the host over PPP."""
    return server.url.replace("127.0.0.1", picow.PEER_HOST)


def test_update_then_a_rollback_on_the_pico(tmp_path, kit):  # noqa: F811
    async def go():
        good = await FileServer(kit["bundle"]).start()
        crash = await FileServer(kit["crash"]).start()
        csms = await Csms(interval=300, quiet=True).start()
        station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port, runtime="picow").start()
        try:
            st = await csms.wait_station("CS001", timeout=BOOT_S)
            await st.wait_for("StatusNotification", timeout=60)
            with open(kit["rsa"]["root"]) as f:
                answer = await st.request("InstallCertificate", {
                    "certificateType": "ManufacturerRootCertificate", "certificate": f.read()}, timeout=60)
            assert answer["status"] == "Accepted"
            payload = update_request(on_board(good), kit["rsa"], kit["sig"], 1)
            assert (await st.request("UpdateFirmware", payload, timeout=60))["status"] == "Accepted"
            st2 = await csms.wait_station("CS001", connections=2, timeout=BOOT_S + 300)
            boot, = await st2.wait_for("BootNotification", timeout=BOOT_S)
            assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == NEW, \
                station.log()[-3000:]
            await st2.wait_for("FirmwareStatusNotification", timeout=120)
            assert statuses(st) == [(s, 1) for s in ("Downloading", "Downloaded", "SignatureVerified",
                                                     "Installing", "InstallRebooting")]
            assert statuses(st2) == [("Installed", 1)]
            await st2.wait_for("StatusNotification", timeout=60)
            # an agent that cannot even import: the board goes back to the good one by itself
            payload = update_request(on_board(crash), kit["rsa"], kit["crash_sig"], 2)
            assert (await st2.request("UpdateFirmware", payload, timeout=60))["status"] == "Accepted"
            st3 = await csms.wait_station("CS001", connections=3, timeout=BOOT_S + 300)
            boot, = await st3.wait_for("BootNotification", timeout=BOOT_S)
            assert boot["chargingStation"]["firmwareVersion"] == NEW
            await st3.wait_for("FirmwareStatusNotification", timeout=120)
            assert statuses(st3) == [("InstallationFailed", 2)]
            assert "rolled back: ImportError" in station.log()
        finally:
            code = await station.stop(timeout=30)
            await csms.stop()
            await good.stop()
            await crash.stop()
            for s in csms.sessions:
                assert s.invalid == [], s.invalid
            assert code == 0, station.log()[-3000:]
    run(go())
