"""Issue 23, the secure firmware update of the agent (L01), end to end on the
unix port against the `ocpp` CSMS: bundles built and signed by
tools/bundle.py with test PKIs made here, served from loopback over HTTP
and HTTPS, installed into a slot, booted on trial, kept or rolled back;
downloads that fail, certificates and signatures that do not verify, a
second request, and power cuts (kill -9) at each step."""
import asyncio
import json
import os
import shutil

import pytest
import trustme

from conftest import ROOT
from firmware_server import FileServer, install_root, make_bundle, make_pki, request, statuses
from stations import FIRMWARE, Csms, StationProcess, run

OLD = "0.1.0"  # boards/host/model.jsonl
NEW = "9.9.9-test"
# make firmware-test runs these on the 32-bit build with the agent frozen in: there an update
# needs more heap than the scenario's (BENCHMARKS.md: 48 KB to install a bundle, 72 KB for the
# installed agent, which runs from .mpy files)
BOARD = {"micropython": FIRMWARE, "heap": "96K"} if FIRMWARE else {}
FINAL = ("Installed", "DownloadFailed", "InvalidSignature", "InstallationFailed", "InstallVerificationFailed")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """Test PKIs (RSA and EC P-256, and a stranger's), the agent as bundles
    signed by each, and two broken agents."""
    d = tmp_path_factory.mktemp("fwkit")
    k = {"rsa": make_pki(d / "rsa"), "ec": make_pki(d / "ec", "ec"), "stranger": make_pki(d / "stranger")}
    k["bundle"], k["sig"] = make_bundle(d / "rsa", NEW, k["rsa"])
    k["ec_bundle"], k["ec_sig"] = make_bundle(d / "ec", NEW, k["ec"])
    k["crash"], k["crash_sig"] = make_bundle(d / "rsa", "9.9.9-crash", k["rsa"], broken(
        d / "crash", "agent.py", "\nimport asyncio\n", "\nimport asyncio\nraise ImportError('broken agent')\n"))
    k["unregistered"], k["unregistered_sig"] = make_bundle(d / "rsa", "9.9.9-unregistered", k["rsa"], broken(
        d / "unregistered", "boot.py", 'return {"reason": self.reason,', 'return {"reason": "NoSuchReason",'))
    ca = trustme.CA()
    k["ca"] = str(d / "ca.pem")
    ca.cert_pem.write_to_path(k["ca"])
    k["tls"] = ca.issue_cert("127.0.0.1")
    return k


def broken(where, module, old, new):
    """A copy of firmware/ whose csagent/<module> has `old` replaced by `new`."""
    tree = str(where)
    shutil.copytree(os.path.join(ROOT, "firmware"), tree)
    path = os.path.join(tree, "csagent", module)
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))
    return tree


def server_tls(kit):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    kit["tls"].configure_cert(ctx)
    return ctx


async def scenario(tmp_path, kit, body, servers=(), pki="rsa", cafile=None, trial=None, invalid_ok=(), root=True):
    """body(csms, station, servers) with the dev CSMS, FileServers for
    [(bundle, fault, https)] and one station whose certificate store holds
    the PKI's root (unless root is False); afterwards every message must
    have passed the schemas (but for actions in invalid_ok) and the station
    must stop cleanly."""
    state = tmp_path / "flash"
    if root:
        install_root(state, kit[pki])
    if trial:
        os.makedirs(state / "fw", exist_ok=True)
        with open(state / "fw" / "trial.json", "w") as f:
            json.dump(trial, f)
    started = [await FileServer(path, fault, server_tls(kit) if https else None).start()
               for path, fault, https in servers]
    csms = await Csms(interval=300, quiet=True).start()
    station = await StationProcess(state, "ws://127.0.0.1:%d" % csms.port, cafile=cafile, **BOARD).start()
    stations = [station]
    try:
        return await body(csms, stations, started)
    finally:
        code = await stations[-1].stop()
        await csms.stop()
        for s in started:
            await s.stop()
        for st in csms.sessions:
            assert [i for i in st.invalid if i[0] not in invalid_ok] == [], st.invalid
        assert code == 0, stations[-1].log()


async def until(predicate, timeout=30):
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not within %s s" % timeout)


def all_statuses(csms):
    return [s for st in csms.sessions for s in statuses(st)]


async def restart(stations, csms):
    """Power back on after a cut: the same flash, a new process."""
    old = stations[-1]
    await old.proc.wait()
    old._log.close()
    new = StationProcess(old.state, "ws://127.0.0.1:%d" % csms.port, **BOARD)
    stations.append(await new.start())
    return new


async def version_now(st):
    got = await st.request("GetVariables", {"getVariableData": [
        {"component": {"name": "ChargingStation"}, "variable": {"name": "FirmwareVersion"}}]})
    return got["getVariableResult"][0]["attributeValue"]


def test_update_over_https_reboots_into_the_new_agent_and_keeps_it(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        with open(kit["rsa"]["root"]) as f:  # the CSMS installs the manufacturer root (M05, C1's handler)
            answer = await st.request("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                             "certificate": f.read()})
        assert answer["status"] == "Accepted"
        answer = await st.request("UpdateFirmware", request(servers[0].url, kit["rsa"], kit["sig"], 7))
        assert answer["status"] == "Accepted"
        st2 = await csms.wait_station("CS001", connections=2, timeout=60)
        boot, = await st2.wait_for("BootNotification")
        assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == NEW, \
            stations[-1].log()[-4000:]
        await st2.wait_for("FirmwareStatusNotification")
        assert statuses(st) == [(s, 7) for s in ("Downloading", "Downloaded", "SignatureVerified", "Installing",
                                                 "InstallRebooting")]
        assert statuses(st2) == [("Installed", 7)]
        events = [e["type"] for e in await st2.wait_for("SecurityEventNotification", 3)]
        assert "FirmwareUpdated" in events
        assert await version_now(st2) == NEW
        assert (await st2.request("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}))[
            "status"] == "Accepted"
        assert (await st2.wait_for("FirmwareStatusNotification", 2))[1] == {"status": "Idle"}
        # the next power-up runs the new agent again: it was made the good one
        assert await stations[-1].stop() == 0
        stations.append(await StationProcess(stations[-1].state, "ws://127.0.0.1:%d" % csms.port,
                                             **BOARD).start())
        st3 = await csms.wait_station("CS001", connections=3, timeout=30)
        boot, = await st3.wait_for("BootNotification")
        assert boot["reason"] == "PowerUp" and boot["chargingStation"]["firmwareVersion"] == NEW
        await st3.wait_for("StatusNotification")
        assert statuses(st3) == []
        assert servers[0].requests == 1
        # a good slot that went bad (a file lost): the frozen or installed agent boots instead
        assert await stations[-1].stop() == 0
        os.remove(os.path.join(stations[-1].state, "fw", "a", "csagent", "agent.mpy"))
        stations.append(await StationProcess(stations[-1].state, "ws://127.0.0.1:%d" % csms.port,
                                             **BOARD).start())
        st4 = await csms.wait_station("CS001", connections=4, timeout=30)
        assert (await st4.wait_for("BootNotification"))[0]["chargingStation"]["firmwareVersion"] == OLD
        assert "firmware: agent in slot a does not start" in stations[-1].log()
    run(scenario(tmp_path, kit, body, [(kit["bundle"], None, True)], cafile=kit["ca"], root=False))


def test_invalid_or_missing_signing_certificate_installs_nothing(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        stranger = request(servers[0].url, kit["stranger"], kit["sig"], 2)  # TC_L_05
        answer = await st.request("UpdateFirmware", stranger)
        assert answer["status"] == "InvalidCertificate"
        await until(lambda: "InvalidFirmwareSigningCertificate" in [p["type"] for p in st.calls(
            "SecurityEventNotification")])
        unsigned = request(servers[0].url, kit["rsa"], kit["sig"], 3)  # TC_L_18
        del unsigned["firmware"]["signingCertificate"], unsigned["firmware"]["signature"]
        assert (await st.request("UpdateFirmware", unsigned))["status"] == "Rejected"
        garbage = request(servers[0].url, kit["rsa"], kit["sig"], 4,
                          signingCertificate="-----BEGIN CERTIFICATE-----\nAAAA")
        assert (await st.request("UpdateFirmware", garbage))["status"] == "InvalidCertificate"
        await asyncio.sleep(1)
        assert servers[0].requests == 0 and statuses(st) == []
        assert not os.path.exists(os.path.join(stations[-1].state, "fw", "a"))
    run(scenario(tmp_path, kit, body, [(kit["bundle"], None, False)]))


def test_invalid_signature_installs_nothing(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        # an EC P-256 signature, valid, but over another bundle than the one served
        answer = await st.request("UpdateFirmware", request(servers[0].url, kit["ec"], kit["ec_sig"], 5))
        assert answer["status"] == "Accepted"
        await until(lambda: ("InvalidSignature", 5) in statuses(st))
        assert statuses(st) == [("Downloading", 5), ("Downloaded", 5), ("InvalidSignature", 5)]
        await until(lambda: "InvalidFirmwareSignature" in [p["type"] for p in st.calls("SecurityEventNotification")])
        assert not os.path.exists(os.path.join(stations[-1].state, "fw", "a"))
        assert os.listdir(os.path.join(stations[-1].state, "fw")) == ["state.json"]
        assert await version_now(st) == OLD
    run(scenario(tmp_path, kit, body, [(kit["crash"], None, False)], pki="ec"))


def test_download_failures_are_retried_then_reported(tmp_path, kit):
    faults = ("close", "long", "extra", "missing", "stall")
    servers = [(kit["bundle"], fault, False) for fault in faults]

    async def body(csms, stations, started):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        for n, server in enumerate(started[:4], 1):  # TC_L_07: one retry each, 1 s apart
            payload = request(server.url, kit["rsa"], kit["sig"], n, retries=1, retryInterval=1)
            assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
            await until(lambda: ("DownloadFailed", n) in statuses(st))
            assert server.requests == 2, server.fault
        stall = started[4]  # a server gone silent: failed by the read timeout, not a hang
        payload = request(stall.url, kit["rsa"], kit["sig"], 9, retries=0)
        assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
        await until(lambda: ("DownloadFailed", 9) in statuses(st), 40)
        assert stall.requests == 1
        assert statuses(st) == [(s, n) for n in (1, 2, 3, 4, 9) for s in ("Downloading", "DownloadFailed")]
        assert await version_now(st) == OLD
        assert os.listdir(os.path.join(stations[-1].state, "fw")) == ["state.json"]
    run(scenario(tmp_path, kit, body, servers))


def test_second_request_cancels_the_first_and_runs(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        first = request(servers[0].url, kit["ec"], kit["ec_sig"], 1)  # its server stalls mid-body
        assert (await st.request("UpdateFirmware", first))["status"] == "Accepted"
        await until(lambda: ("Downloading", 1) in statuses(st))
        assert (await st.request("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}))[
            "status"] == "Accepted"
        await until(lambda: statuses(st).count(("Downloading", 1)) == 2)  # the trigger tells the one under way
        second = request(servers[1].url, kit["ec"], kit["ec_sig"], 2)
        assert (await st.request("UpdateFirmware", second))["status"] == "AcceptedCanceled"  # TC_L_10
        st2 = await csms.wait_station("CS001", connections=2, timeout=60)
        await st2.wait_for("FirmwareStatusNotification")
        assert [s for s in statuses(st) if s[1] == 2] == [(s, 2) for s in (
            "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")]
        assert [s for s in statuses(st) if s[1] == 1] == [("Downloading", 1)] * 2
        assert statuses(st2) == [("Installed", 2)]
        assert (await st2.wait_for("BootNotification"))[0]["chargingStation"]["firmwareVersion"] == NEW
    run(scenario(tmp_path, kit, body, [(kit["ec_bundle"], "stall", False), (kit["ec_bundle"], None, False)],
                 pki="ec"))


def test_a_new_agent_that_cannot_start_is_rolled_back(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        payload = request(servers[0].url, kit["rsa"], kit["crash_sig"], 11)
        assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
        st2 = await csms.wait_station("CS001", connections=2, timeout=60)
        boot, = await st2.wait_for("BootNotification")  # the old agent, in the same boot
        assert boot["chargingStation"]["firmwareVersion"] == OLD and boot["reason"] == "FirmwareUpdate"
        await st2.wait_for("FirmwareStatusNotification")
        assert statuses(st2) == [("InstallationFailed", 11)]
        assert "rolled back: ImportError" in stations[-1].log()
        assert await version_now(st2) == OLD
    run(scenario(tmp_path, kit, body, [(kit["crash"], None, False)]))


def test_a_new_agent_that_is_never_accepted_is_rolled_back_after_its_time(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        payload = request(servers[0].url, kit["rsa"], kit["unregistered_sig"], 12)
        assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
        st2 = await csms.wait_station("CS001", connections=2, timeout=60)
        await until(lambda: st2.invalid)  # its BootNotification is refused
        assert st2.calls("BootNotification") == []
        st3 = await csms.wait_station("CS001", connections=3, timeout=60)
        boot, = await st3.wait_for("BootNotification")
        assert boot["chargingStation"]["firmwareVersion"] == OLD
        await st3.wait_for("FirmwareStatusNotification")
        assert statuses(st3) == [("InstallationFailed", 12)]
        assert "rolled back: not Accepted within 8 s" in stations[-1].log()
    run(scenario(tmp_path, kit, body, [(kit["unregistered"], None, False)], trial={"seconds": 8},
                 invalid_ok=("BootNotification",)))


def test_power_cuts_during_the_trial_roll_back_after_three_boots(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        csms.silent.add("BootNotification")  # the new agent never gets an answer
        payload = request(servers[0].url, kit["rsa"], kit["sig"], 13)
        assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
        for boot in range(2, 5):  # three boots of the new agent, each cut before it is Accepted
            await csms.wait_station("CS001", connections=boot, timeout=60)
            stations[-1].power_cut()
            if boot == 4:
                csms.silent.clear()
            await restart(stations, csms)
        st5 = await csms.wait_station("CS001", connections=5, timeout=60)
        boot, = await st5.wait_for("BootNotification")
        assert boot["chargingStation"]["firmwareVersion"] == OLD
        await st5.wait_for("FirmwareStatusNotification")
        assert statuses(st5) == [("InstallationFailed", 13)]
        assert "rolled back: not Accepted within 3 boots" in stations[-1].log()
    run(scenario(tmp_path, kit, body, [(kit["bundle"], None, False)]))


@pytest.mark.parametrize("step", ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting"])
def test_power_cut_at_each_step_boots_a_working_agent_that_tells(tmp_path, kit, step):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        server = servers[0] if step == "Downloading" else servers[1]  # a stalled download stays there
        assert (await st.request("UpdateFirmware", request(server.url, kit["rsa"], kit["sig"], 21)))[
            "status"] == "Accepted"
        await until(lambda: (step, 21) in statuses(st), 60)
        stations[-1].power_cut()
        await restart(stations, csms)
        # the next connection that tells (a reboot the update began may come first)
        await until(lambda: any(statuses(s) for s in csms.sessions[1:]), 60)
        st2 = [s for s in csms.sessions[1:] if statuses(s)][0]
        told, = statuses(st2)
        assert told[1] == 21 and told[0] in FINAL
        version = (await st2.wait_for("BootNotification"))[0]["chargingStation"]["firmwareVersion"]
        assert version == (NEW if told[0] == "Installed" else OLD)
        if step == "Downloading":
            assert told[0] == "DownloadFailed"
        assert [n for n in os.listdir(os.path.join(stations[-1].state, "fw")) if n.startswith("download")] == []
        # the agent running now, which may be one boot later: the cut can land after the new
        # agent told, and then st2 was the board that was cut
        await until(lambda: csms.sessions[-1].open and csms.sessions[-1].calls("BootNotification"), 60)
        assert await version_now(csms.sessions[-1]) == version
    run(scenario(tmp_path, kit, body, [(kit["bundle"], "stall", False), (kit["bundle"], None, False)]))


def test_an_end_reached_offline_is_told_once_online_again(tmp_path, kit):
    async def body(csms, stations, servers):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        payload = request(servers[0].url, kit["rsa"], kit["sig"], 31, retries=0)  # its server stalls
        assert (await st.request("UpdateFirmware", payload))["status"] == "Accepted"
        await until(lambda: ("Downloading", 31) in statuses(st))
        link_down = os.path.join(stations[-1].state, "link_down")
        open(link_down, "w").close()  # the network goes (the host board's pulled cable)
        await st._connection.close()
        await until(lambda: "firmware DownloadFailed 31" in stations[-1].log(), 40)  # while offline
        os.remove(link_down)
        st2 = await csms.wait_station("CS001", connections=2, timeout=90)
        await st2.wait_for("FirmwareStatusNotification", timeout=30)
        assert statuses(st2) == [("DownloadFailed", 31)]
        assert st2.calls("BootNotification") == []  # a reconnect, not a boot (B04)
    run(scenario(tmp_path, kit, body, [(kit["bundle"], "stall", False)]))
