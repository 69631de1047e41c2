"""The host board: this machine standing in for a charger controller.

Its flash is a directory (argv[1]); a reset ends the process with
RESET_EXIT so tools/station.py can start it again on the same flash, as a
board reboots. A test marks a charging session by creating <flash>/charging
(csagent.board_base has that, the install file, certificates and time).
"""
import os
import sys

from csagent.board_base import Board as BoardBase
from csagent.board_base import exists

RESET_EXIT = 75  # the status tools/station.py restarts on
HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


class Board(BoardBase):
    max_frame = 65536
    connectors = [(1, 1)]  # (evse id, connector id), as in model.jsonl
    interfaces = ("Wired0",)  # OCPPInterface names this board can bring up
    has_modem = False

    def __init__(self, flash=None):
        super().__init__(flash or (sys.argv[1] if len(sys.argv) > 1 else "flash"),
                         os.getenv("CSAGENT_DEFAULTS") or HERE + "/model.jsonl")

    async def bring_up(self, profile):
        """Bring up the profile's interface. Here the network is this
        machine's; <flash>/link_down makes it fail, as a cable pulled."""
        if profile["ocppInterface"] not in self.interfaces:
            raise OSError("no interface " + profile["ocppInterface"])
        if exists(self.flash + "/link_down"):
            raise OSError("link down")

    def reset(self):
        sys.exit(RESET_EXIT)
