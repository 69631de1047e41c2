"""csagent.model on the host board's defaults and on small made-up ones, with
the real store in a scratch directory; CPython and the MicroPython unix port."""
import gc
import json

from csagent.model import DeviceModel
from csagent.store import Store
from scratch import with_flash

HERE = __file__.rsplit("/", 1)[0]
HOST_DEFAULTS = HERE.rsplit("/", 2)[0] + "/boards/host/model.jsonl"
COMM, SEC, DDC = "OCPPCommCtrlr", "SecurityCtrlr", "DeviceDataCtrlr"
PASSWORD = "s3cret-Pass.word_0123"


class CountingStore(Store):
    commits = 0

    def commit(self, changes):
        self.commits += 1
        super().commit(changes)


def open_model(flash, defaults=HOST_DEFAULTS, store_class=Store):
    return DeviceModel(defaults, store_class(flash + "/store"))


def write_defaults(flash, lines, name="model.jsonl"):
    path = flash + "/" + name
    with open(path, "w") as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line))
            f.write("\n")
    return path


def var(component, variable, data_type="integer", value="1", mutability="ReadWrite", **extra):
    d = {"component": component, "variable": variable, "dataType": data_type,
         "attributes": [{"value": value, "mutability": mutability, "persistent": mutability != "ReadOnly"}]}
    d.update(extra)
    return d


def expect_error(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return str(e)
    raise AssertionError("no %s" % exc.__name__)


@with_flash
def test_host_defaults_read_case_insensitively(flash):
    m = open_model(flash)
    assert m.value(COMM, "HeartbeatInterval") == "300"
    assert m.value("ocppcommctrlr", "HEARTBEATINTERVAL") == "300"
    assert m.int_value(COMM, "HeartbeatInterval") == 300
    assert m.int_value(COMM, "MessageTimeout", var_instance="Default") == 30
    assert m.value(COMM, "MessageTimeout") is None  # only the Default instance exists
    assert m.int_value(COMM, "NoSuchThing", 7) == 7
    assert m.value(COMM, "HeartbeatInterval", attr="Target") is None
    assert m.int_value(DDC, "ItemsPerMessage", var_instance="getvariables") > 0
    assert m.value("EVSE", "Power", evse=1) == "0"
    assert m.value("EVSE", "Power") is None  # EVSE lives on tier evse 1
    assert m.value("Connector", "ConnectorType", evse=1, connector=1) == "sType2"
    assert m.value("Connector", "ConnectorType", evse=1) is None
    assert m.has_component("evse", evse=1) and not m.has_component("EVSE", evse=2)
    assert m.characteristics(COMM, "NetworkConfigurationPriority")["valuesList"] == "0,1,2"


@with_flash
def test_persistent_value_survives_restart(flash):
    m = open_model(flash)
    m.set_value(COMM, "HeartbeatInterval", 45)
    m.set_value(SEC, "SecurityProfile", "2")
    assert m.int_value(COMM, "HeartbeatInterval") == 45
    m.store.close()
    again = open_model(flash)
    assert again.int_value(COMM, "HeartbeatInterval") == 45
    assert again.value(SEC, "SecurityProfile") == "2"


@with_flash
def test_runtime_value_stays_in_ram(flash):
    m = open_model(flash, store_class=CountingStore)
    m.set_value("EVSE", "AvailabilityState", "Occupied", evse=1)
    m.set_value(COMM, "ActiveNetworkProfile", 1)
    m.set_value(COMM, "MessageTimeout", 12, var_instance="Default")
    assert m.value("EVSE", "AvailabilityState", evse=1) == "Occupied"
    assert m.int_value(COMM, "MessageTimeout", var_instance="Default") == 12
    assert m.store.commits == 0 and len(m.store) == 0
    m.store.close()
    assert open_model(flash).value("EVSE", "AvailabilityState", evse=1) == "Available"


@with_flash
def test_unchanged_value_writes_nothing(flash):
    m = open_model(flash, store_class=CountingStore)
    m.set_value(COMM, "HeartbeatInterval", "300")  # the default
    m.set_value(COMM, "HeartbeatInterval", "301")
    m.set_value(COMM, "HeartbeatInterval", "301")
    assert m.store.commits == 1


@with_flash
def test_set_value_keeps_to_characteristics(flash):
    m = open_model(flash)
    assert "ValueTooLow" in expect_error(ValueError, m.set_value, COMM, "HeartbeatInterval", 0)
    expect_error(ValueError, m.set_value, "EVSE", "AvailabilityState", "Sleeping", evse=1)
    expect_error(ValueError, m.set_value, "ChargingStation", "Available", "yes")
    expect_error(KeyError, m.set_value, COMM, "NoSuchThing", "1")
    expect_error(KeyError, m.set_value, COMM, "HeartbeatInterval", "1", attr="MaxSet")
    m.set_value("ChargingStation", "Available", False)
    assert m.value("ChargingStation", "Available") == "false"


@with_flash
def test_install_settings(flash):
    m = open_model(flash, store_class=CountingStore)
    m.apply_install({"identity": "CS-0042", "password": PASSWORD, "csms_url": "ws://127.0.0.1:9/"})
    assert m.store.commits == 1
    assert m.value(SEC, "Identity") == "CS-0042"
    assert m.value(SEC, "BasicAuthPassword") == PASSWORD  # the station's own read
    m.store.close()
    again = open_model(flash)
    assert again.value(SEC, "BasicAuthPassword") == PASSWORD


@with_flash
def test_install_refuses_bad_settings_whole(flash):
    m = open_model(flash)
    for settings in ({"identity": "CS:42"},  # ':' would break the Basic auth user name
                     {"identity": "x" * 49},
                     {"identity": "ok-id", "password": "short"},
                     {"password": PASSWORD + " space"},
                     {"identity": "ok-id", "password": 1234567890123456789}):
        message = expect_error(ValueError, m.apply_install, settings)
        assert PASSWORD not in message and "short" not in message
    assert len(m.store) == 0  # a bad password kept the good identity out too


@with_flash
def test_bad_defaults_name_their_line(flash):
    good = var("Ctrl", "Good")
    cases = (("{not json", "not JSON"),
             (var("Ctrl", "X", data_type="float"), "dataType"),
             (var("Ctrl", "X", data_type="OptionList", value="a"), "valuesList"),
             ({"component": "Ctrl", "variable": "X", "dataType": "integer",
               "attributes": [{"value": "1", "mutability": "ReadWrite"}]}, "persistent"),
             (var("Ctrl", "X", value="1.5"), "default value"),
             (var("Ctrl", "X", maxLimit="1e3"), "maxLimit must be a number"),
             (var("Ctrl", "X", minLimit=True), "minLimit must be a number"),
             (var("Ctrl", "X", data_type="decimal", value="22000.000001", maxLimit="22000"), "default value"),
             (var("Ctrl", "a:b"), "variable must be"),
             (var("C/1", "X"), "component must be"),
             (var("Ctrl", "X", connector=1), "connector without evse"),
             (var("EVSE", "X", evse="1"), "evse must be a number"),
             ({"component": "Ctrl", "variable": "X", "dataType": "integer", "attributes": ["1"]},
              "malformed"),
             ("[1, 2]", "not an object"),
             (var("CTRL", "good"), "defined twice"))
    for line, reason in cases:
        path = write_defaults(flash, [good, "", line])
        message = expect_error(ValueError, open_model, flash, path)
        assert "line 3" in message and reason in message, message


@with_flash
def test_colliding_keys_both_resolve(flash):
    # c:v50069 and c:v300100 share one 24-bit hash (found offline).
    path = write_defaults(flash, [var("C", "V50069", value="1"), var("C", "V300100", value="2")])
    m = open_model(flash, path)
    assert m.value("C", "V50069") == "1" and m.value("C", "V300100") == "2"
    assert m.value("C", "V50070") is None
    m.set_value("C", "V300100", 3)
    assert m.value("C", "V50069") == "1" and m.value("C", "V300100") == "3"
    dup = write_defaults(flash, [var("C", "V50069"), var("C", "V300100"), var("c", "v300100")], "dup.jsonl")
    assert "line 3" in expect_error(ValueError, open_model, flash, dup)


@with_flash
def test_instances_and_tiers_are_distinct(flash):
    path = write_defaults(flash, [
        var("Ctrl", "Size", value="1"),
        var("Ctrl", "Size", value="2", variableInstance="Big"),
        var("Ctrl", "Size", value="3", componentInstance="Left"),
        var("EVSE", "Size", value="4", evse=1),
        var("EVSE", "Size", value="5", evse=1, connector=1),
        var("EVSE", "Size", value="6", evse=2, connector=1)])
    m = open_model(flash, path)
    assert [m.value("Ctrl", "Size"), m.value("Ctrl", "Size", var_instance="big"),
            m.value("Ctrl", "Size", comp_instance="LEFT"), m.value("EVSE", "Size", evse=1),
            m.value("EVSE", "Size", evse=1, connector=1),
            m.value("EVSE", "Size", evse=2, connector=1)] == ["1", "2", "3", "4", "5", "6"]
    assert m.value("Ctrl", "Size", var_instance="") == "1"  # empty instance = none (B06.FR.15)
    m.set_value("Ctrl", "Size", 9, var_instance="Big")
    assert m.value("Ctrl", "Size") == "1" and m.value("Ctrl", "Size", var_instance="Big") == "9"


WANTED = ((SEC, None, None, "BasicAuthPassword", None), (COMM, None, None, "HeartbeatInterval", None),
          ("Connector", 1, 1, "ConnectorType", None), (DDC, None, None, "ItemsPerMessage", "GetVariables"))


@with_flash
def test_report_entries(flash):
    m = open_model(flash)
    m.apply_install({"identity": "CS-0042", "password": PASSWORD})
    m.set_value(COMM, "HeartbeatInterval", 77)
    by_name, count = {}, 0
    for e in m.variables():  # streamed: a Pico W's heap holds the entries one at a time
        count += 1
        assert PASSWORD not in repr(e)
        c = e["component"]
        key = (c["name"], c.get("evse", {}).get("id"), c.get("evse", {}).get("connectorId"),
               e["variable"]["name"], e["variable"].get("instance"))
        for a in e["variableAttribute"]:
            assert ("value" in a) == (a["mutability"] != "WriteOnly")
        if key in WANTED:
            by_name[key] = e
    with open(HOST_DEFAULTS) as f:
        assert count == len([line for line in f if line.strip()])
    password = by_name[(SEC, None, None, "BasicAuthPassword", None)]
    assert password["variableAttribute"] == [
        {"type": "Actual", "mutability": "WriteOnly", "persistent": True, "constant": False}]
    beat = by_name[(COMM, None, None, "HeartbeatInterval", None)]
    assert beat["variableAttribute"][0]["value"] == "77"
    assert beat["variableCharacteristics"] == {"unit": "s", "dataType": "integer", "minLimit": 1,
                                               "maxLimit": 86400, "supportsMonitoring": False}
    assert by_name[("Connector", 1, 1, "ConnectorType", None)]["component"] == {
        "name": "Connector", "evse": {"id": 1, "connectorId": 1}}
    assert by_name[(DDC, None, None, "ItemsPerMessage", "GetVariables")]["variable"] == {
        "name": "ItemsPerMessage", "instance": "GetVariables"}


@with_flash
def test_report_values_cut_to_reporting_size(flash):
    path = write_defaults(flash, [
        var(DDC, "ReportingValueSize", value="8", mutability="ReadOnly"),
        var("Ctrl", "Text", data_type="string", value="0123456789abc"),
        {"component": "Ctrl", "variable": "Range", "dataType": "integer",
         "attributes": [{"type": "MinSet", "value": "1", "mutability": "ReadWrite", "persistent": True},
                        {"type": "MaxSet", "value": "2", "mutability": "ReadWrite", "persistent": True},
                        {"type": "Target", "mutability": "ReadWrite", "persistent": True}]}])
    entries = list(open_model(flash, path).variables())
    assert entries[1]["variableAttribute"][0]["value"] == "01234567"
    assert [(a["type"], a["value"]) for a in entries[2]["variableAttribute"]] == [
        ("MinSet", "1"), ("MaxSet", "2"), ("Target", "")]


@with_flash
def test_provider_and_watchers(flash):
    m = open_model(flash)
    now = ["2026-01-02T03:04:05Z"]
    m.provide("ClockCtrlr", "DateTime", lambda: now[0])
    assert m.value("ClockCtrlr", "DateTime") == now[0]
    now[0] = "2026-01-02T03:04:06Z"
    assert m.value("clockctrlr", "datetime") == now[0]
    heard = []
    m.watch(lambda c, v: heard.append((c, v)))

    def broken(c, v):
        raise RuntimeError("watcher bug")
    m.watch(broken)
    m.watch(lambda c, v: heard.append("after"))
    m.notify(m.definition(COMM, "heartbeatinterval"))
    assert heard == [(COMM, "HeartbeatInterval"), "after"]  # names as defined, bad watcher skipped


@with_flash
def test_index_ram_does_not_grow_with_line_size(flash):
    """Loading keeps an offset per variable, never the line's text: 300
    variables with 600-character values need far less than their text."""
    long_value = "v" * 600
    path = flash + "/big.jsonl"
    with open(path, "w") as f:
        for i in range(300):
            f.write(json.dumps(var("Ctrl%d" % (i // 10), "Var%d" % i, "string", long_value)) + "\n")
    if not hasattr(gc, "mem_alloc"):  # CPython: only the lookups below
        m = open_model(flash, path)
    else:
        gc.collect()
        before = gc.mem_alloc()
        m = open_model(flash, path)
        gc.collect()
        grown = gc.mem_alloc() - before
        assert grown < 300 * 60, grown  # vs 300 * 700 bytes of JSON text
    assert m.value("Ctrl29", "Var299") == long_value and m.value("Ctrl0", "Var299") is None


@with_flash
def test_string_limits_are_reported_as_numbers(flash):
    path = write_defaults(flash, [var("EVSE", "Power", data_type="decimal", value="22000.000001",
                                      minLimit="-1", maxLimit="22000.000001")])
    m = open_model(flash, path)
    c = m.characteristics("EVSE", "Power")
    assert c["minLimit"] == -1 and type(c["minLimit"]) is int
    assert type(c["maxLimit"]) is float and abs(c["maxLimit"] - 22000) < 1  # JSON number, as the schema wants
    expect_error(ValueError, m.set_value, "EVSE", "Power", "22000.000002")
    m.set_value("EVSE", "Power", "22000.000001")


@with_flash
def test_the_last_definition_is_kept_and_right(flash):
    lines = [var("C", "V%d" % i, value=str(i)) for i in range(20)]
    m = open_model(flash, write_defaults(flash, lines))
    for _ in range(2):
        for i in range(20):
            assert m.value("C", "V%d" % i) == str(i)
            assert m.value("c", "v%d" % i) == str(i)  # another spelling, same variable
    assert m._last[0][:2] == ("c", "v19") and m._last[1]["key"] == "c:v19"
    assert m.definition("C", "V99") is None and m.definition("C:x", "V1") is None


@with_flash
def test_int_values_follow_every_write(flash):
    m = open_model(flash)
    assert m.int_value(COMM, "HeartbeatInterval") == 300
    m.set_value(COMM, "HeartbeatInterval", 60)  # persistent: through the store
    assert m.int_value(COMM, "HeartbeatInterval") == 60
    live = write_defaults(flash, [var("C", "N", value="5", mutability="ReadOnly")], "live.jsonl")
    m = open_model(flash, live)
    assert m.int_value("C", "N") == 5 and m.int_value("C", "Missing", 7) == 7
    m.set_value("C", "N", 6)  # not persistent: in RAM
    assert m.int_value("C", "N") == 6
    m.provide("C", "N", lambda: "8")
    assert m.int_value("C", "N") == 8
    for i in range(40):  # a bounded number of answers is kept
        m.int_value("C", "V%d" % i, i)
    assert len(m._ints) <= 8 and m.int_value("C", "N") == 8
