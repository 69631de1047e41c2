"""Issue 11 end to end on the MicroPython unix port against the `ocpp`
CSMS: offline periods (B04.FR.01/02) with connector status from the host
board's flash file, intervals from the CSMS clamped (B01), and the
password fallback kept across a reboot (A01)."""
import asyncio
import os

from stations import against_csms, defaults_with, run

HB = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
QUICK = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0, RetryBackOffRepeatTimes=0)


def set_status(flash, status):
    """What the charge controller writes when connector 1 of EVSE 1 changes."""
    with open(os.path.join(flash, "connector_status"), "w") as f:
        f.write("1 1 %s\n" % status)


def link(flash, up):
    """The host board's cable: <flash>/link_down makes bring_up fail."""
    path = os.path.join(flash, "link_down")
    if up:
        os.remove(path)
    else:
        open(path, "w").close()


async def with_station(tmp_path, body, csms_kw=None, station_kw=None, **defaults):
    model = defaults_with(tmp_path / "model.jsonl", **dict(QUICK, **defaults))
    return await against_csms(tmp_path / "flash", body, csms_kw, defaults=model, **(station_kw or {}))


async def offline_for(csms, st, flash, seconds, connection):
    """The CSMS drops the link and the station stays offline `seconds`."""
    link(flash, up=False)
    await st._connection.close()
    await asyncio.sleep(seconds)
    link(flash, up=True)
    return await csms.wait_station("CS001", connections=connection, timeout=20)


def test_offline_longer_than_threshold_tells_every_connector(tmp_path):
    async def body(csms, station, flash):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        st2 = await offline_for(csms, st, flash, 3, 2)
        status, = await st2.wait_for("StatusNotification", timeout=10)  # B04.FR.01: unchanged, told anyway
        assert status["connectorStatus"] == "Available" and st2.calls("BootNotification") == []
    run(with_station(tmp_path, body, OfflineThreshold=1))


def test_offline_shorter_than_threshold_tells_only_what_changed(tmp_path):
    async def body(csms, station, flash):
        st = await csms.wait_station("CS001")
        await st.wait_for("SecurityEventNotification")  # after the StatusNotification: all told
        st2 = await offline_for(csms, st, flash, 1, 2)
        await asyncio.sleep(3)
        assert st2.received == []  # B04.FR.02: nothing changed, nothing said
        set_status(flash, "Occupied")  # an EV plugged in while offline
        st3 = await offline_for(csms, st2, flash, 1, 3)
        status, = await st3.wait_for("StatusNotification", timeout=10)
        assert status["connectorStatus"] == "Occupied"
        set_status(flash, "Faulted")  # while online: told as it happens
        later = await st3.wait_for("StatusNotification", 2, timeout=10)
        assert later[1]["connectorStatus"] == "Faulted"
        answer = await st3.request("GetVariables", {"getVariableData": [{
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
            "variable": {"name": "AvailabilityState"}}]})
        assert answer["getVariableResult"][0]["attributeValue"] == "Faulted"
    run(with_station(tmp_path, body, OfflineThreshold=60))


def test_boot_intervals_are_clamped_not_refused(tmp_path):
    for interval, expected in ((0, "300"), (604800, "86400"), (2 ** 31 - 1, "86400")):
        async def body(csms, station, flash):
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            answer = await st.request("GetVariables", {"getVariableData": [HB]})
            assert answer["getVariableResult"][0]["attributeValue"] == expected
            await asyncio.sleep(2)
            assert len(csms.connections) == 1 and len(st.calls("BootNotification")) == 1, station.log()
            assert station.log().count("clamped") == (interval > 86400)
        (tmp_path / str(interval)).mkdir()
        run(with_station(tmp_path / str(interval), body, csms_kw={"interval": interval}))


def test_password_fallback_survives_a_reboot(tmp_path):
    """The CSMS keeps the old password. A new one is set, the station reboots
    before it could try it, then the CSMS refuses it: the station goes back
    to the one the CSMS accepted, which the store kept."""
    old, new = "Old-password-0123", "New-password-4567"

    async def body(csms, station, flash):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        link(flash, up=False)  # the reconnection with the new password cannot happen yet
        answer = await st.request("SetVariables", {"setVariableData": [{
            "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
            "attributeValue": new}]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        await asyncio.sleep(1)
        assert await station.stop() == 0  # the reboot
        link(flash, up=True)
        await station.start()
        st2 = await csms.wait_station("CS001", connections=2, timeout=20)
        await st2.wait_for("BootNotification")  # the CSMS let it in: with the old password
        assert "falling back" in station.log(), station.log()
    run(with_station(tmp_path, body, csms_kw={"password": old}, station_kw={"password": old}))
