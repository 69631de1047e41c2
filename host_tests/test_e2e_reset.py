"""Issue 7, Reset B11/B12 end to end on the unix port: the board's reset
hook ends the process, tools/station.py starts it again on the same flash,
and the next BootNotification says RemoteReset."""
import asyncio
import os

from stations import Csms, StationProcess, run


async def scenario(tmp_path, body):
    csms = await Csms(interval=30, quiet=True).start()
    station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port).start()
    try:
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        return await body(csms, st, station)
    finally:
        assert await station.stop() == 0, station.log()
        await csms.stop()
        for s in csms.stations.values():
            assert s.invalid == [], s.invalid


def test_reset_immediate_reboots_with_remote_reset(tmp_path):
    async def body(csms, st, station):
        assert (await st.request("Reset", {"type": "Immediate"}))["status"] == "Accepted"
        st2 = await csms.wait_station("CS001", connections=2, timeout=20)
        boot, = await st2.wait_for("BootNotification")
        assert boot["reason"] == "RemoteReset"
        assert csms.closed[0] == 1000  # the WebSocket was closed cleanly before the reset
        assert "board reset, starting again" in station.log()
    run(scenario(tmp_path, body))


def test_reset_on_idle_waits_for_the_session(tmp_path):
    async def body(csms, st, station):
        charging = os.path.join(station.state, "charging")
        open(charging, "w").close()
        assert (await st.request("Reset", {"type": "OnIdle"}))["status"] == "Scheduled"
        await asyncio.sleep(2)
        assert csms.connections == ["CS001"]  # still up while the session runs
        os.remove(charging)
        st2 = await csms.wait_station("CS001", connections=2, timeout=20)
        boot, = await st2.wait_for("BootNotification")
        assert boot["reason"] == "RemoteReset"
        # A later power-up is a power-up again: the persisted reason was used once.
    run(scenario(tmp_path, body))


def test_reset_on_idle_without_session_is_immediate(tmp_path):
    async def body(csms, st, station):
        assert (await st.request("Reset", {"type": "OnIdle"}))["status"] == "Accepted"
        st2 = await csms.wait_station("CS001", connections=2, timeout=20)
        assert (await st2.wait_for("BootNotification"))[0]["reason"] == "RemoteReset"
    run(scenario(tmp_path, body))


def test_evse_reset(tmp_path):
    async def body(csms, st, station):
        resets = os.path.join(station.state, "evse_resets")
        assert (await st.request("Reset", {"type": "Immediate", "evseId": 1}))["status"] == "Accepted"
        for _ in range(50):
            if os.path.exists(resets):
                break
            await asyncio.sleep(0.1)
        assert open(resets).read().split() == ["1"]
        answer = await st.request("Reset", {"type": "Immediate", "evseId": 7})
        assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "UnknownEvse"
        with open(os.path.join(station.state, "charging"), "w") as f:
            f.write("1")
        assert (await st.request("Reset", {"type": "OnIdle", "evseId": 1}))["status"] == "Scheduled"
        os.remove(os.path.join(station.state, "charging"))
        for _ in range(50):
            if open(resets).read().split() == ["1", "1"]:
                break
            await asyncio.sleep(0.1)
        assert open(resets).read().split() == ["1", "1"]
        assert csms.connections == ["CS001"]  # an EVSE reset does not restart the station
    run(scenario(tmp_path, body))


def test_two_on_idle_resets_reset_once_even_across_a_lost_link(tmp_path):
    async def body(csms, st, station):
        resets = os.path.join(station.state, "evse_resets")
        with open(os.path.join(station.state, "charging"), "w") as f:
            f.write("1")
        for _ in range(2):
            assert (await st.request("Reset", {"type": "OnIdle", "evseId": 1}))["status"] == "Scheduled"
        await st._connection.close()  # the scheduled reset is the station's, not the link's
        await csms.wait_station("CS001", connections=2, timeout=30)
        os.remove(os.path.join(station.state, "charging"))
        for _ in range(30):
            if os.path.exists(resets):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # a second poller would have reset by now
        assert open(resets).read().split() == ["1"]
    run(scenario(tmp_path, body))
