"""Cold boot cases (B01-B03, B30): TC_B_01, 02, 03, 30."""
import time

import pytest

from harness import case, var  # noqa: F401  (case: the fixture)
from octt import CallError


def test_tc_b_01(case):
    """Cold Boot - Accepted: Booted; every connector's state reported."""
    link = case.start()
    boot = link.calls("BootNotification")[0]
    assert boot["reason"] == "PowerUp"  # B01.FR.01
    assert boot["chargingStation"]["model"] and boot["chargingStation"]["vendorName"]
    assert link.actions()[0] == "BootNotification"  # nothing before it (B01.FR.09 context)
