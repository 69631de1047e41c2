"""The host board: this machine standing in for a charger controller.

Its flash is a directory (argv[1]); a reset ends the process with
RESET_EXIT so tools/station.py can start it again on the same flash, as a
board reboots. A test marks a charging session by creating <flash>/charging.
"""
import json
import os
import sys
import time

RESET_EXIT = 75  # the status tools/station.py restarts on
HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Board:
    name = "host"
    max_frame = 65536
    connectors = [(1, 1)]  # (evse id, connector id), as in model.jsonl
    interfaces = ("Wired0",)  # OCPPInterface names this board can bring up
    has_modem = False

    def __init__(self, flash=None):
        self.flash = flash or (sys.argv[1] if len(sys.argv) > 1 else "flash")
        if not _exists(self.flash):
            os.mkdir(self.flash)
        self.defaults = os.getenv("CSAGENT_DEFAULTS") or HERE + "/model.jsonl"
        self._offset = 0

    async def bring_up(self, profile):
        """Bring up the profile's interface. Here the network is this
        machine's; <flash>/link_down makes it fail, as a cable pulled."""
        if profile["ocppInterface"] not in self.interfaces:
            raise OSError("no interface " + profile["ocppInterface"])
        if _exists(self.flash + "/link_down"):
            raise OSError("link down")

    def boot_reason(self):
        return "PowerUp"

    def read_install(self):
        """Settings a technician left for the first start, or None."""
        path = self.flash + "/install.json"
        if not _exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def install_done(self):
        """Called once the settings are in the store: a power cut before
        this point applies them again, after it never."""
        os.remove(self.flash + "/install.json")

    def time(self):
        return int(time.time()) + self._offset

    def set_time(self, seconds):
        self._offset = seconds - int(time.time())

    def modem_info(self):
        return None

    def ca_file(self):
        return self._cert("csms_root.pem")

    def client_cert(self):
        return self._cert("client.pem")

    def client_key(self):
        return self._cert("client.key")

    def _cert(self, name):
        path = self.flash + "/certs/" + name
        return path if _exists(path) else None

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
        """Reset one EVSE: here a line in <flash>/evse_resets a test can read."""
        with open(self.flash + "/evse_resets", "a") as f:
            f.write("%d\n" % evse)

    def feed(self):
        """Feed the watchdog: the host has none."""

    def reset(self):
        sys.exit(RESET_EXIT)
