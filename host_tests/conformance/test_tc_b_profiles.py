"""Network connection profiles (B09/B10): TC_B_43, 45, 46, 49. A second CSMS
of the tool stands for the one a station migrates to."""
from harness import case, var  # noqa: F401  (case: the fixture)

FAST = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0)


def test_tc_b_43(case):
    """Set new NetworkConnectionProfile - Rejected (B09.FR.02): slot 999 is
    not one the station has."""
    link = case.start()
    answer = link.call("SetNetworkProfile", {"configurationSlot": 999,
                                             "connectionData": case.profile(case.octt.url)})
    assert answer["status"] == "Rejected"
    assert case.get(link, var("OCPPCommCtrlr", "NetworkConfigurationPriority"))[0]["attributeValue"] == "0"


def test_tc_b_45(case):
    """Migrate to new ConnectionProfile - Same CSMS Root (B09.FR.01, B10.FR.01,
    .04, .06): the new profile in the free slot first in priority, a reset,
    and the station boots at the new CSMS."""
    link = case.start()
    new = case.another_csms()
    case.migrate(link, 1, case.profile(new.url), "1,0")
    link = new.link(1, 30)
    assert link.expect("BootNotification", 30)["reason"] == "RemoteReset"
    assert link.expect("StatusNotification")["connectorStatus"] == "Available"
    got = case.get(link, var("OCPPCommCtrlr", "ActiveNetworkProfile"),
                   var("OCPPCommCtrlr", "NetworkConfigurationPriority"))
    assert [r["attributeValue"] for r in got] == ["1", "1,0"]
    assert len(case.octt.links) == 1  # never back at the old CSMS


def test_tc_b_46(case):
    """Fallback mechanism - Same CSMS Root (B10.FR.03/.07): the new CSMS is
    down (its TCP port refuses); after NetworkProfileConnectionAttempts the
    station falls back to the slot that worked and boots there."""
    link = case.start()
    case.configure(link, NetworkProfileConnectionAttempts=2, **FAST)
    down = case.another_csms()
    down.pause()
    case.migrate(link, 1, case.profile(down.url), "1,0")
    link = case.booted(2, 30)
    assert link.calls("BootNotification")[0]["reason"] == "RemoteReset"
    assert case.get(link, var("OCPPCommCtrlr", "ActiveNetworkProfile"))[0]["attributeValue"] == "0"
    assert case.station.log().count("slot 1 failed; next slot 0") == 1


def test_tc_b_49(case):
    """Fallback after NetworkProfileConnectionAttempts per
    NetworkConfigurationPriority failed (B10.FR.07): with 1 attempt per slot
    and no back-off doubling, one refused attempt at the new CSMS, then the
    next slot."""
    link = case.start()
    case.configure(link, NetworkProfileConnectionAttempts=1, RetryBackOffRepeatTimes=0, **FAST)
    new = case.another_csms()
    new.refuse = 1000  # HTTP 503 to every upgrade
    case.migrate(link, 1, case.profile(new.url), "1,0")
    link = case.booted(2, 30)
    assert len(new.attempts) == 1
    assert case.get(link, var("OCPPCommCtrlr", "ActiveNetworkProfile"))[0]["attributeValue"] == "0"
