"""Fleet mode: many real stations on one machine, to load- and chaos-test a CSMS.

  fleet.py --csms URL --stations N --duration SECONDS [--state DIR]
           [--processes K] [--scenario FILE] [--report FILE.json]
           [--runtime cpython|micropython] [--id-pattern PATTERN] [--plot FILE.svg]

Every station runs the agent itself (firmware/csagent) with its own id
(--id-pattern, default CS-{n:05}), flash directory under --state, device
model and store. On CPython they share one asyncio loop per process
(tools/fleet_station.py); --processes K spreads them over K worker
processes; --runtime micropython runs each station as a unix-port process.
The scenario (tools/scenarios/*.toml, see tools/fleet_scenario.py) says how
fast they start and what happens to whom and when, faults on the wire
included (tools/fleet_proxy.py).

While it runs, a progress line; at the end a summary table, a JSON report
(--report, default <state>/report.json) and a plot (--plot, default the
report's name with .svg). Exit status 0 when every station registered and
nothing failed that the scenario did not ask for, 1 otherwise, 2 for a bad
command line.
"""
import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cli import OneLineParser  # noqa: E402
import fleet_report  # noqa: E402
import fleet_scenario  # noqa: E402
from fleet_proxy import Proxy  # noqa: E402

DEFAULT_STATE = os.path.join(ROOT, "state", "fleet")


def _positive(kind, low=1, high=None):
    def check(text):
        try:
            n = kind(text)
        except ValueError:
            raise ValueError
        if n < low or (high is not None and n > high):
            raise ValueError
        return n
    check.__name__ = kind.__name__
    return check


def csms_url(text):
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError
    return text.rstrip("/")


csms_url.__name__ = "ws:// or wss:// URL"


def parse(argv):
    p = OneLineParser(description="Run a fleet of real stations against a CSMS.")
    p.add_argument("--csms", required=True, type=csms_url)
    p.add_argument("--stations", required=True, type=_positive(int, 1, 100000))
    p.add_argument("--duration", required=True, type=_positive(float, 0.001))
    p.add_argument("--state", default=DEFAULT_STATE, help="flash directories, logs, report")
    p.add_argument("--processes", type=_positive(int, 1, 256), default=1)
    p.add_argument("--scenario", default=fleet_scenario.DEFAULT)
    p.add_argument("--report")
    p.add_argument("--plot")
    p.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    p.add_argument("--id-pattern", default="CS-{n:05}")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # FIRST:COUNT, from _workers() or fleet_locust.py
    p.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        ids = {args.id_pattern.format(n=n) for n in (1, 2, args.stations)}
    except (KeyError, IndexError, ValueError, AttributeError):
        p.error("--id-pattern %r: use {n} for the station number, e.g. CS-{n:05}" % args.id_pattern)
    if len(ids) < min(3, args.stations) or any(not i or len(i) > 48 or "/" in i for i in ids):
        p.error("--id-pattern must give distinct ids of 1 to 48 characters without '/'")
    if args.processes > args.stations:
        p.error("--processes %d: more processes than stations" % args.processes)
    if os.path.exists(args.state) and not os.path.isdir(args.state):
        p.error("--state %s: not a directory" % args.state)
    try:
        args.scenario_data = fleet_scenario.load(args.scenario)
    except fleet_scenario.ScenarioError as e:
        p.error("--scenario %s" % e)
    if fleet_scenario.needs_proxy(args.scenario_data, args.runtime) and not args.csms.startswith("ws://"):
        p.error("--scenario %s has faults on the wire, which need a ws:// CSMS" % args.scenario)
    if args.runtime == "micropython" and args.processes > 1:
        p.error("--runtime micropython runs a process per station already: leave out --processes")
    args.report = args.report or os.path.join(args.state, "report.json")
    args.plot = args.plot or os.path.splitext(args.report)[0] + ".svg"
    return args


class Fleet:
    """The stations of one process, their proxy and the scenario's clock."""

    def __init__(self, args, first, count, sink, t0):
        self.args = args
        self.total = args.stations
        self.first, self.count = first, count
        self.sink = sink
        self.t0 = t0
        self.scenario = args.scenario_data
        self.proxy = None
        self.csms_url = args.csms
        self.stations = {}

    async def until(self, seconds):
        await asyncio.sleep(max(0, self.t0 + seconds - time.time()))

    async def run(self, duration):
        args = self.args
        os.makedirs(args.state, exist_ok=True)
        if fleet_scenario.needs_proxy(self.scenario, args.runtime):
            parts = urlsplit(args.csms)
            self.proxy = await Proxy(parts.hostname, parts.port or 80).start()
            self.csms_url = "ws://127.0.0.1:%d%s" % (self.proxy.port, parts.path)
        make = self._station_maker()
        for i in range(self.first, self.first + self.count):
            self.stations[i] = make(i)
        tasks = [asyncio.create_task(self._start_all()),
                 asyncio.create_task(fleet_scenario.Runner(self.scenario, self).run())]
        try:
            await self.until(duration)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(st.stop() for st in self.stations.values()), return_exceptions=True)
            if self.proxy:
                await self.proxy.stop()

    def _station_maker(self):
        args = self.args
        defaults = fleet_scenario.write_model(
            os.path.join(args.state, "model-%d.jsonl" % self.first), self.scenario["model"])
        if args.runtime == "micropython":
            from fleet_mp import ProcessStation

            def make(i):
                ident = args.id_pattern.format(n=i + 1)
                return ProcessStation(i, ident, os.path.join(args.state, ident), defaults, self.csms_url,
                                      self.sink, self.scenario["install"])
            return make
        import fleet_station
        fleet_station.install(asyncio.get_running_loop())

        def make(i):
            ident = args.id_pattern.format(n=i + 1)
            return fleet_station.Station(i, ident, os.path.join(args.state, ident), defaults, self.csms_url,
                                         self.sink, self.scenario["install"])
        return make

    async def _start_all(self):
        """Station n starts at n / ramp seconds (the whole fleet's ramp)."""
        ramp = self.scenario["ramp"]
        for i, st in self.stations.items():
            if ramp:
                await self.until(i / ramp)
            st.start()


def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_s": round(r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime, 2),
            "max_rss_mb": round(max(r.ru_maxrss, c.ru_maxrss) / 1024, 1)}


async def worker(args):
    """One part of the fleet (--worker FIRST:COUNT): events as JSON lines."""
    first, count = (int(x) for x in args.worker.split(":"))
    sink = fleet_report.JsonSink()
    fleet = Fleet(args, first, count, sink, args.t0 or time.time())

    async def flush():
        while True:
            await asyncio.sleep(0.5)
            sink.flush()
    flusher = asyncio.create_task(flush())
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the workers too
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    run = asyncio.create_task(fleet.run(args.duration))
    await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
    if not run.done():
        run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    sink.event("usage", None, usage())
    flusher.cancel()
    sink.flush()


async def lead(args):
    """Run the fleet here or in worker processes; report."""
    t0 = time.time()
    collector = fleet_report.Collector(args.stations, t0)
    usage_of_workers = []
    if args.processes == 1:
        parts = asyncio.create_task(Fleet(args, 0, args.stations, collector, t0).run(args.duration))
    else:
        parts = asyncio.create_task(_workers(args, t0, collector, usage_of_workers))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, parts.cancel)
    loop.add_signal_handler(signal.SIGTERM, parts.cancel)
    progress = asyncio.create_task(_progress(collector, t0))
    try:
        await parts
    except asyncio.CancelledError:
        sys.stderr.write("\nstopped early\n")
    progress.cancel()
    collector.sample()
    extra = {"scenario": args.scenario_data["name"], "duration_s": args.duration, "runtime": args.runtime,
             "processes": args.processes, "usage": usage_of_workers or [usage()]}
    return collector.report(extra)


async def _progress(collector, t0):
    tty = sys.stderr.isatty()
    last_n, last_t, shown = 0, t0, 0
    while True:
        await asyncio.sleep(1)
        collector.sample()
        now = time.time()
        n = collector.messages()
        line = collector.progress(now - t0, (n - last_n) / max(now - last_t, 1e-3))
        last_n, last_t = n, now
        if tty:
            sys.stderr.write("\r" + line.ljust(110)[:110])
        elif now - shown >= 10:
            sys.stderr.write(line + "\n")
            shown = now
        sys.stderr.flush()


async def _workers(args, t0, collector, usages):
    """K worker processes, each a share of the stations; their events feed
    the collector here."""
    k = args.processes
    bounds = [(args.stations * j // k, args.stations * (j + 1) // k) for j in range(k)]
    os.makedirs(args.state, exist_ok=True)
    procs = []

    async def read(proc):
        async for line in proc.stdout:
            d = json.loads(line)
            if d.get("e") == "usage":
                usages.append(d["x"][0])
            else:
                collector.feed(d)
    argv = [a for a in sys.argv[1:]]
    try:
        for j, (lo, hi) in enumerate(bounds):
            log = open(os.path.join(args.state, "worker-%d.log" % j), "wb")
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, os.path.abspath(__file__), *_without(argv, "--processes"),
                "--worker", "%d:%d" % (lo, hi - lo), "--t0", repr(t0), stdout=asyncio.subprocess.PIPE,
                stderr=log, stdin=asyncio.subprocess.DEVNULL, limit=1 << 20))
            log.close()
        await asyncio.gather(*(read(p) for p in procs))
        await asyncio.gather(*(p.wait() for p in procs))
    finally:
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            if p.returncode is None:
                await p.wait()


def _without(argv, flag):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


def main(argv=None):
    args = parse(argv)
    if args.worker:
        asyncio.run(worker(args))
        return 0
    report = asyncio.run(lead(args))
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1)
    with open(args.plot, "w") as f:
        f.write(fleet_report.svg(report, "%d stations, scenario %s" % (args.stations, report["scenario"])))
    sys.stderr.write("\n")
    print(fleet_report.table(report))
    print("report %s, plot %s, station logs %s" % (args.report, args.plot, os.path.join(args.state, "logs")))
    return 0 if fleet_report.ok(report) else 1


if __name__ == "__main__":
    sys.exit(main())
