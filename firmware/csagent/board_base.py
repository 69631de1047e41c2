"""What every board shares that needs no hardware. boards/<name>/board.py
subclasses Board and adds its own (network, watchdog, clock, reset);
csagent.board_mcu has more for the microcontroller boards.

The board's flash (a directory on the host, the port's littlefs root on a
microcontroller) holds, besides the agent's store:
  install.json  first-start settings a technician left (tools/deploy.py)
  network.json  {"ssid", "key"[, "country"]}: the WLAN a microcontroller
                board joins. It stays:
                a NetworkConnectionProfile has no place for WLAN credentials.
  certs/        csms_root.pem (security profiles 2 and 3; the CSMS roots,
                one PEM bundle that TLS trusts whole), manufacturer_root.pem
                (the roots firmware signing certificates chain to), client.pem
                and client.key (profile 3); InstallCertificate and
                DeleteCertificate rewrite the bundles (csagent.certificates)
  charging      written by the charge controller while a session runs:
                the EVSE ids charging, or empty for all
  evse_resets   one EVSE id a line for each EVSE reset, for it to read
  connector_status  written by the charge controller when a connector
                changes: lines "<evse> <connector> <status>", the status one
                of CONNECTOR_STATUSES; a connector not named is Available
A board whose charge controller talks another way overrides charging(),
reset_evse(), connector_status() and status_changed().
"""
import asyncio
import json
import os
import time

from . import clock
from .compat import const



def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


# Unix seconds at the port's time epoch: time.time() counts from 1970 on
# unix and CPython, from 2000 on the ESP32 and RP2 ports.
EPOCH = clock.parse("%04d-01-01T00:00:00Z" % time.gmtime(0)[0])


# ConnectorStatusEnumType
CONNECTOR_STATUSES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")


class Board:
    max_frame = 8192  # largest incoming WebSocket frame
    connectors = [(1, 1)]  # (evse id, connector id), as in model.jsonl
    interfaces = ()  # OCPPInterface names the board can bring up
    has_modem = False

    def __init__(self, flash, defaults):
        """flash: the filesystem root the agent keeps its files under ("" is
        the root of a board's littlefs); defaults: the device model file."""
        self.flash = flash
        if flash and not exists(flash):
            os.mkdir(flash)
        self.defaults = defaults
        self._offset = 0
        self._statuses = None  # connector statuses status_changed() saw last

    def read_json(self, name):
        """The JSON file <flash>/<name>, or None when there is none."""
        try:
            with open(self.flash + "/" + name) as f:
                return json.load(f)
        except OSError:
            return None

    def install_done(self):
        """Called once the settings are in the store: a power cut before
        this point applies them again, after it never."""
        os.remove(self.flash + "/install.json")

    def boot_reason(self):
        return "PowerUp"

    def serial(self):
        """The serial number the hardware tells, or None to keep the one
        in model.jsonl."""
        return None

    def modem_info(self):
        return None

    def time(self):
        """Unix seconds, whatever the port's epoch."""
        return int(time.time()) + EPOCH + self._offset

    def set_time(self, seconds):
        self._offset = seconds - int(time.time()) - EPOCH

    def cert(self, name):
        """The path of <flash>/certs/<name> (csms_root.pem, client.pem,
        client.key), or None when it is not there."""
        path = self.flash + "/certs/" + name
        return path if exists(path) else None

    def charging(self, evse=None):
        """A session runs on `evse` (any EVSE when None) while
        <flash>/charging exists and names it (empty: every EVSE)."""
        try:
            with open(self.flash + "/charging") as f:
                names = f.read().split()
        except OSError:
            return False
        return not names or evse is None or str(evse) in names

    def reset_evse(self, evse):
        """Reset one EVSE: a line in <flash>/evse_resets for the charge
        controller."""
        with open(self.flash + "/evse_resets", "a") as f:
            f.write("%d\n" % evse)

    def connector_status(self, evse, connector):
        """The status of one connector now (CONNECTOR_STATUSES), from
        <flash>/connector_status."""
        try:
            with open(self.flash + "/connector_status") as f:
                lines = f.read().split("\n")
        except OSError:
            return "Available"
        for line in lines:
            words = line.split()
            if words[:2] == [str(evse), str(connector)] and len(words) == 3 and words[2] in CONNECTOR_STATUSES:
                return words[2]
        return "Available"

    async def status_changed(self):
        """Return once a connector's status differs from what this returned
        on last time (at once on the first call). A board told by an
        interrupt would wait on an asyncio.ThreadSafeFlag instead; this one
        checks every second."""
        while True:
            now = [self.connector_status(e, c) for e, c in self.connectors]
            if now != self._statuses:
                self._statuses = now
                return
            await asyncio.sleep(1)

    def feed(self):
        """Feed the watchdog; a board without one has nothing to do."""
