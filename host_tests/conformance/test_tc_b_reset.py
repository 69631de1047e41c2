"""Reset cases (B11) without a transaction: TC_B_20, TC_B_25. TC_B_28 is for
a station that cannot reset one EVSE; this one can (CONFORMANCE.md)."""
import time

from harness import case  # noqa: F401  (the fixture)


def test_tc_b_20(case):
    """Reset Charging Station - Without ongoing transaction - OnIdle
    (B11.FR.01-03): Accepted, the station reboots and boots again, reason
    RemoteReset, and reports its connectors; then its security events
    (StartupOfTheDevice, ResetOrReboot: A04)."""
    link = case.start()
    assert link.call("Reset", {"type": "OnIdle"})["status"] == "Accepted"
    link.wait_closed(20)
    again = case.booted(2, 30)
    assert again.calls("BootNotification")[0]["reason"] == "RemoteReset"
    events = case.security_events(again, "StartupOfTheDevice", "ResetOrReboot")
    assert events.count("ResetOrReboot") == 1
    assert "SecurityEventNotification" not in again.actions()[:2]  # not before Accepted and the connectors


def test_tc_b_25(case):
    """Reset EVSE - Without ongoing transaction (B11.FR.01, .08, .10):
    Accepted; that EVSE resets (the host board hands it to the charge
    controller in <flash>/evse_resets), the station stays connected."""
    link = case.start()
    assert link.call("Reset", {"type": "OnIdle", "evseId": 1})["status"] == "Accepted"
    case.wait_file("evse_resets", "1\n")
    time.sleep(0.5)
    assert link.closed is None and len(case.octt.links) == 1
