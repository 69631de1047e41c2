"""Report cases (B07/B08): TC_B_12-14, 16-19, 53-56. One Booted station."""
from harness import booted, report  # noqa: F401  (booted: the fixture)


def _names(entries):
    return {(e["component"]["name"], e["variable"]["name"]) for e in entries}


def test_tc_b_12(booted):
    """Get Base Report - ConfigurationInventory (B07.FR.03/04)."""
    status, entries = report(booted[1], "GetBaseReport", {"reportBase": "ConfigurationInventory"})
    assert status == "Accepted" and entries
    assert all(any(a["mutability"] != "ReadOnly" for a in e["variableAttribute"]) for e in entries)


def test_tc_b_13(booted):
    """Get Base Report - FullInventory (B07.FR.05)."""
    status, entries = report(booted[1], "GetBaseReport", {"reportBase": "FullInventory"})
    assert status == "Accepted"
    assert ("OCPPCommCtrlr", "OfflineThreshold") in _names(entries)


def test_tc_b_53(booted):
    """Get Base Report - the required DM variables are in FullInventory."""
    status, entries = report(booted[1], "GetBaseReport", {"reportBase": "FullInventory"})
    required = {("OCPPCommCtrlr", v) for v in ("FileTransferProtocols", "MessageTimeout", "NetworkConfigurationPriority",
                                               "NetworkProfileConnectionAttempts", "OfflineThreshold", "ResetRetries",
                                               "MessageAttemptsTransactionEvent", "UnlockOnEVSideDisconnect",
                                               "MessageAttemptIntervalTransactionEvent")}
    required |= {("AuthCtrlr", "AuthorizeRemoteStart"), ("AuthCtrlr", "LocalAuthorizeOffline"),
                 ("AuthCtrlr", "LocalPreAuthorize"), ("TxCtrlr", "EVConnectionTimeOut"), ("TxCtrlr", "TxStartPoint"),
                 ("TxCtrlr", "TxStopPoint"), ("TxCtrlr", "StopTxOnInvalidId"),
                 ("TxCtrlr", "StopTxOnEVSideDisconnect"), ("SampledDataCtrlr", "TxEndedMeasurands"),
                 ("AlignedDataCtrlr", "Measurands"), ("AlignedDataCtrlr", "Interval"),
                 ("ClockCtrlr", "DateTime"), ("SecurityCtrlr", "SecurityProfile")}
    assert required <= _names(entries), required - _names(entries)


def test_tc_b_14(booted):
    """Get Base Report - SummaryInventory (B07.FR.06)."""
    status, _ = report(booted[1], "GetBaseReport", {"reportBase": "SummaryInventory"})
    assert status == "Accepted"


def test_tc_b_16(booted):
    """Get Custom Report - with component criteria (B08.FR.07-10)."""
    status, entries = report(booted[1], "GetReport", {"componentCriteria": ["Enabled"]})
    assert status == "Accepted" and entries


def test_tc_b_17(booted):
    """Get Custom Report - with component/variable (B08.FR.03)."""
    status, entries = report(booted[1], "GetReport", {"componentVariable": [
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"}}]})
    assert status == "Accepted"
    assert [(e["component"]["name"], e["variable"]["name"]) for e in entries] == [("EVSE", "AvailabilityState")]


def test_tc_b_18(booted):
    """Get Custom Report - criteria and component/variable: a match, then
    EmptyResultSet (B08.FR.04/05)."""
    cv = [{"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"}}]
    assert report(booted[1], "GetReport", {"componentCriteria": ["Available"], "componentVariable": cv})[0] == "Accepted"
    assert report(booted[1], "GetReport", {"componentCriteria": ["Problem"], "componentVariable": cv})[0] == \
        "EmptyResultSet"


def test_tc_b_54(booted):
    """Get Custom Report - component/variable without instance: every instance."""
    _, entries = report(booted[1], "GetReport", {"componentVariable": [
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage"}}]})
    assert {e["variable"].get("instance") for e in entries} >= {"GetReport", "GetVariables", "SetVariables"}


def test_tc_b_55(booted):
    """Get Custom Report - component/variable/instance: that one instance."""
    _, entries = report(booted[1], "GetReport", {"componentVariable": [
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}}]})
    assert [e["variable"] for e in entries] == [{"name": "ItemsPerMessage", "instance": "GetReport"}]


def test_tc_b_56(booted):
    """Get Custom Report - component/variable without evseId: every EVSE."""
    _, entries = report(booted[1], "GetReport", {"componentVariable": [
        {"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}}]})
    assert entries and all(e["component"]["name"] == "EVSE" and "evse" in e["component"] for e in entries)


def test_tc_b_19(booted):
    """Get Custom Report - for unknown component criteria (B08.FR.02): a value
    outside ComponentCriterionEnumType gets NotSupported, not a CALLERROR,
    and no report follows."""
    link = booted[1]
    answer = link.call("GetReport", {"requestId": 19, "componentCriteria": ["Available", "UnknownCriterion"]})
    assert answer["status"] == "NotSupported"
    assert answer["statusInfo"]["additionalInfo"] == "componentCriteria UnknownCriterion"
    status, entries = report(link, "GetReport", {"componentCriteria": ["Available"]})
    assert status == "Accepted" and entries  # the valid criterion alone still reports
