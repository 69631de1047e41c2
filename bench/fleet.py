"""Fleet mode at scale (issue 14): tools/fleet.py, one CPython process,
against the dev CSMS (tools/csms.py) in a process of its own.

1. Steady fleets of 100 and 1,000 stations, heartbeat every 60 s (the
   CSMS's interval), ramp 50 stations/s: the fleet process's RSS (sampled
   from /proc every 2 s) and CPU, in the steady window after every station
   registered and for the whole run, per station and per 1,000 messages.
2. Boot storm: 1,000 stations at once against a CSMS that is killed 60 s in
   and started again 20 s later on the same port: connection attempts per
   second over time (bench/fleet_storm.svg), and how long until every
   station is online again.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fleet_report  # noqa: E402

PY = sys.executable
STEADY = ((100, 180), (1000, 600))  # stations, seconds
STORM = 1000
STORM_RUN, CSMS_DOWN_AT, CSMS_DOWN_FOR = 170, 60, 20
BACKOFF = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 5, "OCPPCommCtrlr.RetryBackOffRandomRange": 10,
           "OCPPCommCtrlr.RetryBackOffRepeatTimes": 3}
SVG = os.path.join(ROOT, "bench", "fleet_storm.svg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_csms(port):
    proc = subprocess.Popen([PY, os.path.join(ROOT, "tools", "csms.py"), "--port", str(port), "--interval", "60",
                             "--quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()  # "CSMS listening ..."
    return proc


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scenario(tmp, ramp, model):
    path = os.path.join(tmp, "scenario-%s.toml" % ramp)
    with open(path, "w") as f:
        f.write("name = \"bench\"\nramp = %d\n[model]\n" % ramp)
        for k, v in model.items():
            f.write('"%s" = %s\n' % (k, v))
    return path


def run_fleet(tmp, port, stations, duration, ramp, model=None, during=None):
    """Run tools/fleet.py; sample it; `during(t)` is called every 2 s."""
    state = os.path.join(tmp, "fleet-%d-%d" % (stations, ramp))
    report_path = state + ".json"
    proc = subprocess.Popen([PY, os.path.join(ROOT, "tools", "fleet.py"), "--csms", "ws://127.0.0.1:%d" % port,
                             "--stations", str(stations), "--duration", str(duration), "--state", state,
                             "--scenario", scenario(tmp, ramp, model or {}), "--report", report_path],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    samples = []  # (t, rss MB, cpu s)
    while proc.poll() is None:
        try:
            samples.append((time.time() - t0, rss_mb(proc.pid), cpu_seconds(proc.pid)))
        except (OSError, IndexError):
            pass
        if during:
            during(time.time() - t0)
        time.sleep(2)
    with open(report_path) as f:
        report = json.load(f)
    return report, samples


def steady(tmp):
    port = free_port()
    csms = start_csms(port)
    rows = []
    try:
        for stations, duration in STEADY:
            report, samples = run_fleet(tmp, port, stations, duration, 50)
            online = [r["t"] for r in report["timeline"] if r["online"] == stations]
            start = (online[0] if online else 0) + 10  # the steady window: all online, plus 10 s
            window = [s for s in samples if s[0] >= start]
            cpu_window = (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0]) if len(window) > 1 else None
            msgs_window = sum(r["messages"] for r in report["timeline"] if r["t"] >= start)
            rows.append({
                "stations": stations, "duration": duration, "registered": report["registered"],
                "reconnects": report["reconnects"], "errors": report["callerrors"] + report["timeouts"],
                "rss_max": max(s[1] for s in samples), "rss_end": window[-1][1] if window else samples[-1][1],
                "cpu_total": samples[-1][2], "messages": sum(a["count"] for a in report["actions"].values()),
                "cpu_window": cpu_window, "msgs_window": msgs_window,
                "window_cpu_s": window[-1][2] - window[0][2] if len(window) > 1 else 0,
                "hb": report["actions"]["Heartbeat"]})
    finally:
        stop(csms)
    return rows


def storm(tmp):
    port = free_port()
    box = {"csms": start_csms(port), "events": []}

    def during(t):  # box gets the wall-clock times of the kill and the new start
        if t >= CSMS_DOWN_AT and "down" not in box:
            box["down"] = time.time()
            box["csms"].kill()
            box["csms"].wait()
        elif t >= CSMS_DOWN_AT + CSMS_DOWN_FOR and "up" not in box:
            box["csms"] = start_csms(port)
            box["up"] = time.time()
    try:
        report, samples = run_fleet(tmp, port, STORM, STORM_RUN, 0, BACKOFF, during)
    finally:
        stop(box["csms"])
    # on the report's clock: seconds since the fleet started
    return report, samples, box["down"] - report["started_at"], box["up"] - report["started_at"]


def fmt(v, f="%.1f"):
    return "-" if v is None else f % v


def run():
    tmp = tempfile.mkdtemp(prefix="bench-fleet-")
    return steady_section(steady(tmp)) + "\n\n" + storm_section(*storm(tmp))


def steady_section(rows):
    out = ["## Fleet mode (issue 14)", "",
           "`tools/fleet.py` runs every station as the real agent on CPython asyncio, all in one process, against",
           "the dev CSMS (`tools/csms.py`, its own process) on this machine. Heartbeat every 60 s (the CSMS's",
           "interval), ramp 50 stations/s. RSS sampled from /proc every 2 s; CPU is the fleet process's own",
           "(user + system), over the steady window (every station online, from 10 s after) and over the",
           "whole run, boot included. Targets: 1,000 stations hold for 10 minutes, RSS <= 300 MB, CPU < 1 core.",
           "In the steady window most of the CPU is not messages: each agent's watchdog task wakes every",
           "second (1,000 wake-ups a second), so CPU per message falls as messages grow.",
           "",
           "| stations | run s | registered | reconnects | errors | max RSS MB | RSS KB / station | "
           "steady CPU (cores) | CPU s / 1,000 messages, steady | same, whole run with boot | "
           "heartbeat p50 / p99 ms |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append("| %d | %d | %d | %d | %d | %.1f | %.0f | %s | %s | %.2f | %s / %s |" % (
            r["stations"], r["duration"], r["registered"], r["reconnects"], r["errors"], r["rss_max"],
            r["rss_max"] * 1024 / r["stations"], fmt(r["cpu_window"], "%.3f"),
            fmt(r["window_cpu_s"] / r["msgs_window"] * 1000 if r["msgs_window"] else None, "%.2f"),
            r["cpu_total"] / max(r["messages"], 1) * 1000, fmt(r["hb"]["p50_ms"]), fmt(r["hb"]["p99_ms"])))
    small, big = rows[0], rows[-1]
    out += ["", "From %d to %d stations (x%.0f): max RSS x%.2f (%.1f -> %.1f MB), RSS per station beyond the"
            " first %d: %.0f KB; steady CPU x%s." % (
                small["stations"], big["stations"], big["stations"] / small["stations"],
                big["rss_max"] / small["rss_max"], small["rss_max"], big["rss_max"], small["stations"],
                (big["rss_max"] - small["rss_max"]) * 1024 / (big["stations"] - small["stations"]),
                fmt(big["cpu_window"] / small["cpu_window"] if small["cpu_window"] else None, "%.1f"))]
    return "\n".join(out)


def storm_section(report, samples, down, up):
    with open(SVG, "w") as f:
        f.write(fleet_report.svg(report, "boot storm: %d stations; CSMS killed at %.0f s, back at %.0f s" % (
            STORM, down, up)))
    rows_t = report["timeline"]
    first = [r for r in rows_t if r["attempts"]]
    back = [r["t"] for r in rows_t if r["t"] > up and r["online"] == STORM]
    after_kill = [r["attempts"] for r in rows_t if down - 1 < r["t"] < down + 1]
    backing = [r["attempts"] for r in rows_t if down + 1 <= r["t"]]
    boot = report["actions"]["BootNotification"]
    bins = []
    for start in range(0, int(rows_t[-1]["t"]) + 1, 10):
        bins.append(sum(r["attempts"] for r in rows_t if start <= r["t"] < start + 10))
    out = ["Boot storm: %d stations started at once (ramp 0), RetryBackOffWaitMinimum 5 s, RandomRange 10 s,"
           " RepeatTimes 3 (longest wait 50 s); the CSMS process is killed at %.0f s and started again at %.0f s"
           " (seconds since the fleet started)." % (STORM, down, up), "",
           "| figure | value |", "|---|---:|",
           "| registered | %d / %d |" % (report["registered"], STORM),
           "| first second with attempts, after building the %d agents | t = %.0f s: %d attempts |" % (
               STORM, first[0]["t"], first[0]["attempts"]) if first else "| first attempts | - |",
           "| BootNotification p50 / p95 / p99 ms in the storm | %s / %s / %s |" % (
               fmt(boot["p50_ms"]), fmt(boot["p95_ms"]), fmt(boot["p99_ms"])),
           "| attempts within a second of the CSMS going | %d |" % sum(after_kill),
           "| most attempts in one second after that (backing off) | %d |" % max(backing + [0]),
           "| all online again, seconds after the CSMS came back | %s |" % fmt(back[0] - up if back else None),
           "| connection attempts in all | %d |" % report["connection_attempts"],
           "| connections in all | %d |" % report["connections"],
           "| fleet max RSS MB | %.1f |" % max(s[1] for s in samples),
           "", "Connection attempts per 10 s (from t = 0 s; plot: bench/fleet_storm.svg):", "",
           "`" + " ".join(str(b) for b in bins) + "`", "",
           "Every reconnection waits RetryBackOffWaitMinimum plus a random 0..RetryBackOffRandomRange, doubled",
           "after each failed attempt (B04): attempts within a second of the CSMS going would be a storm.", "",
           "Reproduce: `.venv/bin/python tools/bench.py fleet` (about 16 minutes; part of `make bench`)."]
    return "\n".join(out)


if __name__ == "__main__":
    print(run())
