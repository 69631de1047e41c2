"""GetVariables (B06), SetVariables (B05) and the value checks, on the host
board's defaults with the real store; CPython and the MicroPython unix port."""
from csagent.store import Store
from csagent.clock import is_datetime
from csagent.values import check_value, limit
from csagent.rpc import CallError
from csagent.variables import get_variables, set_variables
from scratch import with_flash
from test_model import COMM, DDC, PASSWORD, SEC, CountingStore, expect_error, open_model, var, write_defaults


def item(component, variable, attr=None, value=None, evse=None, connector=None, comp_instance=None,
         var_instance=None):
    c = {"name": component}
    if comp_instance is not None:
        c["instance"] = comp_instance
    if evse is not None:
        c["evse"] = {"id": evse}
        if connector is not None:
            c["evse"]["connectorId"] = connector
    v = {"name": variable}
    if var_instance is not None:
        v["instance"] = var_instance
    d = {"component": c, "variable": v}
    if attr is not None:
        d["attributeType"] = attr
    if value is not None:
        d["attributeValue"] = value
    return d


def get(model, *items):
    return get_variables(model, {"getVariableData": list(items)})["getVariableResult"]


def put(model, *items):
    return set_variables(model, {"setVariableData": list(items)})["setVariableResult"]


def statuses(results):
    return [r["attributeStatus"] for r in results]


def reasons(results):
    return [r.get("attributeStatusInfo", {}).get("reasonCode") for r in results]


class FullStore(Store):
    """A store whose flash is full: every commit fails, as littlefs would."""

    def commit(self, changes):
        raise OSError(28)


# -- GetVariables (B06) ------------------------------------------------------

@with_flash
def test_get_statuses(flash):
    m = open_model(flash)
    asked = [item(COMM, "HeartbeatInterval"),
             item("ocppCommCtrlr", "heartbeatInterval", "Actual"),
             item("NoSuchCtrlr", "HeartbeatInterval"),
             item(COMM, "NoSuchVariable"),
             item(COMM, "HeartbeatInterval", "MaxSet"),
             item(SEC, "BasicAuthPassword"),
             item(COMM, "MessageTimeout"),
             item(COMM, "MessageTimeout", var_instance="Default"),
             item("EVSE", "Power"),
             item("EVSE", "Power", evse=1),
             item("EVSE", "Power", evse=2),
             item("Connector", "ConnectorType", evse=1, connector=1),
             item("Connector", "ConnectorType", evse=1, connector=2),
             item("EVSE@1", "Power"),
             item(COMM, "MessageTimeout/Default"),
             item(DDC, "ItemsPerMessage", var_instance="GetVariables:x")]
    results = get(m, *asked)
    assert statuses(results) == [
        "Accepted", "Accepted", "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType",
        "Rejected", "UnknownVariable", "Accepted", "UnknownComponent", "Accepted",
        "UnknownComponent", "Accepted", "UnknownComponent", "UnknownComponent", "UnknownVariable",
        "UnknownVariable"]
    assert [r.get("attributeValue") for r in results] == [
        "300", "300", None, None, None, None, None, "30", None, "0", None, "sType2", None, None, None,
        None]
    for asked_item, r in zip(asked, results):  # B06.FR.02/03/11
        assert r["component"] == asked_item["component"] and r["variable"] == asked_item["variable"]
        assert r["attributeType"] == asked_item.get("attributeType", "Actual")
    assert results[5]["attributeStatusInfo"] == {"reasonCode": "WriteOnly"}  # B06.FR.09


@with_flash
def test_get_never_reveals_the_password(flash):
    m = open_model(flash)
    m.apply_install({"identity": "CS-1", "password": PASSWORD})
    assert PASSWORD not in repr(get(m, item(SEC, "BasicAuthPassword"), item("securityctrlr", "basicauthpassword")))


@with_flash
def test_get_unset_attribute_and_cut_values(flash):
    path = write_defaults(flash, [
        var(DDC, "ReportingValueSize", value="10", mutability="ReadOnly"),
        var(DDC, "ValueSize", value="6", mutability="ReadOnly"),
        var("Ctrl", "Text", data_type="string", value="0123456789abc"),
        {"component": "Ctrl", "variable": "Fan", "dataType": "integer",
         "attributes": [{"value": "1200", "mutability": "ReadOnly"},
                        {"type": "Target", "mutability": "ReadWrite", "persistent": True}]}])
    m = open_model(flash, path)
    results = get(m, item("Ctrl", "Text"), item("Ctrl", "Fan", "Target"), item("Ctrl", "Fan"))
    assert statuses(results) == ["Accepted"] * 3
    # ValueSize 6 is below ReportingValueSize 10; B06.FR.13: "" for an unset Target
    assert [r["attributeValue"] for r in results] == ["012345", "", "1200"]


@with_flash
def test_get_limits(flash):
    m = open_model(flash)
    most = m.int_value(DDC, "ItemsPerMessage", var_instance="GetVariables")
    size = m.int_value(DDC, "BytesPerMessage", var_instance="GetVariables")
    payload = {"getVariableData": [item(COMM, "HeartbeatInterval")] * most}
    assert len(get_variables(m, payload, size)["getVariableResult"]) == most
    payload["getVariableData"].append(item(COMM, "HeartbeatInterval"))
    results = get_variables(m, payload)["getVariableResult"]  # TC_B choice, not B06.FR.16's CALLERROR
    assert statuses(results) == ["Rejected"] * (most + 1)
    assert {r["attributeStatusInfo"]["reasonCode"] for r in results} == {"TooManyElements"}
    assert all("attributeValue" not in r for r in results)
    try:
        get_variables(m, {"getVariableData": [item(COMM, "HeartbeatInterval")]}, size + 1)
        raise AssertionError("no CALLERROR")
    except CallError as e:  # B06.FR.17
        assert e.args[0] == "FormatViolation" and str(size) in e.args[1]


# -- SetVariables (B05) ------------------------------------------------------

@with_flash
def test_set_statuses(flash):
    m = open_model(flash)
    asked = [item(COMM, "HeartbeatInterval", value="120"),
             item(COMM, "OfflineThreshold", "Actual", "90"),
             item("NoSuchCtrlr", "HeartbeatInterval", value="1"),
             item(COMM, "NoSuchVariable", value="1"),
             item(COMM, "HeartbeatInterval", "Target", "1"),
             item(COMM, "MessageTimeout", value="10", var_instance="Default"),
             item(SEC, "SecurityProfile", value="3"),
             item(COMM, "HeartbeatInterval", value="0"),
             item(COMM, "HeartbeatInterval", value="86401"),
             item(COMM, "WebSocketPingInterval", value="ten"),
             item(COMM, "NetworkConfigurationPriority", value="1,0"),
             item(COMM, "NetworkConfigurationPriority", value="3"),
             item("EVSE", "Power", value="1", evse=1)]
    results = put(m, *asked)
    assert statuses(results) == [
        "Accepted", "Accepted", "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType",
        "Rejected", "Rejected", "Rejected", "Rejected", "Rejected", "RebootRequired", "Rejected",
        "Rejected"]
    assert reasons(results) == [None] * 5 + [
        "ReadOnly", "ReadOnly", "ValueTooLow", "ValueTooHigh", "InvalidValue", None, "InvalidValue",
        "ReadOnly"]
    for asked_item, r in zip(asked, results):  # B05.FR.02/03/12
        assert r["component"] == asked_item["component"] and r["variable"] == asked_item["variable"]
        assert r["attributeType"] == asked_item.get("attributeType", "Actual")
    assert m.value(COMM, "HeartbeatInterval") == "120"
    assert m.value(COMM, "NetworkConfigurationPriority") == "1,0"  # stored, acts after reboot
    assert m.value(SEC, "SecurityProfile") == "1" and m.value("EVSE", "Power", evse=1) == "0"


@with_flash
def test_accepted_is_in_flash_and_one_request_is_one_commit(flash):
    m = open_model(flash, store_class=CountingStore)
    results = put(m, item(COMM, "HeartbeatInterval", value="120"),
                  item(COMM, "RetryBackOffWaitMinimum", value="7"),
                  item(COMM, "NetworkConfigurationPriority", value="2,1,0"),
                  item(COMM, "HeartbeatInterval", value="-1"))
    assert statuses(results) == ["Accepted", "Accepted", "RebootRequired", "Rejected"]
    assert m.store.commits == 1
    fresh = Store(flash + "/store")  # what a restart right now would read
    again = open_model(flash)
    assert (again.value(COMM, "HeartbeatInterval"), again.value(COMM, "RetryBackOffWaitMinimum"),
            again.value(COMM, "NetworkConfigurationPriority")) == ("120", "7", "2,1,0")
    assert len(fresh) == 3
    assert statuses(put(m, item(COMM, "HeartbeatInterval", value="120"))) == ["Accepted"]
    assert m.store.commits == 1  # nothing changed, nothing written


@with_flash
def test_failed_commit_rejects_every_change(flash):
    m = open_model(flash, store_class=FullStore)
    heard = []
    m.watch(lambda c, v: heard.append(v))
    results = put(m, item(COMM, "HeartbeatInterval", value="120"),
                  item(COMM, "NetworkConfigurationPriority", value="1"),
                  item(COMM, "NoSuchVariable", value="1"))
    assert statuses(results) == ["Rejected", "Rejected", "UnknownVariable"]
    assert reasons(results) == ["OutOfStorage", "OutOfStorage", None]
    assert m.value(COMM, "HeartbeatInterval") == "300" and heard == []


@with_flash
def test_watchers_hear_accepted_changes_only(flash):
    m = open_model(flash)
    heard = []
    m.watch(lambda c, v: heard.append((c, v, m.value(c, v))))
    put(m, item("ocppcommctrlr", "websocketpinginterval", value="15"),
        item(COMM, "NetworkConfigurationPriority", value="1"),
        item(COMM, "HeartbeatInterval", value="0"),
        item(SEC, "BasicAuthPassword", value=PASSWORD))
    assert heard == [(COMM, "WebSocketPingInterval", "15"), (SEC, "BasicAuthPassword", PASSWORD)]


@with_flash
def test_set_password_write_only(flash):
    m = open_model(flash)
    results = put(m, item(SEC, "BasicAuthPassword", value="too-short"),
                  item(SEC, "BasicAuthPassword", value=PASSWORD + "!"),
                  item(SEC, "BasicAuthPassword", value="p" * 41))
    assert reasons(results) == ["ValueTooLow", "InvalidValue", "TooLargeElement"]
    assert statuses(put(m, item(SEC, "BasicAuthPassword", value=PASSWORD))) == ["Accepted"]
    assert m.value(SEC, "BasicAuthPassword") == PASSWORD
    assert statuses(get(m, item(SEC, "BasicAuthPassword"))) == ["Rejected"]


@with_flash
def test_set_value_size_and_extra_check(flash):
    path = write_defaults(flash, [
        var(DDC, "ConfigurationValueSize", value="8", mutability="ReadOnly"),
        var("Ctrl", "Text", data_type="string", value=""),
        var("Ctrl", "Slots", data_type="SequenceList", value="0", valuesList="0,1,2")])
    m = open_model(flash, path)
    m.add_check("Ctrl", "Slots", lambda value: None if "2" not in value.split(",") else "InvalidValue")
    results = put(m, item("Ctrl", "Text", value="12345678"), item("Ctrl", "Text", value="123456789"),
                  item("Ctrl", "Slots", value="1,0"), item("Ctrl", "Slots", value="2,0"))
    assert statuses(results) == ["Accepted", "Rejected", "Accepted", "Rejected"]
    assert reasons(results) == [None, "TooLargeElement", None, "InvalidValue"]
    assert m.value("Ctrl", "Slots") == "1,0"


@with_flash
def test_set_limits_give_callerrors(flash):
    m = open_model(flash)
    most = m.int_value(DDC, "ItemsPerMessage", var_instance="SetVariables")
    size = m.int_value(DDC, "BytesPerMessage", var_instance="SetVariables")
    payload = {"setVariableData": [item(COMM, "HeartbeatInterval", value="60")] * (most + 1)}
    e = expect_error(CallError, set_variables, m, payload)
    assert "OccurrenceConstraintViolation" in e
    e = expect_error(CallError, set_variables, m, {"setVariableData": payload["setVariableData"][:1]}, size + 1)
    assert "FormatViolation" in e
    assert m.value(COMM, "HeartbeatInterval") == "300"  # nothing applied


# -- value checks ------------------------------------------------------------

def test_integer_and_decimal_forms():
    integer = {"dataType": "integer", "minLimit": -5, "maxLimit": 2147483647}
    for ok in ("0", "-5", "42", "2147483647"):
        assert check_value(ok, integer) is None, ok
    for bad in ("", "-", "01", "+1", "1.0", "1e3", " 1", "1_000", "0x10", "2147483648", "abc"):
        assert check_value(bad, integer) == "InvalidValue", bad  # 2147483648: beyond 32 bits
    assert check_value("-6", integer) == "ValueTooLow"
    assert check_value("-2147483649", {"dataType": "integer"}) == "InvalidValue"
    decimal = {"dataType": "decimal", "minLimit": 0, "maxLimit": 22000}
    for ok in ("0", "0.5", "22000", "21999.999999", "10.25"):
        assert check_value(ok, decimal) is None, ok
    for bad in ("1.", ".5", "1.1234567", "1e3", "nan", "inf", "00.5"):
        assert check_value(bad, decimal) == "InvalidValue", bad
    assert check_value("22000.000001", decimal) == "ValueTooHigh"
    assert check_value("-0.1", decimal) == "ValueTooLow"


def test_decimals_compare_exactly():
    # Every one of these is decided wrongly by a single-precision float (rp2,
    # ESP32): 22000.000001 and 16777216.5 round to 22000.0 and 16777216.0.
    decimal = {"dataType": "decimal", "minLimit": "-0.000001", "maxLimit": 22000}
    assert check_value("22000.000001", decimal) == "ValueTooHigh"
    assert check_value("-0.000002", decimal) == "ValueTooLow"
    assert check_value("-0.000001", decimal) is None
    big = {"dataType": "decimal", "maxLimit": 16777216}
    assert [check_value(v, big) for v in ("16777216", "16777216.5", "16777217", "16777215.999999")] == [
        None, "ValueTooHigh", "ValueTooHigh", None]
    exact = {"dataType": "decimal", "minLimit": "0.000001", "maxLimit": "22000.000001"}
    assert [check_value(v, exact) for v in ("22000.000001", "22000.000002", "0", "0.000001", "0.0000010")] == [
        None, "ValueTooHigh", "ValueTooLow", None, "InvalidValue"]
    integer = {"dataType": "integer", "maxLimit": 16777216}
    assert check_value("16777217", integer) == "ValueTooHigh"
    halves = {"dataType": "decimal", "minLimit": -0.5, "maxLimit": 0.5}  # floats a float holds exactly
    assert [check_value(v, halves) for v in ("0.5", "0.500001", "-0.5", "-0.500001")] == [
        None, "ValueTooHigh", None, "ValueTooLow"]


def test_limits_in_millionths():
    assert limit(22000) == 22000000000 and limit("22000.000001") == 22000000001
    assert limit("-1.5") == -1500000 and limit(0.25) == 250000 and limit(2147483648) == 2147483648000000
    for bad in (True, None, "1e3", "abc", "1.", "", [1]):
        assert limit(bad) is None, bad
    length = {"dataType": "string", "maxLimit": "3"}  # a length limit written as a string
    assert check_value("abc", length) is None and check_value("abcd", length) == "TooLargeElement"


def test_boolean_and_datetime():
    assert check_value("true", {"dataType": "boolean"}) is None
    assert check_value("false", {"dataType": "boolean"}) is None
    for bad in ("True", "1", "yes", ""):
        assert check_value(bad, {"dataType": "boolean"}) == "InvalidValue"
    for ok in ("2019-04-12T23:20:50.52Z", "2019-12-19T16:39:57+01:00", "2024-02-29T00:00:00Z",
               "2026-11-26T04:09:23.123-00:30", "2016-12-31T23:59:60Z"):
        assert is_datetime(ok, 3), ok
    for bad in ("2019-04-12T23:20:50", "2019-04-12 23:20:50Z", "2019-04-12T23:20:50.1234Z",
                "2023-02-29T00:00:00Z", "2019-13-01T00:00:00Z", "2019-04-31T00:00:00Z",
                "2019-04-12T24:00:00Z", "2019-04-12T23:20:50.Z", "2019-04-12T23:20:50+0100", ""):
        assert not is_datetime(bad, 3), bad
    assert check_value("2019-04-12T23:20:50Z", {"dataType": "dateTime"}) is None


def test_lists():
    option = {"dataType": "OptionList", "valuesList": "Available,Occupied,Faulted"}
    assert check_value("Occupied", option) is None
    assert check_value("occupied", option) == "InvalidValue"
    assert check_value("Available,Occupied", option) == "InvalidValue"
    sequence = {"dataType": "SequenceList", "valuesList": "0,1,2", "minLimit": 1}
    assert [check_value(v, sequence) for v in ("2,0", "1", "0,1,2", "", "1,1", "3", "0, 1")] == [
        None, None, None, "ValueTooLow", "InvalidValue", "InvalidValue", "InvalidValue"]
    member = {"dataType": "MemberList", "valuesList": "FTP,HTTP,HTTPS", "maxLimit": 9}
    assert [check_value(v, member) for v in ("", "HTTP", "HTTPS,FTP", "HTTP,HTTPS", "SFTP")] == [
        None, None, None, "TooLargeElement", "InvalidValue"]


def test_strings_and_formats():
    assert check_value("any text ✓", {"dataType": "string"}) is None
    assert check_value("abcd", {"dataType": "string", "maxLimit": 3}) == "TooLargeElement"
    identity = {"dataType": "string", "maxLimit": 48, "format": "identity"}
    assert check_value("CS-01_a.b*c=d+e|f@g", identity) is None
    for bad in ("CS:01", "CS 01", "CS/01", "ü"):
        assert check_value(bad, identity) == "InvalidValue", bad
    password = {"dataType": "string", "minLimit": 16, "maxLimit": 40, "format": "passwordString"}
    assert check_value("a:b" + "c" * 13, password) is None
    assert check_value("a" * 15, password) == "ValueTooLow"
    assert check_value("a" * 15 + "#", password) == "InvalidValue"
