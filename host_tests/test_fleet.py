"""Fleet mode (tools/fleet.py): every scenario step and wire fault, played
by a small fleet of real agents against the `ocpp` CSMS (tools/csms.py),
with the report checked against what the CSMS counted."""
import asyncio
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from stations import Csms, run

FLEET = os.path.join(ROOT, "tools", "fleet.py")
# quick reconnection, so a test sees a station come back in seconds
FAST = """
[model]
"OCPPCommCtrlr.RetryBackOffWaitMinimum" = 1
"OCPPCommCtrlr.RetryBackOffRandomRange" = 0
"OCPPCommCtrlr.RetryBackOffRepeatTimes" = 0
"""


class Fleet:
    """tools/fleet.py in a subprocess, its scenario written from text."""

    def __init__(self, tmp_path, csms, scenario, stations=4, duration=10, args=()):
        self.path = tmp_path
        with open(tmp_path / "scenario.toml", "w") as f:
            f.write(scenario)
        self.report_path = str(tmp_path / "report.json")
        self.argv = [sys.executable, FLEET, "--csms", "ws://127.0.0.1:%d" % csms.port, "--stations", str(stations),
                     "--duration", str(duration), "--state", str(tmp_path / "state"),
                     "--scenario", str(tmp_path / "scenario.toml"), "--report", self.report_path] + list(args)

    async def run(self):
        proc = await asyncio.create_subprocess_exec(*self.argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 180)
        self.code, self.out, self.err = proc.returncode, out.decode(), err.decode()
        with open(self.report_path) as f:
            self.report = json.load(f)
        return self

    def station_log(self, ident):
        with open(os.path.join(self.path, "state", "logs", ident + ".log")) as f:
            return f.read()


def csms_counts(csms, action):
    return sum(len(s.calls(action)) for s in csms.sessions)


def boots(csms, ident):
    return [p for s in csms.sessions if s.id == ident for p in s.calls("BootNotification")]


async def played(tmp_path, scenario, **fleet_kw):
    """A fleet run against a fresh `ocpp` CSMS: (fleet, csms), both stopped."""
    csms = await Csms(interval=60, quiet=True).start()
    try:
        return await Fleet(tmp_path, csms, scenario, **fleet_kw).run(), csms
    finally:
        await csms.stop()


def assert_matches_csms(report, csms):
    """What the stations counted is what the CSMS counted. A call cut by the
    end of the run (or a power cut) may or may not have reached the CSMS."""
    assert report["connections"] == len(csms.connections)
    assert report["reconnects"] == len(csms.connections) - len(set(csms.connections))
    for action in ("BootNotification", "Heartbeat", "StatusNotification"):
        a = report["actions"][action]
        assert a["count"] - a["cut"] <= csms_counts(csms, action) <= a["count"], (action, a)
        assert a["cut"] <= report["stations"]
    assert report["registered"] == len({s.id for s in csms.sessions if s.calls("BootNotification")})


def test_steady_fleet_report_matches_csms(tmp_path):
    async def main():
        csms = await Csms(interval=2, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, 'ramp = 10\n', stations=6, duration=9).run()
        finally:
            await csms.stop()
        r = f.report
        assert f.code == 0, f.out + f.err
        assert r["stations"] == r["registered"] == 6
        assert r["reconnects"] == r["callerrors"] == r["timeouts"] == 0
        assert r["actions"]["Heartbeat"]["count"] >= 6 * 3
        for action in ("BootNotification", "Heartbeat", "StatusNotification"):
            a = r["actions"][action]
            assert a["p50_ms"] is not None and a["p50_ms"] <= a["p95_ms"] <= a["p99_ms"]
        assert_matches_csms(r, csms)
        assert sorted(set(csms.connections)) == ["CS-%05d" % n for n in range(1, 7)]
        assert "registered 6" in f.out and "Heartbeat" in f.out
        assert "boot Accepted" in f.station_log("CS-00003")
        with open(tmp_path / "report.svg") as svg:
            assert svg.read().startswith("<svg")
        assert max(row["online"] for row in r["timeline"]) == 6
    run(main())


def test_callerrors_and_timeouts_are_counted_and_fail_the_run(tmp_path):
    async def main():
        csms = await Csms(interval=2, quiet=True).start()
        csms.silent.add("Heartbeat")  # never answered: the station's MessageTimeout
        try:
            f = await Fleet(tmp_path, csms, 'ramp = 0\nmessage_timeout = 1\n',
                            stations=3, duration=8, args=["--id-pattern", "T{n}"]).run()
        finally:
            await csms.stop()
        assert f.code == 1
        assert f.report["timeouts"] > 0 and f.report["actions"]["Heartbeat"]["timeouts"] == f.report["timeouts"]
        assert "NOT ASKED FOR" in f.out
        assert set(csms.connections) == {"T1", "T2", "T3"}
    run(main())


def test_boot_storm_restarts_the_share_on_the_same_flash(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 3\ndo = "boot_storm"\nshare = 0.5\noff = 1\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=10)
        r = f.report
        assert f.code == 0, f.out + f.err
        assert r["disturbed_stations"] == 2 and r["reconnects"] == 2
        again = [i for i in set(csms.connections) if len(boots(csms, i)) == 2]
        assert len(again) == 2
        assert all(p["reason"] == "PowerUp" for i in again for p in boots(csms, i))
        assert_matches_csms(r, csms)
    run(main())


def test_power_cut_station_comes_back_with_its_store(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 5\ndo = "power_cut"\noff = 1\n' + FAST
    var = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}

    async def main():
        csms = await Csms(interval=60, quiet=True).start()
        try:
            fleet = asyncio.create_task(Fleet(tmp_path, csms, scenario, stations=2, duration=12).run())
            st = await csms.wait_station("CS-00001", timeout=10)
            await st.wait_for("BootNotification")
            answer = await st.request("SetVariables", {"setVariableData": [dict(var, attributeValue="123")]})
            assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
            st = await csms.wait_station("CS-00001", connections=2, timeout=15)
            await st.wait_for("BootNotification")
            answer = await st.request("GetVariables", {"getVariableData": [var]})
            assert answer["getVariableResult"][0]["attributeValue"] == "123"
            f = await fleet
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        assert f.report["reconnects"] == 2 and f.report["registered"] == 2
        assert_matches_csms(f.report, csms)
    run(main())


def test_connector_status_changes_reach_the_csms(tmp_path):
    scenario = ('ramp = 0\n[[steps]]\nat = 2\ndo = "status"\nstatus = "Occupied"\n'
                '[[steps]]\nat = 4\ndo = "status"\nstatus = "Occupied"\ncharging = true\n'
                '[[steps]]\nat = 6\ndo = "status"\nshare = 0.5\nstatus = "Faulted"\n')

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=9)
        assert f.code == 0, f.out + f.err
        sent = [p["connectorStatus"] for s in csms.sessions for p in s.calls("StatusNotification")]
        assert sent.count("Occupied") == 4 and sent.count("Faulted") == 2
        assert_matches_csms(f.report, csms)
    run(main())


def test_offline_period_reconnects_and_is_asked_for(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 2\ndo = "offline"\nshare = 0.5\nduration = 3\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=10)
        r = f.report
        assert f.code == 0, f.out + f.err
        assert r["disturbed_stations"] == 2 and r["reconnects"] == 2
        assert r["connection_attempts"] > r["connections"]  # tries while the link was down
        assert_matches_csms(r, csms)
        # B04.FR.02: offline shorter than OfflineThreshold, no connector changed: no StatusNotification again
        assert r["actions"]["StatusNotification"]["count"] == 4
    run(main())


@pytest.mark.parametrize("kind", ["latency", "jitter"])
def test_latency_and_jitter_slow_the_link(tmp_path, kind):
    scenario = 'ramp = 0\n[[steps]]\nat = 0\ndo = "%s"\nms = 300\nduration = 60\n' % kind

    async def main():
        csms = await Csms(interval=1, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, scenario, stations=3, duration=8).run()
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        hb = f.report["actions"]["Heartbeat"]
        if kind == "latency":  # 300 ms each way, on every chunk
            assert hb["p50_ms"] >= 590
        else:  # 0..300 ms each way, at random
            assert hb["p50_ms"] < 600 and hb["p99_ms"] > hb["p50_ms"] + 20
        assert_matches_csms(f.report, csms)
    run(main())


def test_drop_cuts_links_and_stations_come_back(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 3\ndo = "drop"\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=3, duration=9)
        assert f.code == 0, f.out + f.err
        assert f.report["reconnects"] == 3 and len(csms.connections) == 6
        assert csms.closed[:3] == [1006] * 3  # no close frame: the link was cut
        assert_matches_csms(f.report, csms)
    run(main())


def test_freeze_holds_messages_until_it_thaws(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 3\ndo = "freeze"\nduration = 3\n'

    async def main():
        csms = await Csms(interval=1, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, scenario, stations=2, duration=9).run()
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        hb = f.report["actions"]["Heartbeat"]
        assert hb["p99_ms"] >= 1500 and hb["timeouts"] == 0
        assert f.report["reconnects"] == 0
        assert_matches_csms(f.report, csms)
    run(main())


def test_csms_restart_on_the_wire(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 3\ndo = "csms_restart"\nduration = 2\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=12)
        r = f.report
        assert f.code == 0, f.out + f.err
        assert r["reconnects"] == 4 and r["disturbed_stations"] == 4
        rows = [row for row in r["timeline"] if 3.5 <= row["t"] <= 4.5]
        assert rows and all(row["connections"] == 0 for row in rows)  # refused while "restarting"
        assert_matches_csms(r, csms)
    run(main())


def test_real_csms_restart_not_in_the_scenario_fails_the_run(tmp_path):
    """The CSMS goes and comes back on the same port: every station is back,
    but the reconnections were not asked for."""
    async def main():
        csms = await Csms(interval=60, quiet=True).start()
        port = csms.port
        fleet = asyncio.create_task(Fleet(tmp_path, csms, 'ramp = 0\n' + FAST, stations=4, duration=14).run())
        await asyncio.sleep(4)
        await csms.stop()
        await asyncio.sleep(2)
        again = await Csms(port=port, interval=60, quiet=True).start()
        try:
            f = await fleet
        finally:
            await again.stop()
        assert f.code == 1, f.out + f.err
        assert f.report["connections"] == len(csms.connections) + len(again.connections) == 8
        assert f.report["registered"] == 4 and f.report["unexpected"] == {"reconnect": 4}
    run(main())


def test_heartbeat_interval_set_as_the_csms(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 2\ndo = "heartbeat"\ninterval = 1\n'

    async def main():
        csms = await Csms(interval=600, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, scenario, stations=3, duration=8).run()
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        assert f.report["csms_requests"] == {"SetVariables Accepted": 3}
        assert csms_counts(csms, "Heartbeat") >= 3 * 4
        assert not any(s.calls("SetVariables") for s in csms.sessions)  # the answers stayed with the proxy
        assert_matches_csms(f.report, csms)
    run(main())


def test_password_change_driven_as_the_csms(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 2\ndo = "password"\nshare = 0.5\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=8)
        assert f.code == 0, f.out + f.err
        assert f.report["csms_requests"] == {"SetVariables Accepted": 2}
        assert f.report["reconnects"] == 2  # A01: the station reconnects with the new password
        assert_matches_csms(f.report, csms)
    run(main())


def test_network_profile_change_driven_as_the_csms(tmp_path):
    scenario = 'ramp = 0\n[[steps]]\nat = 2\ndo = "network_profile"\nshare = 0.5\n' + FAST

    async def main():
        f, csms = await played(tmp_path, scenario, stations=4, duration=10)
        r = f.report
        assert f.code == 0, f.out + f.err
        assert r["csms_requests"] == {"SetNetworkProfile Accepted": 2, "SetVariables RebootRequired": 2,
                                      "Reset Accepted": 2}
        assert r["resets"] == 2 and r["reconnects"] == 2
        moved = [i for i in set(csms.connections) if len(boots(csms, i)) == 2]
        assert len(moved) == 2 and all(boots(csms, i)[1]["reason"] == "RemoteReset" for i in moved)
        assert "slot 1" in f.station_log(moved[0])
        assert_matches_csms(r, csms)
    run(main())


def test_processes_split_the_fleet_and_add_up(tmp_path):
    async def main():
        csms = await Csms(interval=2, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, 'ramp = 20\n', stations=6, duration=8, args=["--processes", "2"]).run()
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        assert f.report["registered"] == 6 and len(f.report["usage"]) == 2
        assert_matches_csms(f.report, csms)
    run(main())


def test_micropython_runtime(tmp_path):
    scenario = ('ramp = 0\n[[steps]]\nat = 4\ndo = "power_cut"\nshare = 0.5\noff = 1\n'
                '[[steps]]\nat = 8\ndo = "status"\nstatus = "Faulted"\n' + FAST)

    async def main():
        csms = await Csms(interval=2, quiet=True).start()
        try:
            f = await Fleet(tmp_path, csms, scenario, stations=2, duration=14, args=["--runtime", "micropython"]).run()
        finally:
            await csms.stop()
        assert f.code == 0, f.out + f.err
        assert f.report["registered"] == 2 and f.report["reconnects"] == 1
        sent = [p["connectorStatus"] for s in csms.sessions for p in s.calls("StatusNotification")]
        assert sent.count("Faulted") == 2
        assert_matches_csms(f.report, csms)
    run(main())


@pytest.mark.parametrize("argv, message", [
    (["--stations", "0"], "--stations"),
    (["--stations", "x"], "--stations"),
    (["--duration", "-1"], "--duration"),
    (["--csms", "http://x"], "--csms"),
    (["--processes", "9"], "more processes than stations"),
    (["--runtime", "java"], "--runtime"),
    (["--id-pattern", "CS"], "--id-pattern"),
    (["--id-pattern", "{x}"], "--id-pattern"),
    (["--scenario", "/nonexistent.toml"], "--scenario"),
])
def test_bad_arguments_get_one_line_and_status_2(tmp_path, argv, message):
    base = {"--csms": "ws://127.0.0.1:9", "--stations": "4", "--duration": "1", "--state": str(tmp_path)}
    for k, v in zip(argv[::2], argv[1::2]):
        base[k] = v
    p = subprocess.run([sys.executable, FLEET] + [x for kv in base.items() for x in kv], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("text, message", [
    ('[[steps]]\ndo = "explode"\n', "do wants one of"),
    ('[[steps]]\ndo = "drop"\nms = 3\n', "drop takes no ms"),
    ('[[steps]]\ndo = "status"\nstatus = "Plugged"\n', "status wants one of"),
    ('[[steps]]\ndo = "offline"\nshare = 2\n', "share wants 0 to 1"),
    ('ramp = -1\n', "ramp"),
    ('[model]\n"OCPPCommCtrlr.Nope" = 1\n', "model has no variable OCPPCommCtrlr.Nope"),
    ('ramp = \n', "scenario"),
])
def test_bad_scenarios_get_one_line(tmp_path, text, message):
    with open(tmp_path / "bad.toml", "w") as f:
        f.write(text)
    p = subprocess.run([sys.executable, FLEET, "--csms", "ws://127.0.0.1:9", "--stations", "2", "--duration", "1",
                        "--state", str(tmp_path / "s"), "--scenario", str(tmp_path / "bad.toml")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and message in p.stderr, p.stderr


def test_locust_user_class_reports_request_events(tmp_path):
    """Headless Locust for a few seconds: the stations' calls are its requests."""
    locust = os.path.join(os.path.dirname(sys.executable), "locust")

    async def main():
        csms = await Csms(interval=2, quiet=True).start()
        try:
            proc = await asyncio.create_subprocess_exec(
                locust, "-f", os.path.join(ROOT, "tools", "fleet_locust.py"), "--headless", "-u", "2", "-r", "2",
                "-t", "7s", "--host", "ws://127.0.0.1:%d" % csms.port, "--csv", str(tmp_path / "lc"),
                "--only-summary", cwd=str(tmp_path), stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env=dict(os.environ, FLEET_GROUP="3", FLEET_STATE=str(tmp_path / "state")))
            assert await asyncio.wait_for(proc.wait(), 60) == 0
        finally:
            await csms.stop()
        with open(tmp_path / "lc_stats.csv") as f:
            rows = {(r[0], r[1]): r for r in (line.split(",") for line in f.read().splitlines()[1:])}
        assert int(rows[("OCPP", "BootNotification")][2]) == csms_counts(csms, "BootNotification") == 6
        assert int(rows[("OCPP", "Heartbeat")][2]) >= 6
        assert int(rows[("WS", "connect")][2]) == len(csms.connections) == 6
        assert rows[("OCPP", "BootNotification")][3] == "0"  # no failures
    run(main())
