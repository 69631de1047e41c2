"""What a board must do, on the emulated Pico W over a dialled cellular link,
against the `ocpp` CSMS: each station is `tools/station.py --runtime picow`
(the image of make firmware BOARD=picow on rp2040js, UART0 wired to the
modem played on the host, tools/cellmodem.py), driven through the same
StationProcess as the unix-port stations.

Not run here, with the reason: the end-to-end tests that need the host
board's files beside the agent. test_e2e_reset's OnIdle and EVSE resets
and test_e2e_offline's charging sessions write <flash>/charging and read
<flash>/evse_resets, which on a board are the charge controller's, not a
directory the host can touch; test_e2e_profiles' board hook test makes
<flash>/link_down (the host board's stand-in for a pulled cable), which
the carrier-lost test below does for the modem; CSAGENT_DEFAULTS swaps
the host board's model.jsonl, frozen into nothing on the Pico W.

`make firmware-test` runs this with CSAGENT_PICOW naming the image (slow:
the emulated RP2040 runs at about a fifth of real time when busy).
"""
import asyncio
import json
import os

import pytest
import trustme

import picow
from cellmodem import send_fault
from csms import server_tls
from stations import Csms, StationProcess, run

pytestmark = pytest.mark.skipif(
    not os.environ.get("CSAGENT_PICOW"), reason="emulated Pico W: make firmware-test runs it (CSAGENT_PICOW)")

BOOT_S = 180  # from the runner's start to BootNotification, wall seconds, with a slow machine's margin
PASSWORD = "station-password-0001"
BOARD_HOST = picow.PEER_HOST  # the host as the board reaches it over PPP


def var(component, variable, value=None):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if value is not None:
        d["attributeValue"] = value
    return d


async def get(st, *pairs):
    answer = await st.request("GetVariables", {"getVariableData": [var(c, v) for c, v in pairs]}, timeout=60)
    return [r.get("attributeValue") for r in answer["getVariableResult"]]


async def set_vars(st, *triples):
    answer = await st.request("SetVariables", {"setVariableData": [var(*t) for t in triples]}, timeout=60)
    return [r["attributeStatus"] for r in answer["setVariableResult"]]


async def booted(csms, station, connections=1):
    st = await csms.wait_station("CS001", connections=connections, timeout=BOOT_S)
    await st.wait_for("StatusNotification", timeout=60)
    return st


async def scenario(tmp_path, body, csms_kw=None, **station_kw):
    csms = await Csms(**dict(dict(interval=300, quiet=True), **(csms_kw or {}))).start()
    station = await StationProcess(tmp_path / "flash", "ws://127.0.0.1:%d" % csms.port, runtime="picow",
                                   **station_kw).start()
    try:
        return await body(csms, station, await booted(csms, station))
    finally:
        code = await station.stop(timeout=30)
        await csms.stop()
        for st in csms.stations.values():
            assert st.invalid == [], st.invalid
        assert code == 0, station.log()[-3000:]


def test_boot_over_the_dialled_link(tmp_path):
    """BootNotification carries the modem's ICCID and IMSI; the modem's log
    shows the test APN and user, and neither log a password."""
    async def body(csms, station, st):
        boot, = await st.wait_for("BootNotification")
        assert boot["chargingStation"]["modem"] == {"iccid": "89314404000012345678", "imsi": "204043612345678"}
        assert boot["reason"] == "PowerUp"
        assert await get(st, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["0"]
        return station.log()
    log = run(scenario(tmp_path, body))
    assert "modem: dialled APN internet.test, CGAUTH PAP user csagent" in log
    assert "modem: PPP up" in log
    assert picow.TEST_APN["apnPassword"] not in log


def test_variables_persist_across_a_reset(tmp_path):
    """SetVariables, Reset Immediate (machine.reset: the emulator restarts
    on the same flash), and the value is still there."""
    async def body(csms, station, st):
        assert await set_vars(st, ("OCPPCommCtrlr", "WebSocketPingInterval", "177")) == ["Accepted"]
        assert (await st.request("Reset", {"type": "Immediate"}, timeout=60))["status"] == "Accepted"
        st2 = await booted(csms, station, connections=2)
        boot, = await st2.wait_for("BootNotification")
        assert boot["reason"] == "RemoteReset"
        assert await get(st2, ("OCPPCommCtrlr", "WebSocketPingInterval")) == ["177"]
        assert "board reset, starting again" in station.log()
    run(scenario(tmp_path, body, csms_kw={"interval": 30}))


def test_full_inventory_report(tmp_path):
    async def body(csms, station, st):
        answer = await st.request("GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"}, timeout=60)
        assert answer["status"] == "Accepted"
        for _ in range(600):
            parts = st.reports.get(5) or []
            if parts and not parts[-1].get("tbc"):
                break
            await asyncio.sleep(0.5)
        assert parts and not parts[-1].get("tbc")
        assert [p["seqNo"] for p in parts] == list(range(len(parts)))
        names = {(d["component"]["name"], d["variable"]["name"]) for p in parts for d in p["reportData"]}
        assert ("OCPPCommCtrlr", "NetworkConfigurationPriority") in names
        assert ("SecurityCtrlr", "Identity") in names
    run(scenario(tmp_path, body))


def test_new_apn_by_set_network_profile_and_a_redial(tmp_path):
    """B09/B10: a profile in slot 1 with another APN (CHAP), priority 1,0,
    a reset: the board dials the new APN, and the modem's log says so."""
    async def body(csms, station, st):
        apn = {"apn": "second.apn.test", "apnAuthentication": "CHAP", "apnUserName": "csagent",
               "apnPassword": picow.TEST_APN["apnPassword"]}
        answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://%s:%d" % (BOARD_HOST, csms.port),
            "messageTimeout": 30, "securityProfile": 1, "ocppInterface": "Wireless1", "apn": apn}}, timeout=60)
        assert answer == {"status": "Accepted"}
        assert await set_vars(st, ("OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")) == ["RebootRequired"]
        assert (await st.request("Reset", {"type": "OnIdle"}, timeout=60))["status"] == "Accepted"
        st2 = await booted(csms, station, connections=2)
        assert await get(st2, ("OCPPCommCtrlr", "ActiveNetworkProfile")) == ["1"]
        return station.log()
    log = run(scenario(tmp_path, body))
    assert "modem: dialled APN second.apn.test, CGAUTH CHAP user csagent" in log
    assert "modem: PPP auth CHAP user csagent accepted" in log
    assert picow.TEST_APN["apnPassword"] not in log


def test_power_cut_during_a_setvariables_commit(tmp_path):
    """The board and its runner are killed at the first flash write after a
    SetVariables of many values was sent: on the next start the store is
    intact, every value old or every value new."""
    names = ["HeartbeatInterval", "WebSocketPingInterval", "RetryBackOffWaitMinimum", "RetryBackOffRandomRange"]
    image = str(tmp_path / "flash" / "flash.img")

    async def cut(csms, station, st):
        before = await get(st, *[("OCPPCommCtrlr", n) for n in names])
        last = os.stat(image).st_mtime_ns
        request = asyncio.ensure_future(st.request("SetVariables", {"setVariableData": [
            var("OCPPCommCtrlr", n, str(41 + i)) for i, n in enumerate(names)]}, timeout=60))
        for _ in range(3000):
            if os.stat(image).st_mtime_ns != last:
                break
            await asyncio.sleep(0.005)
        station.power_cut()  # no goodbye from the board
        await station.proc.wait()
        request.cancel()
        return before

    async def go():
        csms = await Csms(interval=300, quiet=True).start()
        url = "ws://127.0.0.1:%d" % csms.port
        station = await StationProcess(tmp_path / "flash", url, runtime="picow").start()
        try:
            before = await cut(csms, station, await booted(csms, station))
            station._log.close()
            again = await StationProcess(tmp_path / "flash", url, runtime="picow").start()
            st = await booted(csms, again, connections=2)
            after = await get(st, *[("OCPPCommCtrlr", n) for n in names])
            assert after in (before, [str(41 + i) for i in range(len(names))]), (before, after)
            assert await station_stopped(again)
        finally:
            await csms.stop()
        for st in csms.stations.values():
            assert st.invalid == [], st.invalid
    run(go())


async def station_stopped(station):
    return await station.stop(timeout=30) == 0


def test_carrier_lost_then_backoff_and_a_redial(tmp_path):
    """The modem loses the carrier without a word to the board's PPP: the
    WebSocket ping finds the link dead, the agent backs off, hangs up and
    dials again, and is back on the CSMS."""
    async def body(csms, station, st):
        assert await set_vars(st, ("OCPPCommCtrlr", "WebSocketPingInterval", "10"),
                              ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "2"),
                              ("OCPPCommCtrlr", "RetryBackOffRandomRange", "1")) == ["Accepted"] * 3
        control = os.path.join(station.state, "modem.sock")
        assert await send_fault(control, "carrier-lost") == "ok"
        st2 = await csms.wait_station("CS001", connections=2, timeout=BOOT_S)
        assert await get(st2, ("OCPPCommCtrlr", "RetryBackOffWaitMinimum")) == ["2"]  # over the new call
        return station.log()
    log = run(scenario(tmp_path, body))
    assert log.count("modem: dialled APN internet.test") >= 2
    lost = log.index("modem: carrier lost")
    assert "peer dead" in log[lost:] and "reconnect in" in log[lost:]  # noticed by the ping, then a back-off
    assert log.index("modem: dialled APN internet.test", lost) > log.index("reconnect in", lost)


def test_security_profile_2_over_the_cellular_link(tmp_path):
    """wss:// with a test CA (trustme), the server certificate naming the
    address the board dials, and HTTP Basic auth."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", BOARD_HOST)
    paths = {}
    for name, blob in (("ca", ca.cert_pem), ("server", server.cert_chain_pems[0]),
                       ("key", server.private_key_pem)):
        paths[name] = str(tmp_path / (name + ".pem"))
        blob.write_to_path(paths[name])

    async def go():
        csms = await Csms(interval=300, quiet=True, password=PASSWORD,
                          ssl=server_tls(paths["server"], paths["key"])).start()
        station = await StationProcess(tmp_path / "flash", "wss://127.0.0.1:%d" % csms.port, runtime="picow",
                                       password=PASSWORD, cafile=paths["ca"]).start()
        try:
            st = await booted(csms, station)
            assert await get(st, ("SecurityCtrlr", "SecurityProfile")) == ["2"]
        finally:
            code = await station.stop(timeout=30)
            await csms.stop()
        assert code == 0, station.log()[-3000:]
        assert PASSWORD not in station.log()
        assert csms.stations["CS001"].invalid == []
    run(go())


def test_first_start_files_carry_the_modem_and_apn(tmp_path):
    """What the runner puts on a new board's flash: the agent frozen, so only
    main.py and model.jsonl, and install.json with the modem's profile."""
    args = type("Args", (), {"id": "CS9", "password": None, "csms": "ws://localhost:9/ocpp",
                             "state": str(tmp_path), "cafile": None, "firmware": picow.FIRMWARE})()
    image = picow.prepare_flash(args)
    files = picow.list_fs_image(image)
    assert set(files) == {"/main.py", "/model.jsonl", "/install.json", "/modem.json"}
    install = json.loads(picow.first_start_files(args)["install.json"])
    assert install["csms_url"] == "ws://%s:9/ocpp" % BOARD_HOST and install["interface"] == "Wireless1"
    assert install["apn"] == picow.TEST_APN
