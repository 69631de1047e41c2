"""Issue 7, SetNetworkProfile (B09) and migration to a new CSMS (B10), end
to end on the unix port against two `ocpp` CSMSs on loopback."""
import asyncio
import os

from stations import Csms, StationProcess, run


def profile(url, sp=1, **extra):
    data = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 5,
            "securityProfile": sp, "ocppInterface": "Wired0"}
    data.update(extra)
    return data


def var(component, variable, value=None):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if value is not None:
        d["attributeValue"] = value
    return d


FAST = [var("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "1"), var("OCPPCommCtrlr", "RetryBackOffRandomRange", "0"),
        var("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "2")]
SECRETS = ("apn-secret-pw", "vpn-secret-pw", "vpn-secret-key", "4321")


async def started(tmp_path, csms):
    station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port,
                                   password="station-password-0001").start()
    st = await csms.wait_station("CS001")
    await st.wait_for("StatusNotification")
    return station, st


async def get(st, *items):
    answer = await st.request("GetVariables", {"getVariableData": [var(*i) for i in items]})
    return [r.get("attributeValue") for r in answer["getVariableResult"]]


def test_rejections_and_a_stored_profile_survives_restart(tmp_path):
    async def go():
        csms = await Csms(interval=30, quiet=True, password="station-password-0001").start()
        station, st = await started(tmp_path, csms)
        url = "ws://127.0.0.1:%d" % csms.port
        cases = [
            (7, profile(url), "InvalidConfSlot"),
            (1, profile(url, ocppVersion="OCPP16"), "InvalidNetworkConf"),
            (1, profile(url, ocppTransport="SOAP"), "InvalidNetworkConf"),
            (1, profile(url, ocppInterface="Wireless0"), "UnsupportedInterface"),
            (1, profile(url, apn={"apn": "internet", "apnAuthentication": "PAP", "apnPassword": "apn-secret-pw",
                                  "simPin": 4321}), "NoModem"),
            (1, profile(url, sp=2), "InvalidNetworkConf"),  # profile 2 needs wss://
        ]
        for slot, data, reason in cases:
            answer = await st.request("SetNetworkProfile", {"configurationSlot": slot, "connectionData": data})
            assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == reason, (reason, answer)
        vpn = {"server": "vpn.example", "user": "u", "password": "vpn-secret-pw", "key": "vpn-secret-key",
               "type": "IKEv2"}
        answer = await st.request("SetNetworkProfile", {"configurationSlot": 2,
                                                        "connectionData": profile(url, vpn=vpn)})
        assert answer == {"status": "Accepted"}
        answer = await st.request("SetVariables", {"setVariableData": [
            var("OCPPCommCtrlr", "NetworkConfigurationPriority", "2")]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "RebootRequired"
        await station.stop()
        station = await StationProcess(tmp_path / "flash", url).start()  # power cycle on the same flash
        st = await csms.wait_station("CS001", connections=2, timeout=30)
        await st.wait_for("BootNotification")
        assert await get(st, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["2"]  # slot 2 came from flash
        await station.stop()
        await csms.stop()
        for secret in SECRETS:
            assert secret not in station.log()
        for s in csms.stations.values():
            assert s.invalid == []
    run(go())


def test_migration_to_a_new_csms_and_fallback(tmp_path):
    async def go():
        old = await Csms(interval=30, quiet=True, password="station-password-0001").start()
        new = await Csms(interval=30, quiet=True, password="station-password-0001").start()
        station, st = await started(tmp_path, old)
        answer = await st.request("SetVariables", {"setVariableData": FAST})
        assert all(r["attributeStatus"] == "Accepted" for r in answer["setVariableResult"])
        answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": profile(
            "ws://127.0.0.1:%d" % new.port)})
        assert answer == {"status": "Accepted"}
        answer = await st.request("SetVariables", {"setVariableData": [
            var("OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "RebootRequired"  # B10: acts after a reboot
        assert await get(st, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["0"]
        assert (await st.request("Reset", {"type": "OnIdle"}))["status"] == "Accepted"
        st_new = await new.wait_station("CS001", timeout=20)
        assert (await st_new.wait_for("BootNotification"))[0]["reason"] == "RemoteReset"
        assert await get(st_new, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["1"]
        # The new CSMS goes away: after NetworkProfileConnectionAttempts the station is back on the old one.
        await new.stop()
        st_back = await old.wait_station("CS001", connections=2, timeout=30)
        assert await get(st_back, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["0"]
        assert "next slot 0" in station.log()
        assert await station.stop() == 0
        await old.stop()
        for c in (old, new):
            for s in c.stations.values():
                assert s.invalid == []
    run(go())


def test_board_network_hook_failure_and_recovery(tmp_path):
    """The host board's bring_up fails while <flash>/link_down exists, as a
    pulled cable; the station retries with backoff and comes back."""
    async def go():
        csms = await Csms(interval=30, quiet=True, password="station-password-0001").start()
        station, st = await started(tmp_path, csms)
        answer = await st.request("SetVariables", {"setVariableData": FAST})
        assert all(r["attributeStatus"] == "Accepted" for r in answer["setVariableResult"])
        down = os.path.join(station.state, "link_down")
        open(down, "w").close()
        await st._connection.close()
        for _ in range(50):
            if "link down" in station.log():
                break
            await asyncio.sleep(0.1)
        assert "connect-failed OSError link down" in station.log()
        assert csms.connections == ["CS001"]
        os.remove(down)
        st2 = await csms.wait_station("CS001", connections=2, timeout=30)
        assert st2.calls("BootNotification") == []  # a reconnect, not a boot (B04)
        assert await station.stop() == 0
        await csms.stop()
    run(go())


def test_new_basic_auth_password_reconnects_and_falls_back(tmp_path):
    async def go():
        csms = await Csms(interval=30, quiet=True, password="station-password-0001").start()
        station, st = await started(tmp_path, csms)
        # The CSMS knows the new password: the station reconnects with it.
        csms.password = "second-password-0002"
        answer = await st.request("SetVariables", {"setVariableData": [
            var("SecurityCtrlr", "BasicAuthPassword", "second-password-0002")]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        st = await csms.wait_station("CS001", connections=2, timeout=30)
        # The CSMS refuses the next one (401): the station goes back to the one it knew.
        answer = await st.request("SetVariables", {"setVariableData": [
            var("SecurityCtrlr", "BasicAuthPassword", "third-password-00003")]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        st = await csms.wait_station("CS001", connections=3, timeout=30)
        await st.request("GetVariables", {"getVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval")]})
        log = station.log()
        assert "falling back to the previous one" in log
        assert await station.stop() == 0
        await csms.stop()
        for secret in ("station-password-0001", "second-password-0002", "third-password-00003"):
            assert secret not in log
    run(go())
