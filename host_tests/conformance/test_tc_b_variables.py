"""Get/SetVariables cases (B05/B06): TC_B_06-11, 32-37, 39. One Booted
station serves the module."""
from harness import booted, report, var  # noqa: F401  (booted: the fixture)


def _one(results):
    assert len(results) == 1, results
    return results[0]


def test_tc_b_06(booted):
    """Get Variables - single value (B06.FR.01-04, .10, .11)."""
    c, link = booted
    assert _one(c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "300")))["attributeStatus"] == "Accepted"
    r = _one(c.get(link, var("OCPPCommCtrlr", "OfflineThreshold")))
    assert r["attributeStatus"] == "Accepted" and r["attributeType"] == "Actual"  # type omitted -> Actual
    assert r["attributeValue"] == "300"
    assert r["component"] == {"name": "OCPPCommCtrlr"} and r["variable"] == {"name": "OfflineThreshold"}


def test_tc_b_07(booted):
    """Get Variables - multiple values (B06.FR.01)."""
    c, link = booted
    c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "300"), var("AuthCtrlr", "LocalAuthorizeOffline", "true"))
    got = c.get(link, var("OCPPCommCtrlr", "OfflineThreshold", attributeType="Actual"),
                var("AuthCtrlr", "LocalAuthorizeOffline", attributeType="Actual"))
    assert [(r["component"]["name"], r["attributeStatus"], r.get("attributeValue")) for r in got] == [
        ("OCPPCommCtrlr", "Accepted", "300"), ("AuthCtrlr", "Accepted", "true")]


def test_tc_b_32(booted):
    """Get Variables - Unknown component (B06.FR.06)."""
    c, link = booted
    r = _one(c.get(link, var("UnknownComponent", "OfflineThreshold")))
    assert r["attributeStatus"] == "UnknownComponent" and "attributeValue" not in r


def test_tc_b_33(booted):
    """Get Variables - Unknown variable (B06.FR.07)."""
    c, link = booted
    r = _one(c.get(link, var("OCPPCommCtrlr", "UnknownVariable")))
    assert r["attributeStatus"] == "UnknownVariable" and "attributeValue" not in r


def test_tc_b_34(booted):
    """Get Variables - Not supported attribute type (B06.FR.08)."""
    c, link = booted
    r = _one(c.get(link, var("OCPPCommCtrlr", "OfflineThreshold", attributeType="Target")))
    assert r["attributeStatus"] == "NotSupportedAttributeType" and r["attributeType"] == "Target"


def test_tc_b_09(booted):
    """Set Variables - single value (B05.FR.01-03, .12), read back."""
    c, link = booted
    r = _one(c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "301", attributeType="Actual")))
    assert r["attributeStatus"] == "Accepted" and r["attributeType"] == "Actual"
    assert r["component"] == {"name": "OCPPCommCtrlr"} and r["variable"] == {"name": "OfflineThreshold"}
    assert _one(c.get(link, var("OCPPCommCtrlr", "OfflineThreshold")))["attributeValue"] == "301"


def test_tc_b_10(booted):
    """Set Variables - multiple values (B05.FR.01)."""
    c, link = booted
    got = c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "302", attributeType="Actual"),
                var("AuthCtrlr", "LocalAuthorizeOffline", "false", attributeType="Actual"))
    assert [r["attributeStatus"] for r in got] == ["Accepted", "Accepted"]
    got = c.get(link, var("OCPPCommCtrlr", "OfflineThreshold"), var("AuthCtrlr", "LocalAuthorizeOffline"))
    assert [r["attributeValue"] for r in got] == ["302", "false"]


def test_tc_b_11(booted):
    """Set Variables - invalidly formatted values (B05.FR.07): Rejected, value kept."""
    c, link = booted
    before = _one(c.get(link, var("OCPPCommCtrlr", "OfflineThreshold")))["attributeValue"]
    for bad in ("abc", "1.5", "-1"):
        r = _one(c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", bad)))
        assert r["attributeStatus"] == "Rejected", (bad, r)
    assert _one(c.get(link, var("OCPPCommCtrlr", "OfflineThreshold")))["attributeValue"] == before


def test_tc_b_35(booted):
    """Set Variables - Unknown component (B05.FR.04)."""
    c, link = booted
    assert _one(c.set(link, var("UnknownComponent", "OfflineThreshold", "300")))["attributeStatus"] == \
        "UnknownComponent"


def test_tc_b_36(booted):
    """Set Variables - Unknown variable (B05.FR.05)."""
    c, link = booted
    assert _one(c.set(link, var("OCPPCommCtrlr", "UnknownVariable", "300")))["attributeStatus"] == "UnknownVariable"


def test_tc_b_37(booted):
    """Set Variables - Not supported attribute type (B05.FR.06)."""
    c, link = booted
    r = _one(c.set(link, var("OCPPCommCtrlr", "OfflineThreshold", "300", attributeType="Target")))
    assert r["attributeStatus"] == "NotSupportedAttributeType" and r["attributeType"] == "Target"


def test_tc_b_39(booted):
    """Set Variables - Read-only (B05.FR.08? read-only -> Rejected)."""
    c, link = booted
    item = var("OCPPCommCtrlr", "MessageTimeout", "30")
    item["variable"]["instance"] = "Default"
    r = _one(c.set(link, item))
    assert r["attributeStatus"] == "Rejected"
    assert r["variable"] == {"name": "MessageTimeout", "instance": "Default"}


def test_tc_b_08(booted):
    """Get Variables - limit to maximum number of values (B06.FR.05): after a
    FullInventory, ItemsPerMessageGetVariables + 1 variables in one request
    get all Rejected, or the last Rejected and the rest Accepted. The agent
    rejects them all (reasonCode TooManyElements, CONFORMANCE.md choice)."""
    c, link = booted
    status, entries = report(link, "GetBaseReport", {"reportBase": "FullInventory"})
    assert status == "Accepted"
    limit = int(_one(c.get(link, var("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="GetVariables")))
                ["attributeValue"])
    readable = [e for e in entries if any(a.get("mutability") != "WriteOnly" for a in e["variableAttribute"])]
    assert len(readable) > limit  # the case's prerequisite
    asked = [{"component": e["component"], "variable": e["variable"]} for e in readable[:limit + 1]]
    got = c.get(link, *asked)
    assert len(got) == limit + 1
    statuses = [r["attributeStatus"] for r in got]
    assert statuses == ["Rejected"] * (limit + 1) or statuses == ["Accepted"] * limit + ["Rejected"], statuses
    assert all("attributeValue" not in r for r in got if r["attributeStatus"] == "Rejected")
