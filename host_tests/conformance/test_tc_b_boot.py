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


def test_tc_b_03(case):
    """Cold Boot - Rejected (B03.FR.02/.04/.06): no message before the next
    BootNotification, which comes no sooner than the interval."""
    link = case.start(boot=("Rejected", "Accepted"), boot_interval=2, booted=False)
    link = case.octt.link(1)
    link.expect("BootNotification", 20)
    t0 = time.monotonic()
    link.expect("BootNotification", 20)
    assert time.monotonic() - t0 >= 2 - 0.1
    assert link.actions()[:2] == ["BootNotification", "BootNotification"]
    assert link.expect("StatusNotification")["connectorStatus"] == "Available"


def test_tc_b_30(case):
    """Pending/Rejected - SecurityError (B03.FR.08): while Rejected a
    GetBaseReport gets CALLERROR SecurityError."""
    case.start(boot=("Rejected", "Accepted"), boot_interval=30, booted=False)
    link = case.octt.link(1)
    link.expect("BootNotification", 20)
    with pytest.raises(CallError) as e:
        link.call("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})
    assert e.value.code == "SecurityError"


def test_tc_b_02(case):
    """Cold Boot - Pending (B02, F06.FR.17): provisioning while Pending, then
    a BootNotification trigger ends the Pending interval early."""
    case.start(boot=("Pending", "Accepted"), boot_interval=300, booted=False)
    link = case.octt.link(1)
    link.expect("BootNotification", 20)
    assert case.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "300"))[0]["attributeStatus"] == "Accepted"
    assert case.get(link, var("OCPPCommCtrlr", "OfflineThreshold"))[0]["attributeValue"] == "300"
    assert link.call("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})["status"] == "Accepted"
    link.expect("NotifyReport")
    answer = link.call("RequestStartTransaction", {"idToken": {"idToken": "OCTT", "type": "ISO14443"},
                                                   "remoteStartId": 1})
    assert answer["status"] == "Rejected"
    assert link.call("TriggerMessage", {"requestedMessage": "BootNotification"})["status"] == "Accepted"
    boot = link.expect("BootNotification", 10)  # long before the 300 s Pending interval
    assert boot["reason"] == "Triggered"
    assert link.expect("StatusNotification")["connectorStatus"] == "Available"
