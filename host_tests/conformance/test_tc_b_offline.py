"""Status changes during an offline period (B04): TC_B_51, TC_B_52. The tool
drops the connection and refuses the station's attempts (HTTP 503) while
the charge controller reports a connector Occupied (<flash>/connector_status).
The host board has one connector, so "every connector" and "the connector
that changed" are the same StatusNotification; the unchanged connectors'
side is host_tests/test_e2e_offline.py's."""
import time

from harness import case  # noqa: F401  (the fixture)

FAST = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0, RetryBackOffRepeatTimes=0)


def offline(case, link, seconds):
    """Drop the link, refuse reconnection for `seconds` while connector 1
    becomes Occupied, then accept; the station's next connection."""
    case.octt.refuse = 1000
    link.drop()
    case.write("connector_status", "1 1 Occupied\n")
    time.sleep(seconds)
    case.octt.refuse = 0
    return case.octt.link(2, 20)


def test_tc_b_51(case):
    """> OfflineThreshold (B04.FR.01): back online, StatusNotification for
    every connector; no BootNotification (still Accepted)."""
    link = case.start()
    case.configure(link, OfflineThreshold=2, **FAST)
    again = offline(case, link, 3)
    status = again.expect("StatusNotification", 10)
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) == (1, 1, "Occupied")
    assert "BootNotification" not in again.actions()


def test_tc_b_52(case):
    """< OfflineThreshold (B04.FR.02): back online, StatusNotification for the
    connector that changed; no BootNotification."""
    link = case.start()
    case.configure(link, OfflineThreshold=300, **FAST)
    again = offline(case, link, 1)
    status = again.expect("StatusNotification", 10)
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) == (1, 1, "Occupied")
    assert "BootNotification" not in again.actions()
    time.sleep(1.5)  # the status the CSMS has heard is not told again
    assert len(again.calls("StatusNotification")) == 1
