"""csagent.reports on the host board's defaults and on small made-up models,
with the real store; CPython and the MicroPython unix port.

The NotifyReport CALLs go to `Sink`, which stands where Agent.call stands
and serializes each one into the frame Rpc would send; the `ocpp` CSMS
receives them for real in host_tests/test_e2e_reports.py."""
import asyncio
import json

from csagent.reports import ATTEMPTS, SUMMARY, Reports
from csagent.rpc import CallError, CallFailed
from csagent.ws import ConnectionClosed
from scratch import with_flash
from test_model import COMM, DDC, HOST_DEFAULTS, PASSWORD, SEC, open_model, var, write_defaults

NOW = 1767225600  # 2026-01-01T00:00:00Z
LONGEST_ID = "x" * 36


class Sink:
    """Agent.call for the tests: keeps each NotifyReport frame as sent;
    `failures` maps a call number (0 = first) to the exception it raises."""

    def __init__(self, failures=None):
        self.frames = []
        self.calls = 0
        self.failures = failures or {}

    async def call(self, action, payload):
        assert action == "NotifyReport"
        n = self.calls
        self.calls += 1
        if n in self.failures:
            raise self.failures[n]
        text = "".join(payload)  # Agent.call gets the payload's JSON text in pieces
        json.loads(text)
        self.frames.append('[2,"%s","NotifyReport",%s]' % (LONGEST_ID, text))
        return {}

    def parts(self):
        return [json.loads(f)[3] for f in self.frames]


def reports_for(model, sink):
    return Reports(model, sink.call, lambda: NOW)


class Stalls(Sink):
    """A Sink whose second call never gets an answer."""

    stalled = False

    async def call(self, action, payload):
        if self.calls == 1 and not self.stalled:
            self.stalled = True
            await asyncio.sleep(3600)
        return await Sink.call(self, action, payload)


def run_report(answer):
    """Run what follows an Accepted answer to its end."""
    response, after = answer
    assert response == {"status": "Accepted"}, response
    asyncio.run(after())


def reassemble(parts, request_id):
    """The report a CSMS rebuilds; checks seqNo, tbc, requestId, generatedAt."""
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]
    entries = []
    for p in parts:
        assert p["requestId"] == request_id
        assert p["generatedAt"] == "2026-01-01T00:00:00Z"
        entries.extend(p["reportData"])
    return entries


def host_lines(**values):
    """The host board's defaults, with DeviceDataCtrlr values replaced:
    host_lines(ItemsPerMessage="1") changes ItemsPerMessage[GetReport]."""
    out = []
    with open(HOST_DEFAULTS) as f:
        for line in f:
            d = json.loads(line)
            if d["component"] == DDC and d["variable"] in values and d.get("variableInstance") == "GetReport":
                d["attributes"][0]["value"] = values[d["variable"]]
            out.append(d)
    return out


def check_limits(sink, items, size):
    for frame, part in zip(sink.frames, sink.parts()):
        assert len(part["reportData"]) <= items
        assert len(frame.encode()) <= size or len(part["reportData"]) == 1, (len(frame), part)


@with_flash
def test_full_inventory_is_the_whole_model_in_file_order(flash):
    m = open_model(flash)
    sink = Sink()
    run_report(reports_for(m, sink).get_base_report(
        {"requestId": 3, "reportBase": "FullInventory"}))
    entries = reassemble(sink.parts(), 3)
    assert entries == list(m.variables())
    assert len(entries) == 81 and len(sink.frames) > 1
    check_limits(sink, 16, 4096)


@with_flash
def test_one_item_per_message(flash):
    m = open_model(flash, write_defaults(flash, host_lines(ItemsPerMessage="1")))
    sink = Sink()
    run_report(reports_for(m, sink).get_base_report(
        {"requestId": 4, "reportBase": "FullInventory"}))
    assert reassemble(sink.parts(), 4) == list(m.variables())
    assert len(sink.frames) == 81
    check_limits(sink, 1, 4096)


@with_flash
def test_tiny_byte_limit_packs_small_entries_and_sends_big_ones_alone(flash):
    limit = 740  # two of the smallest host entries fit, the long message does not
    lines = host_lines(BytesPerMessage=str(limit))
    lines.insert(20, var("Display", "Message", "string", "Welcome! " * 50, "ReadOnly"))
    m = open_model(flash, write_defaults(flash, lines))
    sink = Sink()
    run_report(reports_for(m, sink).get_base_report(
        {"requestId": 5, "reportBase": "FullInventory"}))
    assert reassemble(sink.parts(), 5) == list(m.variables())
    check_limits(sink, 16, limit)
    counts = [len(p["reportData"]) for p in sink.parts()]
    oversized = [f for f in sink.frames if len(f.encode()) > limit]
    assert max(counts) > 1 and oversized  # both cases occur with this limit
    assert all(len(json.loads(f)[3]["reportData"]) == 1 for f in oversized)


@with_flash
def test_configuration_inventory_is_what_can_be_set_and_hides_the_password(flash):
    m = open_model(flash)
    m.apply_install({"identity": "CS1", "password": PASSWORD})
    sink = Sink()
    run_report(reports_for(m, sink).get_base_report(
        {"requestId": 6, "reportBase": "ConfigurationInventory"}))
    entries = reassemble(sink.parts(), 6)
    expected = [e for e in m.variables()
                if any(a["mutability"] in ("ReadWrite", "WriteOnly") for a in e["variableAttribute"])]
    assert entries == expected and len(entries) >= 10
    names = [e["variable"]["name"] for e in entries]
    assert "HeartbeatInterval" in names and "BasicAuthPassword" in names and "Model" not in names
    password, = [e for e in entries if e["variable"]["name"] == "BasicAuthPassword"]
    assert "value" not in password["variableAttribute"][0]
    assert not any(PASSWORD in frame for frame in sink.frames)


@with_flash
def test_summary_inventory_is_availability_and_condition(flash):
    m = open_model(flash)
    sink = Sink()
    run_report(reports_for(m, sink).get_base_report(
        {"requestId": 7, "reportBase": "SummaryInventory"}))
    entries = reassemble(sink.parts(), 7)
    assert entries == [e for e in m.variables() if e["variable"]["name"] in SUMMARY]
    states = [(e["component"]["name"], e["variable"]["name"]) for e in entries]
    for component in ("ChargingStation", "EVSE", "Connector"):
        assert (component, "AvailabilityState") in states


def criteria_model(flash):
    return open_model(flash, write_defaults(flash, [
        var("DDC", "Filler", "integer", "1", "ReadOnly"),
        var("Lamp", "Active", "boolean", "true", "ReadOnly"),
        var("Lamp", "Power", "integer", "5", "ReadOnly"),
        var("Lamp", "Active", "boolean", "false", "ReadOnly", componentInstance="Back"),
        var("Lamp", "Power", "integer", "6", "ReadOnly", componentInstance="Back"),
        var("Fan", "Enabled", "boolean", "false", "ReadOnly", evse=1),
        var("Fan", "Available", "boolean", "true", "ReadOnly", evse=1),
        var("Fan", "Problem", "boolean", "true", "ReadOnly", evse=1),
        var("Fan", "Speed", "integer", "3", "ReadOnly", evse=1),
        var("Fan", "Problem", "boolean", "false", "ReadOnly", evse=1, connector=1),
        var("Fan", "Speed", "integer", "2", "ReadOnly", evse=1, connector=1),
        var("Fan", "Speed", "integer", "1", "ReadOnly", evse=1, connector=2),
        var("Meter", "Reading", "integer", "1", "ReadOnly", variableInstance="A"),
        var("Meter", "Reading", "integer", "2", "ReadOnly", variableInstance="B"),
    ]))


def where(entry):
    """'Name/instance@evse.connector:Variable/instance' of a report entry."""
    c, v = entry["component"], entry["variable"]
    text = c["name"] + ("/" + c["instance"] if "instance" in c else "")
    if "evse" in c:
        text += "@%d" % c["evse"]["id"]
        if "connectorId" in c["evse"]:
            text += ".%d" % c["evse"]["connectorId"]
    return text + ":" + v["name"] + ("/" + v["instance"] if "instance" in v else "")


def custom(model, criteria=None, items=None, request_id=9):
    """The places a GetReport reports, or its status when not Accepted."""
    sink = Sink()
    payload = {"requestId": request_id}
    if criteria:
        payload["componentCriteria"] = criteria
    if items:
        payload["componentVariable"] = items
    answer = reports_for(model, sink).get_report(payload)
    if not isinstance(answer, tuple):
        assert not sink.frames
        return answer["status"]
    run_report(answer)
    return [where(e) for e in reassemble(sink.parts(), request_id)]


def cv(name, variable=None, instance=None, evse=None, connector=None, var_instance=None):
    c = {"name": name}
    if instance is not None:
        c["instance"] = instance
    if evse is not None:
        c["evse"] = {"id": evse}
        if connector is not None:
            c["evse"]["connectorId"] = connector
    item = {"component": c}
    if variable is not None:
        item["variable"] = {"name": variable}
        if var_instance is not None:
            item["variable"]["instance"] = var_instance
    return item


LAMP = ["Lamp:Active", "Lamp:Power"]
BACK = ["Lamp/Back:Active", "Lamp/Back:Power"]
FAN = ["Fan@1:Enabled", "Fan@1:Available", "Fan@1:Problem", "Fan@1:Speed"]
FAN1 = ["Fan@1.1:Problem", "Fan@1.1:Speed"]
FAN2 = ["Fan@1.2:Speed"]
OTHERS = ["DDC:Filler", "Meter:Reading/A", "Meter:Reading/B"]


@with_flash
def test_component_criteria(flash):
    m = criteria_model(flash)
    everything = custom(m)
    assert everything == ["DDC:Filler"] + LAMP + BACK + FAN + FAN1 + FAN2 + OTHERS[1:]
    # B08.FR.07: Active true, or no Active variable
    assert custom(m, ["Active"]) == ["DDC:Filler"] + LAMP + FAN + FAN1 + FAN2 + OTHERS[1:]
    # B08.FR.08 / B08.FR.09: the same for Available and Enabled
    assert custom(m, ["Available"]) == everything
    assert custom(m, ["Enabled"]) == ["DDC:Filler"] + LAMP + BACK + FAN1 + FAN2 + OTHERS[1:]
    # B08.FR.10: Problem true only
    assert custom(m, ["Problem"]) == FAN
    # any criterion met is enough
    assert custom(m, ["Problem", "Enabled"]) == everything
    m.set_value("Fan", "Problem", "false", evse=1)
    assert custom(m, ["Problem"]) == "EmptyResultSet"


@with_flash
def test_component_variable_filters(flash):
    m = criteria_model(flash)
    assert custom(m, items=[cv("lamp")]) == LAMP + BACK  # component alone, any instance
    assert custom(m, items=[cv("Lamp", instance="back")]) == BACK
    assert custom(m, items=[cv("Lamp", "power")]) == ["Lamp:Power", "Lamp/Back:Power"]
    assert custom(m, items=[cv("Lamp", "Power", instance="Back")]) == ["Lamp/Back:Power"]
    assert custom(m, items=[cv("Meter", "Reading")]) == ["Meter:Reading/A", "Meter:Reading/B"]
    assert custom(m, items=[cv("Meter", "Reading", var_instance="b")]) == ["Meter:Reading/B"]
    assert custom(m, items=[cv("Fan", "Speed")]) == ["Fan@1:Speed", "Fan@1.1:Speed", "Fan@1.2:Speed"]
    assert custom(m, items=[cv("Fan", evse=1)]) == FAN + FAN1 + FAN2  # no connectorId: any
    assert custom(m, items=[cv("Fan", evse=1, connector=1)]) == FAN1
    assert custom(m, items=[cv("Fan", "Speed", evse=1, connector=2)]) == FAN2
    assert custom(m, items=[cv("Fan", "Problem"), cv("Meter", "Reading", var_instance="A")]) == \
        ["Fan@1:Problem", "Fan@1.1:Problem", "Meter:Reading/A"]
    for nothing in (cv("Fan", evse=2), cv("Fan", evse=1, connector=3), cv("Lamp", instance="Side"),
                    cv("Lamp", "Colour"), cv("Meter", "Reading", var_instance="C"), cv("Pump")):
        assert custom(m, items=[nothing]) == "EmptyResultSet", nothing


@with_flash
def test_criteria_and_component_variable_together(flash):
    m = criteria_model(flash)
    assert custom(m, ["Problem"], [cv("Fan", "Speed")]) == ["Fan@1:Speed"]
    assert custom(m, ["Active"], [cv("Lamp", "Power")]) == ["Lamp:Power"]
    assert custom(m, ["Problem"], [cv("Lamp")]) == "EmptyResultSet"


@with_flash
def test_get_report_request_limits(flash):
    m = open_model(flash)  # ItemsPerMessageGetReport 16, BytesPerMessageGetReport 4096
    r = reports_for(m, Sink())
    try:
        r.get_report({"requestId": 1, "componentVariable": [cv("EVSE")] * 17})
        raise AssertionError("17 items accepted")
    except CallError as e:
        assert e.code == "OccurrenceConstraintViolation"  # B08.FR.17
    try:
        r.get_report({"requestId": 1, "componentVariable": [cv("EVSE")]}, 4097)
        raise AssertionError("4097 bytes accepted")
    except CallError as e:
        assert e.code == "FormatViolation"  # B08.FR.18
    assert r.get_report({"requestId": 1, "componentVariable": [cv("EVSE")] * 16}, 4096)[0]["status"] == "Accepted"


@with_flash
def test_second_request_while_one_runs_is_rejected(flash):
    m = open_model(flash)
    sink = Sink()
    r = reports_for(m, sink)
    first = r.get_base_report({"requestId": 1, "reportBase": "FullInventory"})
    second = r.get_report({"requestId": 2})
    assert second["status"] == "Rejected" and "1" in second["statusInfo"]["additionalInfo"]
    run_report(first)
    assert reassemble(sink.parts(), 1) == list(m.variables())
    assert r.get_report({"requestId": 2})[0]["status"] == "Accepted"


@with_flash
def test_failed_message_on_a_live_link_starts_over_from_seq_0(flash):
    m = open_model(flash, write_defaults(flash, host_lines(ItemsPerMessage="4")))
    sink = Sink({2: CallFailed("timeout")})
    r = reports_for(m, sink)
    run_report(r.get_base_report({"requestId": 8, "reportBase": "FullInventory"}))
    parts = sink.parts()
    assert [p["seqNo"] for p in parts[:2]] == [0, 1]
    assert reassemble(parts[2:], 8) == list(m.variables())  # seqNo 0 again: a CSMS drops 0 and 1


@with_flash
def test_report_given_up_after_attempts(flash):
    m = open_model(flash)
    sink = Sink({n: CallFailed("CALLERROR FormatViolation") for n in range(ATTEMPTS)})
    r = reports_for(m, sink)
    run_report(r.get_base_report({"requestId": 8, "reportBase": "FullInventory"}))
    assert sink.calls == ATTEMPTS and sink.frames == []
    assert r.get_report({"requestId": 9})[0]["status"] == "Accepted"  # the slot is free again


@with_flash
def test_lost_link_pauses_the_report_until_online(flash):
    m = open_model(flash, write_defaults(flash, host_lines(ItemsPerMessage="4")))
    for lost in (ConnectionClosed(1006, "gone"), CallFailed("connection closed 1006")):
        sink = Sink({3: lost})
        r = reports_for(m, sink)
        answer = r.get_base_report({"requestId": 10, "reportBase": "FullInventory"})
        if isinstance(lost, CallFailed):
            r.offline()  # Agent.session ends before the report hears of the loss
        run_report(answer)
        assert len(sink.frames) == 3
        assert r.get_report({"requestId": 11})["status"] == "Rejected"  # still under way

        assert r.waiting()
        asyncio.run(r.resume())  # Agent.online, once Accepted on the next link
        assert reassemble(sink.parts()[3:], 10) == list(m.variables())
        assert r.get_report({"requestId": 11})[0]["status"] == "Accepted"


@with_flash
def test_report_cancelled_with_its_connection_waits_to_start_over(flash):
    m = open_model(flash, write_defaults(flash, host_lines(ItemsPerMessage="4")))
    sink = Stalls()
    r = reports_for(m, sink)
    answer = r.get_base_report({"requestId": 14, "reportBase": "FullInventory"})

    async def connection_ends():
        task = asyncio.create_task(answer[1]())
        for _ in range(10):
            await asyncio.sleep(0)
        assert sink.stalled  # the second NotifyReport gets no answer
        task.cancel()  # Tasks.stop() at the end of Agent.session
        try:
            await task
        except asyncio.CancelledError:
            pass
    asyncio.run(connection_ends())
    assert r.waiting() and r.busy()
    asyncio.run(r.resume())
    assert not r.busy()
    assert reassemble(sink.parts()[1:], 14) == list(m.variables())  # seqNo 0 again


@with_flash
def test_an_unknown_criterion_is_not_supported_and_starts_no_report(flash):
    m = open_model(flash, write_defaults(flash, [var("Pump", "Problem", "boolean", "true", "ReadOnly")]))
    sink = Sink({})
    r = reports_for(m, sink)
    answer = r.get_report({"requestId": 19, "componentCriteria": ["Problem", "Broken"]})
    assert answer == {"status": "NotSupported", "statusInfo": {
        "reasonCode": "UnsupportedParam", "additionalInfo": "componentCriteria Broken"}}  # B08.FR.02, TC_B_19
    assert not r.busy()
    assert r.get_report({"requestId": 20, "componentCriteria": ["Problem"]})[0] == {"status": "Accepted"}


@with_flash
def test_a_report_that_became_empty_is_closed_by_an_empty_message(flash):
    m = open_model(flash, write_defaults(flash, [
        var("Pump", "Problem", "boolean", "true", "ReadOnly"),
        var("Pump", "Speed", "integer", "1", "ReadOnly"),
    ]))
    sink = Sink({0: CallFailed("timeout")})
    r = reports_for(m, sink)
    answer = r.get_report({"requestId": 12, "componentCriteria": ["Problem"]})
    m.set_value("Pump", "Problem", "false")  # solved before the report starts over
    run_report(answer)
    assert sink.parts() == [{"requestId": 12, "generatedAt": "2026-01-01T00:00:00Z", "seqNo": 0, "tbc": False}]


@with_flash
def test_values_are_cut_to_reporting_value_size(flash):
    lines = host_lines()
    for d in lines:
        if d["variable"] == "ReportingValueSize":
            d["attributes"][0]["value"] = "5"
    m = open_model(flash, write_defaults(flash, lines))
    m.set_value(SEC, "OrganizationName", "A very long organization name")
    sink = Sink()
    run_report(reports_for(m, sink).get_report(
        {"requestId": 13, "componentVariable": [cv(SEC, "OrganizationName"), cv(COMM, "HeartbeatInterval")]}))
    values = [e["variableAttribute"][0]["value"] for e in reassemble(sink.parts(), 13)]
    assert values == ["300", "A ver"]
