"""Hand-written validator cases; run on CPython and on the MicroPython unix port."""
import json

from csagent.clock import is_datetime
from csagent.validate import check, known, walk

FORMAT, TYPE = "FormatViolation", "TypeConstraintViolation"
OCCURRENCE, PROPERTY = "OccurrenceConstraintViolation", "PropertyConstraintViolation"

COMPONENT = {"name": "OCPPCommCtrlr", "evse": {"id": 1, "connectorId": 1}}
VARIABLE = {"name": "HeartbeatInterval"}
BOOT = {"currentTime": "2024-05-01T12:00:00Z", "interval": 300, "status": "Accepted"}


def set_variables(*items):
    return {"setVariableData": [dict({"attributeValue": "60", "component": COMPONENT, "variable": VARIABLE}, **i)
                                for i in items]}


def network_profile(**connection):
    data = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms.example/ocpp",
            "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}
    data.update(connection)
    return {"configurationSlot": 1, "connectionData": data}


def code(result):
    return result and result[0]


def test_known_lists_the_received_messages_only():
    for action in ("GetVariables", "SetVariables", "GetBaseReport", "GetReport", "SetNetworkProfile", "Reset"):
        assert known(action) and not known(action, response=True)
    for action in ("BootNotification", "Heartbeat", "StatusNotification", "NotifyReport"):
        assert known(action, response=True) and not known(action)
    assert not known("Authorize") and not known("DataTransfer", response=True)


def test_action_without_table_is_an_internal_error():
    code, text = check("Authorize", {})
    assert code == "InternalError" and "Authorize request" in text
    assert check("DataTransfer", {}, True)[0] == "InternalError"


def test_valid_payloads_pass():
    assert check("Reset", {"type": "Immediate"}) is None
    assert check("Reset", {"type": "OnIdle", "evseId": 2 ** 70}) is None
    assert check("SetVariables", set_variables({}, {"attributeType": "Target"})) is None
    assert check("GetVariables", {"getVariableData": [{"component": {"name": "A"}, "variable": VARIABLE}]}) is None
    assert check("GetBaseReport", {"requestId": -1, "reportBase": "FullInventory"}) is None
    assert check("GetReport", {"requestId": 1, "componentCriteria": ["Active", "Problem", "Enabled", "Available"]}) is None
    apn = {"apn": "internet", "apnAuthentication": "AUTO", "simPin": 1234, "useOnlyPreferredNetwork": False}
    vpn = {"server": "vpn", "user": "u", "password": "p", "key": "k", "type": "IKEv2", "group": "g"}
    assert check("SetNetworkProfile", network_profile(apn=apn, vpn=vpn)) is None
    assert check("BootNotification", BOOT, response=True) is None
    assert check("Heartbeat", {"currentTime": "2024-05-01T12:00:00.123+02:00"}, response=True) is None
    assert check("StatusNotification", {}, response=True) is None


def test_payload_that_is_not_an_object_is_a_format_violation():
    for payload in ([], None, "Reset", 1, True):
        result = check("Reset", payload)
        assert code(result) == FORMAT and result[1].startswith("payload: object expected"), result


def test_undeclared_property_is_a_format_violation_naming_it():
    assert check("Reset", {"type": "Immediate", "zeta": 1, "alpha": 2}) == (FORMAT, "alpha: property not allowed")
    payload = set_variables({}, {"component": {"name": "A", "bogus": True}})
    assert check("SetVariables", payload) == (FORMAT, "setVariableData[1].component.bogus: property not allowed")


def test_custom_data_allows_any_extra_property_and_is_not_walked():
    deep = []
    for _ in range(2000):
        deep = [deep]
    custom = {"vendorId": "com.example", "anything": {"nested": deep}, "n": 1.5}
    assert check("Reset", {"type": "Immediate", "customData": custom}) is None
    assert code(check("Reset", {"type": "Immediate", "customData": {"anything": 1}})) == OCCURRENCE
    long_vendor = {"vendorId": "v" * 256}
    assert check("Reset", {"type": "Immediate", "customData": long_vendor}) == (
        PROPERTY, "customData.vendorId: longer than 255 characters")


def test_wrong_types_are_type_constraint_violations():
    assert check("Reset", {"type": "Immediate", "evseId": True}) == (
        TYPE, "evseId: integer expected, got boolean")
    assert check("Reset", {"type": "Immediate", "evseId": 1.0}) == (TYPE, "evseId: integer expected, got number")
    assert check("Reset", {"type": "Immediate", "evseId": "1"}) == (TYPE, "evseId: integer expected, got string")
    assert check("Reset", {"type": 1}) == (TYPE, "type: string expected, got integer")
    assert code(check("Reset", {"type": None})) == TYPE
    assert code(check("SetVariables", {"setVariableData": {}})) == TYPE
    assert check("SetVariables", set_variables({"component": "A"})) == (
        TYPE, "setVariableData[0].component: object expected, got string")
    apn = {"apn": "internet", "apnAuthentication": "AUTO", "useOnlyPreferredNetwork": 0}
    assert check("SetNetworkProfile", network_profile(apn=apn)) == (
        TYPE, "connectionData.apn.useOnlyPreferredNetwork: boolean expected, got integer")
    assert code(check("Heartbeat", {"currentTime": 1714564800}, response=True)) == TYPE


def test_deeply_nested_value_in_a_scalar_field_fails_at_once():
    deep = []
    for _ in range(3000):  # deeper than any recursion limit, within a 512K heap
        deep = [deep]
    assert check("Reset", {"type": "Immediate", "evseId": deep}) == (TYPE, "evseId: integer expected, got array")


def test_missing_required_and_item_counts_are_occurrence_violations():
    assert check("Reset", {}) == (OCCURRENCE, "type: required property missing")
    payload = set_variables({}, {}, {"component": {"evse": {"id": 1}, "name": "A"}, "variable": {}})
    assert check("SetVariables", payload) == (OCCURRENCE, "setVariableData[2].variable.name: required property missing")
    assert check("SetVariables", {"setVariableData": []}) == (OCCURRENCE, "setVariableData: fewer than 1 items")
    criteria = {"requestId": 1, "componentCriteria": ["Active"] * 5}
    assert check("GetReport", criteria) == (OCCURRENCE, "componentCriteria: more than 4 items")
    assert code(check("BootNotification", {"interval": 1, "status": "Accepted"}, response=True)) == OCCURRENCE


def test_values_out_of_bounds_are_property_violations():
    assert check("Reset", {"type": "Soon"}) == (PROPERTY, "type: not one of Immediate|OnIdle")
    assert check("Reset", {"type": "immediate"})[0] == PROPERTY
    assert check("SetVariables", set_variables({"attributeValue": "x" * 1000})) is None
    assert check("SetVariables", set_variables({"attributeValue": "x" * 1001})) == (
        PROPERTY, "setVariableData[0].attributeValue: longer than 1000 characters")
    accented = {"name": "\u00e9" * 50}  # 50 characters, 100 UTF-8 bytes: maxLength counts characters
    assert check("SetVariables", set_variables({"variable": accented})) is None
    # The one enumeration a handler checks (TC_B_19): reports.get_report answers NotSupported
    assert check("GetReport", {"requestId": 1, "componentCriteria": ["Broken"]}) is None
    assert code(check("GetBaseReport", {"requestId": 1, "reportBase": "Broken"})) == PROPERTY


def test_numbers_and_bounds_through_a_hand_built_table():
    # object{n: number 0..10 required, i: integer max 3}: kinds 0 object, 6 number, 5 integer
    table = (0, False, 9, "n", 9, True, "i", 12, False, 6, 0, 10, 5, None, 3)
    assert walk(table, 0, {"n": 0}) is None
    assert walk(table, 0, {"n": 10, "i": -5}) is None
    assert walk(table, 0, {"n": 2.5, "i": 3}) is None
    assert walk(table, 0, {"n": -0.5}) == (PROPERTY, "n: less than minimum 0")
    assert walk(table, 0, {"n": 10.01}) == (PROPERTY, "n: greater than maximum 10")
    assert walk(table, 0, {"n": 1, "i": 4}) == (PROPERTY, "i: greater than maximum 3")
    assert walk(table, 0, {"n": True}) == (TYPE, "n: number expected, got boolean")
    assert walk(table, 0, {"n": 1, "i": 2.0}) == (TYPE, "i: integer expected, got number")


def test_datetime_shape_and_ranges():
    for good in ("2024-05-01T12:00:00Z", "2024-05-01t12:00:00z", "2024-12-31T23:59:60.123456+14:00",
                 "0001-01-01T00:00:00-23:59", "2024-02-29T00:00:00.5Z"):
        assert is_datetime(good), good
    for bad in ("", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-13-01T00:00:00Z",
                "2024-00-01T00:00:00Z", "2024-05-32T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
                "2024-05-01T12:00:61Z", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200",
                "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00Z ", "24-05-01T12:00:00Z",
                "2024-05-01T12:00:00\u0661Z", "\u0662024-05-01T12:00:00Z", "2024-05-01T12:00:00ZZ"):
        assert not is_datetime(bad), bad
    stale = dict(BOOT, currentTime="2024-05-01T12:00:00")
    assert check("BootNotification", stale, response=True) == (PROPERTY, "currentTime: not an RFC 3339 date-time")


def test_descriptions_stay_within_255_characters():
    key = "k" * 10000
    result = check("Reset", {"type": "Immediate", key: 1})
    assert result[0] == FORMAT and len(result[1]) <= 255 and result[1].startswith("k" * 40 + "...")
    items = [{"attributeValue": "1", "component": COMPONENT, "variable": VARIABLE}] * 5000
    items.append({"component": COMPONENT, "variable": VARIABLE})
    result = check("SetVariables", {"setVariableData": items})
    assert result == (OCCURRENCE, "setVariableData[5000].attributeValue: required property missing")


def test_payload_is_left_untouched():
    payload = set_variables({"attributeType": "MaxSet"}, {"variable": {"name": "x", "extra": 1}})
    before = json.dumps(payload)
    assert code(check("SetVariables", payload)) == FORMAT
    assert check("SetVariables", json.loads(before)) == check("SetVariables", payload)
    assert json.dumps(payload) == before
