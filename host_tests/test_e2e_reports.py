"""Issue 6 end to end: GetBaseReport (B07) and GetReport (B08) answered by the
agent on the MicroPython unix port, the NotifyReport parts reassembled by the
`ocpp` package's CSMS (which checks each against the official schema).

The expected report is built here from the defaults file and what
GetVariables answers, not by the agent's own code."""
import asyncio
import datetime
import importlib.util
import json
import os

from conftest import ROOT
from stations import Csms, StationProcess, run


def _load_bench():
    """bench/reports.py by path: `bench` alone may name tools/bench.py."""
    spec = importlib.util.spec_from_file_location("bench_reports", os.path.join(ROOT, "bench", "reports.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_reports = _load_bench()

HOST_DEFAULTS = os.path.join(ROOT, "boards", "host", "model.jsonl")
PASSWORD = "Rep0rt-Secret.pass_42"
DDC = "DeviceDataCtrlr"
HEAP = None  # the runner's default


async def scenario(tmp_path, body, defaults=None, **station_kw):
    """Run body(csms, station, st, defaults) with one station on `defaults`."""
    defaults = defaults or HOST_DEFAULTS
    os.environ["CSAGENT_DEFAULTS"] = defaults  # read by boards/host/board.py in the station process
    csms = await Csms(interval=300, password=PASSWORD, quiet=True).start()
    station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port, password=PASSWORD,
                                   heap=HEAP, **station_kw).start()
    try:
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        await body(csms, station, st, defaults)
    finally:
        del os.environ["CSAGENT_DEFAULTS"]
        code = await station.stop()
        await csms.stop()
        for s in csms.stations.values():
            assert s.invalid == [], s.invalid  # every NotifyReport passed the official schema
            assert PASSWORD not in json.dumps(s.received)  # B07/B08: WriteOnly never reported
        log = station.log()
        assert PASSWORD not in log
        assert code == 0, log


def defaults_file(tmp_path, items=None, size=None, extra=()):
    """The host defaults with ItemsPerMessage/BytesPerMessage [GetReport]
    replaced and `extra` lines added after line 20."""
    lines = [json.loads(line) for line in open(HOST_DEFAULTS) if line.strip()]
    for d in lines:
        if d["component"] == DDC and d.get("variableInstance") == "GetReport":
            value = {"ItemsPerMessage": items, "BytesPerMessage": size}[d["variable"]]
            if value is not None:
                d["attributes"][0]["value"] = str(value)
    lines[20:20] = list(extra)
    path = tmp_path / "model.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in lines))
    return str(path)


def line(component, variable, value, data_type="string", **extra):
    d = {"component": component, "variable": variable, "dataType": data_type,
         "attributes": [{"value": value, "mutability": "ReadOnly"}]}
    d.update(extra)
    return d


def component_of(d):
    c = {"name": d["component"]}
    if d.get("componentInstance"):
        c["instance"] = d["componentInstance"]
    if d.get("evse") is not None:
        c["evse"] = {"id": d["evse"]}
        if d.get("connector") is not None:
            c["evse"]["connectorId"] = d["connector"]
    return c


def variable_of(d):
    v = {"name": d["variable"]}
    if d.get("variableInstance"):
        v["instance"] = d["variableInstance"]
    return v


async def expected_report(st, defaults):
    """Every variable of the defaults file as a ReportDataType, each value
    as GetVariables answers it (none for WriteOnly)."""
    lines = [json.loads(text) for text in open(defaults) if text.strip()]
    wanted = [(d, a) for d in lines for a in d["attributes"]]
    values = []
    for at in range(0, len(wanted), 16):  # ItemsPerMessageGetVariables
        answer = await st.request("GetVariables", {"getVariableData": [
            {"component": component_of(d), "variable": variable_of(d), "attributeType": a.get("type", "Actual")}
            for d, a in wanted[at:at + 16]]})
        values += [r.get("attributeValue") if r["attributeStatus"] == "Accepted" else None
                   for r in answer["getVariableResult"]]
    entries = []
    for d in lines:
        attributes = []
        for a in d["attributes"]:
            value = values.pop(0)
            attribute = {"type": a.get("type", "Actual"), "mutability": a.get("mutability", "ReadWrite"),
                         "persistent": a.get("persistent", False), "constant": a.get("constant", False)}
            if attribute["mutability"] == "WriteOnly":
                assert value is None
            else:
                attribute["value"] = value
            attributes.append(attribute)
        characteristics = {"dataType": d["dataType"], "supportsMonitoring": d.get("supportsMonitoring", False)}
        for name in ("unit", "minLimit", "maxLimit", "valuesList"):
            if name in d:
                characteristics[name] = d[name]
        entries.append({"component": component_of(d), "variable": variable_of(d),
                        "variableAttribute": attributes, "variableCharacteristics": characteristics})
    return entries


async def wait_report(st, request_id, timeout=20):
    """The entries of the complete report `request_id` as the CSMS reassembled it."""
    def complete():
        parts = st.reports.get(request_id)
        return bool(parts) and not parts[-1].get("tbc", False)

    async def enough():
        async with st.arrived:
            await st.arrived.wait_for(complete)
    await asyncio.wait_for(enough(), timeout)
    parts = st.reports[request_id]
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert all(p["tbc"] for p in parts[:-1])
    entries = []
    for p in parts:
        assert p["requestId"] == request_id
        datetime.datetime.fromisoformat(p["generatedAt"].replace("Z", "+00:00"))
        entries += p.get("reportData", [])
    return entries


def same_clock(report, expected):
    """ClockCtrlr.DateTime moves: both must be RFC 3339 within 10 s, then equal."""
    times = []
    for entries in (report, expected):
        for e in entries:
            if e["component"]["name"] == "ClockCtrlr" and e["variable"]["name"] == "DateTime":
                times.append(e["variableAttribute"][0])
    assert len(times) in (0, 2)
    if times:
        a, b = (datetime.datetime.fromisoformat(t["value"].replace("Z", "+00:00")) for t in times)
        assert abs((a - b).total_seconds()) < 10
        times[0]["value"] = times[1]["value"]


def check_limits(st, request_id, items, size):
    """Each NotifyReport as it arrived: at most `items` entries and `size`
    bytes as an OCPP-J frame with the longest message id, unless it holds
    a single entry; returns the entry counts."""
    counts = []
    for p in st.calls("NotifyReport"):
        if p["requestId"] != request_id:
            continue
        frame = json.dumps([2, "x" * 36, "NotifyReport", p], separators=(",", ":"))  # compact, as sent
        counts.append(len(p["reportData"]))
        assert counts[-1] <= items
        assert len(frame.encode()) <= size or counts[-1] == 1, len(frame)
    return counts


async def full_inventory(st, defaults, request_id):
    answer = await st.request("GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"})
    assert answer == {"status": "Accepted"}
    report = await wait_report(st, request_id)
    expected = await expected_report(st, defaults)
    same_clock(report, expected)
    assert report == expected
    return report


def test_base_reports_are_the_device_model(tmp_path):
    async def body(csms, station, st, defaults):
        report = await full_inventory(st, defaults, 1)
        assert len(report) == 81
        assert len(check_limits(st, 1, 16, 4096)) > 1
        password, = [e for e in report if e["variable"]["name"] == "BasicAuthPassword"]
        assert "value" not in password["variableAttribute"][0]
        identity, = [e for e in report if e["variable"]["name"] == "Identity"]
        assert identity["variableAttribute"][0]["value"] == "CS001"

        assert (await st.request("GetBaseReport", {"requestId": 2, "reportBase": "ConfigurationInventory"})) == \
            {"status": "Accepted"}
        configurable = await wait_report(st, 2)
        assert configurable == [e for e in report if any(
            a["mutability"] in ("ReadWrite", "WriteOnly") for a in e["variableAttribute"])]
        assert password in configurable

        assert (await st.request("GetBaseReport", {"requestId": 3, "reportBase": "SummaryInventory"})) == \
            {"status": "Accepted"}
        summary = await wait_report(st, 3)
        places = [(e["component"]["name"], e["variable"]["name"]) for e in summary]
        for component in ("ChargingStation", "EVSE", "Connector"):
            assert (component, "AvailabilityState") in places and (component, "Available") in places
        assert all(e in report for e in summary) and len(summary) < len(report)
    run(scenario(tmp_path, body))


def test_one_item_per_message_a_second_request_and_lost_messages(tmp_path):
    async def body(csms, station, st, defaults):
        await full_inventory(st, defaults, 1)
        assert check_limits(st, 1, 1, 4096) == [1] * 81

        # The first NotifyReport goes unanswered: the report is under way, so
        # a second request is Rejected; after MessageTimeout (2 s) it starts
        # over from seqNo 0 on the same link.
        csms.silent = {"NotifyReport"}
        assert (await st.request("GetBaseReport", {"requestId": 2, "reportBase": "FullInventory"})) == \
            {"status": "Accepted"}
        second = await st.request("GetReport", {"requestId": 3})
        assert second["status"] == "Rejected" and "2" in second["statusInfo"]["additionalInfo"]
        await asyncio.sleep(0.5)
        csms.silent = set()
        assert len(await wait_report(st, 2)) == 81
        assert "report-retry 2 timeout" in station.log()

        # The link drops part-way: the report starts over from seqNo 0 once
        # the station is online again.
        answer = await st.request("SetVariables", {"setVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name}, "attributeValue": value}
            for name, value in (("RetryBackOffWaitMinimum", "1"), ("RetryBackOffRandomRange", "0"))]})
        assert all(r["attributeStatus"] == "Accepted" for r in answer["setVariableResult"])
        assert (await st.request("GetBaseReport", {"requestId": 4, "reportBase": "FullInventory"})) == \
            {"status": "Accepted"}
        await st.wait_for("NotifyReport", 81 + 81 + 3)  # report 1, report 2, three parts of report 4
        csms.silent = {"NotifyReport"}  # hold the report where it is
        await asyncio.sleep(0.3)
        csms.silent = set()
        before = st.reports[4]
        assert len(before) >= 3 and all(p["tbc"] for p in before)
        await st._connection.close()
        st2 = await csms.wait_station("CS001", connections=2, timeout=15)
        expected = await expected_report(st2, defaults)
        report = await wait_report(st2, 4)
        same_clock(report, expected)
        assert report == expected
        assert "report-paused 4" in station.log()
    run(scenario(tmp_path, body, defaults_file(tmp_path, items=1), install={"message_timeout": 2}))


EXTRA = (
    line("Lamp", "Active", "true", "boolean"),
    line("Lamp", "Colour", "Warm white"),
    line("Lamp", "Active", "false", "boolean", componentInstance="Back"),
    line("Lamp", "Colour", "Red", componentInstance="Back"),
    line("Pump", "Problem", "true", "boolean", evse=1),
    line("Pump", "Speed", "3", "integer", evse=1),
    line("Pump", "Speed", "2", "integer", evse=1, connector=1),
    line("Display", "Message", "Welcome! " * 50),  # alone larger than BytesPerMessageGetReport
)


DISABLED = ("AuthCacheCtrlr", "LocalAuthListCtrlr", "ReservationCtrlr", "SmartChargingCtrlr")


def where(entry):
    c, v = entry["component"], entry["variable"]
    text = c["name"] + ("/" + c["instance"] if "instance" in c else "")
    if "evse" in c:
        text += "@%d" % c["evse"]["id"] + (".%d" % c["evse"]["connectorId"] if "connectorId" in c["evse"] else "")
    return text + ":" + v["name"] + ("/" + v["instance"] if "instance" in v else "")


def cv(name, variable=None, instance=None, evse=None, connector=None, var_instance=None):
    c = {"name": name}
    if instance:
        c["instance"] = instance
    if evse is not None:
        c["evse"] = {"id": evse} if connector is None else {"id": evse, "connectorId": connector}
    item = {"component": c}
    if variable:
        item["variable"] = {"name": variable}
        if var_instance:
            item["variable"]["instance"] = var_instance
    return item


def test_small_messages_and_every_filter(tmp_path):
    size = 740  # two small host entries fit; the Display message alone does not

    async def body(csms, station, st, defaults):
        report = await full_inventory(st, defaults, 1)
        counts = check_limits(st, 1, 16, size)
        assert max(counts) > 1
        everything = [where(e) for e in report]
        others = [w for w in everything if not w.startswith(("Lamp", "Pump"))]
        lamp = ["Lamp:Active", "Lamp:Colour"]
        back = ["Lamp/Back:Active", "Lamp/Back:Colour"]
        pump = ["Pump@1:Problem", "Pump@1:Speed"]
        cases = [
            # (componentCriteria, componentVariable, places reported or a status)
            (None, [cv("Lamp")], lamp + back),
            (None, [cv("lamp", instance="back")], back),
            (None, [cv("Lamp", "Colour")], ["Lamp:Colour", "Lamp/Back:Colour"]),
            (None, [cv("Lamp", "Colour", instance="Back")], ["Lamp/Back:Colour"]),
            (None, [cv(DDC, "ItemsPerMessage")], ["DeviceDataCtrlr:ItemsPerMessage/" + i
                                                   for i in ("GetReport", "GetVariables", "SetVariables")]),
            (None, [cv(DDC, "ItemsPerMessage", var_instance="GetReport")],
             ["DeviceDataCtrlr:ItemsPerMessage/GetReport"]),
            (None, [cv("EVSE", evse=1)], ["EVSE@1:" + n for n in ("Available", "AvailabilityState", "Power",
                                                                   "SupplyPhases")]),
            (None, [cv("Pump", evse=1)], pump + ["Pump@1.1:Speed"]),
            (None, [cv("Pump", "Speed", evse=1, connector=1)], ["Pump@1.1:Speed"]),
            (None, [cv("Connector", "ConnectorType", evse=1, connector=1),
                    cv("OCPPCommCtrlr", "HeartbeatInterval")],
             ["OCPPCommCtrlr:HeartbeatInterval", "Connector@1.1:ConnectorType"]),
            (None, [cv("EVSE", evse=2)], "EmptyResultSet"),
            (None, [cv("Pump", evse=1, connector=2)], "EmptyResultSet"),
            (None, [cv("Lamp", instance="Side")], "EmptyResultSet"),
            (None, [cv("Lamp", "Brightness")], "EmptyResultSet"),
            (None, [cv(DDC, "ItemsPerMessage", var_instance="GetLog")], "EmptyResultSet"),
            (["Active"], None, [w for w in everything if not w.startswith("Lamp/Back")]),
            (["Available"], None, everything),
            # the host model's integrator controllers that start disabled (Enabled false)
            (["Enabled"], None, [w for w in everything if w.split(":")[0] not in DISABLED]),
            (["Problem"], None, pump),
            (["Problem", "Active"], None, [w for w in everything if not w.startswith("Lamp/Back")]),
            (["Active", "Available", "Enabled", "Problem"], None, everything),  # any one suffices
            (["Problem"], [cv("Pump", "Speed")], ["Pump@1:Speed"]),
            (["Active"], [cv("Lamp", "Colour")], ["Lamp:Colour"]),
            (["Available"], [cv("EVSE", "AvailabilityState", evse=1)], ["EVSE@1:AvailabilityState"]),
            (["Problem"], [cv("EVSE", "AvailabilityState", evse=1)], "EmptyResultSet"),  # TC_B_18
            (None, None, everything),
        ]
        assert others and len(cases) > 20
        for request_id, (criteria, items, expected) in enumerate(cases, 10):
            payload = {"requestId": request_id}
            if criteria:
                payload["componentCriteria"] = criteria
            if items:
                payload["componentVariable"] = items
            answer = await st.request("GetReport", payload)
            if isinstance(expected, str):
                assert answer == {"status": expected}, (payload, answer)
                continue
            assert answer == {"status": "Accepted"}, (payload, answer)
            places = [where(e) for e in await wait_report(st, request_id)]
            assert places == expected, (payload, places)
        await asyncio.sleep(0.2)
        assert sorted(st.reports) == [1] + [i for i, c in enumerate(cases, 10) if not isinstance(c[2], str)]

        for payload, code in (
                ({"requestId": 90, "componentVariable": [cv("EVSE", evse=1)] * 17},
                 "OccurrenceConstraintViolation"),  # B08.FR.17: more than ItemsPerMessageGetReport
                ({"requestId": 91, "componentVariable": [cv("Lamp", "Colour" * 8)] * 10},
                 "FormatViolation")):  # B08.FR.18: more than BytesPerMessageGetReport
            try:
                await st.request("GetReport", payload)
                raise AssertionError("accepted %s" % payload)
            except Exception as e:
                assert getattr(e, "code", None) == code, repr(e)
    run(scenario(tmp_path, body, defaults_file(tmp_path, size=size, extra=EXTRA)))


def test_report_heap_does_not_grow_with_the_model(tmp_path, host_build):
    """The live heap at the peak of a FullInventory is the same, within
    2 KB, for a 50-variable and a 500-variable model (bench/reports.py)."""
    async def body():
        csms = await Csms(interval=300, quiet=True).start()
        try:
            url = "ws://127.0.0.1:%d" % csms.port
            peaks = []
            for n in (50, 500):
                defaults = bench_reports.write_defaults(str(tmp_path / ("model%d.jsonl" % n)), n)
                result = await bench_reports.probe(host_build, str(tmp_path), defaults, url, 0, n)
                assert result["done"] and result["parts"] > 1, result
                peaks.append(result["live"])
            assert abs(peaks[1] - peaks[0]) <= 2048, peaks
            for s in csms.stations.values():
                assert s.invalid == [], s.invalid
        finally:
            await csms.stop()
    run(body())
