"""Issue 3 end to end: the agent on the MicroPython unix port (runner's
default heap) against the `ocpp` package's CSMS over loopback (B01-B04)."""
import asyncio
import time

from stations import Csms, StationProcess, against_csms, run

HB = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def set_var(component, variable, value):
    return {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}


async def scenario(tmp_path, body, boot=("Accepted",), interval=1, pending_interval=1, **station_kw):
    return await against_csms(tmp_path / "flash", lambda csms, station, flash: body(csms, station), dict(
        boot=boot, interval=interval, pending_interval=pending_interval), **station_kw)


def test_accepted_boot_status_and_heartbeats(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        boot, = await st.wait_for("BootNotification")
        assert boot["reason"] == "PowerUp"
        assert boot["chargingStation"]["model"] and boot["chargingStation"]["vendorName"]
        status, = await st.wait_for("StatusNotification")
        assert (status["evseId"], status["connectorId"]) == (1, 1)
        await st.wait_for("Heartbeat", 2, timeout=5)
        actions = [a for a, _ in st.received]
        assert actions[0] == "BootNotification" and actions.count("BootNotification") == 1
        answer = await st.request("GetVariables", {"getVariableData": [HB]})
        assert answer["getVariableResult"][0]["attributeValue"] == "1"  # adopted from the boot answer
    run(scenario(tmp_path, body))



def test_bytecode_in_place_from_romfs(tmp_path):
    """--romfs: the agent's code runs from a ROMFS image, as from frozen
    firmware; the heap it then needs is far below the .mpy files' 192 KB."""
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("Heartbeat")
        answer = await st.request("GetBaseReport", {"requestId": 3, "reportBase": "SummaryInventory"})
        assert answer["status"] == "Accepted"
        await st.wait_for("NotifyReport")
        assert "MemoryError" not in station.log()
    run(scenario(tmp_path, body, romfs=True, heap="128K"))

def test_pending_then_accepted(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("BootNotification")
        t0 = time.monotonic()
        answer = await st.request("GetVariables", {"getVariableData": [HB]})  # provisioning while Pending
        assert answer["getVariableResult"][0]["attributeStatus"] == "Accepted"
        await st.wait_for("BootNotification", 2, timeout=10)
        assert time.monotonic() - t0 >= 0.5
        await st.wait_for("StatusNotification")
        first_other = next(i for i, (a, _) in enumerate(st.received) if a != "BootNotification")
        assert [a for a, _ in st.received[:first_other]] == ["BootNotification", "BootNotification"]
    run(scenario(tmp_path, body, boot=("Pending", "Accepted"), pending_interval=2))


def test_rejected_waits_the_interval_and_refuses_requests(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("BootNotification")
        t0 = time.monotonic()
        try:
            await st.request("GetVariables", {"getVariableData": [HB]})
            raise AssertionError("answered while Rejected")
        except Exception as e:
            assert type(e).__name__ == "SecurityError", e
        await st.wait_for("BootNotification", 2, timeout=10)
        assert time.monotonic() - t0 >= 2
        assert [a for a, _ in st.received[:2]] == ["BootNotification", "BootNotification"]
    run(scenario(tmp_path, body, boot=("Rejected", "Accepted"), pending_interval=3))


def test_reconnect_does_not_boot_again(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        answer = await st.request("SetVariables", {"setVariableData": [
            set_var("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "1"),
            set_var("OCPPCommCtrlr", "RetryBackOffRandomRange", "0")]})
        assert all(r["attributeStatus"] == "Accepted" for r in answer["setVariableResult"]), answer
        await st._connection.close()  # the CSMS drops the link
        st2 = await csms.wait_station("CS001", connections=2, timeout=15)
        await st2.wait_for("Heartbeat", timeout=5)
        assert st2.calls("BootNotification") == []  # B04: no second boot
        assert "disconnected" in station.log()
    run(scenario(tmp_path, body))


def test_message_timeout_lets_the_queue_go_on(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        csms.silent = {"Heartbeat"}  # heartbeats go unanswered from now on
        await asyncio.sleep(4.5)
        log = station.log()
        assert log.count("timeout Heartbeat") >= 2, log  # each times out, the next is still sent
    run(scenario(tmp_path, body, install={"message_timeout": 1}))



def test_a_failure_while_online_drops_the_link_and_retries(tmp_path):
    """The station's flash refuses writes when the boot answer's interval is
    stored: registering fails inside the station. It must close the link and
    connect again after a back-off and register again, not stay connected
    and silent."""
    async def body():
        csms = await Csms(interval=1, quiet=True).start()
        url = "ws://127.0.0.1:%d" % csms.port
        try:
            station = await StationProcess(tmp_path / "flash", url).start()
            await (await csms.wait_station("CS001")).wait_for("StatusNotification")
            assert await station.stop() == 0
            csms.interval = 2  # the next boot answer changes HeartbeatInterval: a write
            for n in range(32):  # every free journal slot becomes a directory: no commit lands
                slot = tmp_path / "flash" / "store" / ("j%d" % n)
                if not slot.exists():
                    slot.mkdir()
            station = await StationProcess(tmp_path / "flash", url).start()
            st = await csms.wait_station("CS001", connections=3, timeout=40)
            await st.wait_for("BootNotification")  # its registration never ended: it boots again
            assert await station.stop() == 0
            assert "task-failed online OSError" in station.log(), station.log()
        finally:
            await csms.stop()
    run(body())
