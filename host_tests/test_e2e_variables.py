"""Issue 5 end to end: GetVariables/SetVariables (B05/B06) against the `ocpp`
CSMS, which validates every answer against the official schemas, with the
agent on the unix port."""
import asyncio
import time

from stations import Csms, StationProcess, run

PASSWORD = "station-password-0001"


def var(component, variable, value=None, **kw):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    d.update(kw)
    if value is not None:
        d["attributeValue"] = value
    return d


async def scenario(tmp_path, body, interval=30):
    csms = await Csms(interval=interval, quiet=True, password=PASSWORD).start()
    url = "ws://127.0.0.1:%d" % csms.port
    station = await StationProcess(tmp_path / "flash", url, password=PASSWORD).start()
    try:
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        return await body(csms, st, station)
    finally:
        await station.stop()
        await csms.stop()
        for s in csms.stations.values():
            assert s.invalid == [], s.invalid
        assert PASSWORD not in station.log()


def statuses(answer, key):
    return [r["attributeStatus"] for r in answer[key]]


def test_every_status(tmp_path):
    async def body(csms, st, station):
        got = await st.request("GetVariables", {"getVariableData": [
            var("OCPPCommCtrlr", "HeartbeatInterval"),
            var("NoSuchCtrlr", "HeartbeatInterval"),
            var("OCPPCommCtrlr", "NoSuchVariable"),
            var("OCPPCommCtrlr", "HeartbeatInterval", attributeType="Target"),
            var("SecurityCtrlr", "BasicAuthPassword"),
        ]})
        assert statuses(got, "getVariableResult") == [
            "Accepted", "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType", "Rejected"]
        assert all("attributeValue" not in r for r in got["getVariableResult"][1:])
        put = await st.request("SetVariables", {"setVariableData": [
            var("OCPPCommCtrlr", "OfflineThreshold", "120"),
            var("OCPPCommCtrlr", "OfflineThreshold", "-5"),  # below minLimit
            var("ChargingStation", "Model", "x"),  # ReadOnly
            var("NoSuchCtrlr", "X", "1"),
            var("OCPPCommCtrlr", "NoSuchVariable", "1"),
            var("OCPPCommCtrlr", "OfflineThreshold", "1", attributeType="MaxSet"),
            var("OCPPCommCtrlr", "NetworkConfigurationPriority", "0"),
            var("OCPPCommCtrlr", "HeartbeatInterval", "ten"),  # not an integer
        ]})
        assert statuses(put, "setVariableResult") == [
            "Accepted", "Rejected", "Rejected", "UnknownComponent", "UnknownVariable",
            "NotSupportedAttributeType", "RebootRequired", "Rejected"]
        got = await st.request("GetVariables", {"getVariableData": [var("OCPPCommCtrlr", "OfflineThreshold")]})
        assert got["getVariableResult"][0]["attributeValue"] == "120"
    run(scenario(tmp_path, body))


def test_too_many_items_and_too_many_bytes(tmp_path):
    async def body(csms, st, station):
        many = [var("OCPPCommCtrlr", "HeartbeatInterval")] * 17  # ItemsPerMessageGetVariables is 16
        got = await st.request("GetVariables", {"getVariableData": many})  # Rejected items (CONFORMANCE.md)
        assert statuses(got, "getVariableResult") == ["Rejected"] * 17
        big = [var("OCPPCommCtrlr", "OfflineThreshold", "1" * 400)] * 12  # > BytesPerMessageSetVariables (4096)
        try:
            await st.request("SetVariables", {"setVariableData": big})
            raise AssertionError("answered")
        except Exception as e:
            assert type(e).__name__ == "FormatViolationError", e
        got = await st.request("GetVariables", {"getVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval")]})
        assert statuses(got, "getVariableResult") == ["Accepted"]  # still working
    run(scenario(tmp_path, body))


def test_set_value_survives_restart_and_heartbeat_follows(tmp_path):
    async def go():
        csms = await Csms(interval=300, quiet=True, password=PASSWORD).start()
        url = "ws://127.0.0.1:%d" % csms.port
        station = await StationProcess(tmp_path / "flash", url, password=PASSWORD).start()
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        put = await st.request("SetVariables", {"setVariableData": [
            var("OCPPCommCtrlr", "HeartbeatInterval", "1"), var("OCPPCommCtrlr", "OfflineThreshold", "77")]})
        assert statuses(put, "setVariableResult") == ["Accepted", "Accepted"]
        t0 = time.monotonic()
        await st.wait_for("Heartbeat", 3, timeout=6)  # from 300 s to 1 s without a restart
        assert time.monotonic() - t0 < 5
        await station.stop()
        csms.interval = 0  # the boot answer must not overwrite what the CSMS set
        station = await StationProcess(tmp_path / "flash", url, password=PASSWORD).start()
        st = await csms.wait_station("CS001", connections=2)
        await st.wait_for("BootNotification")
        got = await st.request("GetVariables", {"getVariableData": [
            var("OCPPCommCtrlr", "HeartbeatInterval"), var("OCPPCommCtrlr", "OfflineThreshold")]})
        assert [r["attributeValue"] for r in got["getVariableResult"]] == ["1", "77"]
        await station.stop()
        await csms.stop()
        for s in csms.stations.values():
            assert s.invalid == []
    run(go())


def test_ping_interval_follows_live(tmp_path):
    async def body(csms, st, station):
        put = await st.request("SetVariables", {"setVariableData": [var("OCPPCommCtrlr", "WebSocketPingInterval", "1")]})
        assert statuses(put, "setVariableResult") == ["Accepted"]
        before = st._connection.pings
        await asyncio.sleep(3.5)
        assert st._connection.pings - before >= 2  # was 60 s; now every second, no restart
    run(scenario(tmp_path, body))
