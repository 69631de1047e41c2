"""What a fleet run counts, and how it is shown: progress line, summary
table, JSON report and an SVG plot (drawn by hand: no plotting library).

Stations send events to a sink: Collector in the process that reports,
JsonSink in a worker process (one JSON line per event on stdout, which the
reporting process feeds to its Collector).
"""
import collections
import json
import sys
import time

REPORTED = ("BootNotification", "Heartbeat", "StatusNotification", "NotifyReport")
STATES = ("off", "booting", "connecting", "connected", "online", "backoff")


def percentile(values, p):
    """Nearest-rank percentile of a sorted list; None when empty."""
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def _tally():
    """What is counted of one action; outcomes as fleet_station names them."""
    return {"count": 0, "latencies": [], "callerror": 0, "timeout": 0, "failed": 0, "cut": 0}


class JsonSink:
    """A worker's events, one JSON line each, for the reporting process."""

    def __init__(self, out=None):
        self.out = out or sys.stdout

    def event(self, kind, station, *extra):
        self.out.write(json.dumps({"e": kind, "s": station, "x": extra, "t": time.time()}) + "\n")

    def call(self, station, action, ms, outcome):
        self.out.write(json.dumps({"c": action, "s": station, "ms": round(ms, 3), "o": outcome,
                                   "t": time.time()}) + "\n")

    def flush(self):
        self.out.flush()


class Bucket:
    __slots__ = ("attempts", "connections", "messages", "errors", "latencies", "states")

    def __init__(self):
        self.attempts = self.connections = self.messages = self.errors = 0
        self.latencies = []
        self.states = None


class Collector:
    """Counts per station and over time; `disturbed` stations are those a
    scenario step hit with a fault, whose errors the scenario asked for."""

    def __init__(self, stations, t0=None, bucket=1.0):
        self.stations = stations
        self.t0 = t0 or time.time()
        self.bucket = bucket
        self.state = {}
        self.counts = collections.Counter()
        self.registered = set()
        self.connections = collections.Counter()
        self.attempts = 0
        self.calls = {}
        self.crashes = []
        self.task_errors = collections.Counter()
        self.disturbed = set()
        self.unexpected = collections.Counter()
        self.csms_requests = collections.Counter()
        self.resets = 0
        self.timeline = collections.defaultdict(Bucket)

    def _bucket(self, t):
        return self.timeline[int(((t or time.time()) - self.t0) // self.bucket)]

    def feed(self, d):
        """One line of a JsonSink."""
        if "c" in d:
            self.call(d["s"], d["c"], d["ms"], d["o"], d["t"])
        else:
            self.event(d["e"], d["s"], *d["x"], t=d["t"])

    def event(self, kind, station, *extra, t=None):
        if kind == "state":
            old = self.state.get(station)
            if old:
                self.counts[old] -= 1
            self.state[station] = extra[0]
            self.counts[extra[0]] += 1
        elif kind == "attempt":
            self.attempts += 1
            self._bucket(t).attempts += 1
        elif kind == "connected":
            self.connections[station] += 1
            self._bucket(t).connections += 1
            if self.connections[station] > 1 and station not in self.disturbed:
                self.unexpected["reconnect"] += 1
        elif kind == "registered":
            self.registered.add(station)
        elif kind == "crash":
            self.crashes.append((station, extra[0]))
            self.unexpected["crash"] += 1
        elif kind == "task_error":
            self.task_errors[extra[0]] += 1
            if station not in self.disturbed:
                self.unexpected["task_error"] += 1
        elif kind == "disturbed":
            self.disturbed.add(station)
        elif kind == "csms":
            action, status = extra
            self.csms_requests[(action, status)] += 1
            if status not in ("Accepted", "RebootRequired", "Scheduled") and station not in self.disturbed:
                self.unexpected["csms_request_" + status] += 1
        elif kind == "reset":  # asked for by whoever sent the Reset
            self.resets += 1
            self.disturbed.add(station)

    def call(self, station, action, ms, outcome, t=None):
        a = self.calls.get(action)
        if a is None:
            a = self.calls[action] = _tally()
        a["count"] += 1
        b = self._bucket(t)
        b.messages += 1
        if outcome == "ok":
            a["latencies"].append(ms)
            b.latencies.append(ms)
            return
        a[outcome] += 1
        if outcome == "cut":  # the station's power or the run ended: no error
            return
        b.errors += 1
        if station not in self.disturbed:
            self.unexpected[outcome] += 1

    def sample(self):
        """Note the state counts now, once per bucket (the progress loop)."""
        self._bucket(None).states = dict(self.counts)

    def errors(self):
        return sum(a["callerror"] + a["timeout"] + a["failed"] for a in self.calls.values())

    def progress(self, elapsed, rate):
        c = self.counts
        return ("%5.0fs  online %d  connecting %d  backing off %d  off %d  registered %d/%d  %.0f msg/s  errors %d" % (
            elapsed, c["online"] + c["connected"], c["connecting"] + c["booting"], c["backoff"], c["off"],
            len(self.registered), self.stations, rate, self.errors()))

    def messages(self):
        return sum(a["count"] for a in self.calls.values())

    # -- the end ---------------------------------------------------------------
    def report(self, extra=None):
        actions = {}
        for name in sorted(set(REPORTED) | set(self.calls)):
            a = self.calls.get(name) or _tally()
            lat = sorted(a["latencies"])
            actions[name] = {"count": a["count"], "answered": len(lat),
                             "p50_ms": _ms(percentile(lat, 50)), "p95_ms": _ms(percentile(lat, 95)),
                             "p99_ms": _ms(percentile(lat, 99)), "callerrors": a["callerror"],
                             "timeouts": a["timeout"], "failed": a["failed"], "cut": a["cut"]}
        connections = sum(self.connections.values())
        report = {
            "started_at": self.t0,
            "stations": self.stations,
            "registered": len(self.registered),
            "connections": connections,
            "reconnects": connections - len(self.connections),
            "connection_attempts": self.attempts,
            "callerrors": sum(a["callerrors"] for a in actions.values()),
            "timeouts": sum(a["timeouts"] for a in actions.values()),
            "failed_calls": sum(a["failed"] for a in actions.values()),
            "resets": self.resets,
            "crashes": [{"station": s, "error": e} for s, e in self.crashes],
            "task_errors": dict(self.task_errors),
            "disturbed_stations": len(self.disturbed),
            "unexpected": dict(self.unexpected),
            "csms_requests": {"%s %s" % k: n for k, n in sorted(self.csms_requests.items())},
            "actions": actions,
            "timeline": self.timeline_rows(),
        }
        report.update(extra or {})
        return report

    def timeline_rows(self):
        rows = []
        states = {}
        for i in range(max(self.timeline) + 1 if self.timeline else 0):
            b = self.timeline.get(i) or Bucket()
            states = b.states if b.states is not None else states
            lat = sorted(b.latencies)
            rows.append({"t": round(i * self.bucket, 3), "online": states.get("online", 0) + states.get("connected", 0),
                         "connecting": states.get("connecting", 0) + states.get("booting", 0),
                         "backoff": states.get("backoff", 0), "attempts": b.attempts,
                         "connections": b.connections, "messages": b.messages, "errors": b.errors,
                         "p50_ms": _ms(percentile(lat, 50)), "p95_ms": _ms(percentile(lat, 95))})
        return rows


def _ms(v):
    return None if v is None else round(v, 1)


def ok(report):
    """Exit status rule: every station registered, nothing unasked failed."""
    return report["registered"] == report["stations"] and not report["unexpected"]


def table(report):
    """The summary printed at the end."""
    lines = ["stations %d   registered %d   connections %d (reconnects %d, attempts %d)   resets %d" % (
        report["stations"], report["registered"], report["connections"], report["reconnects"],
        report["connection_attempts"], report["resets"]),
        "callerrors %d   timeouts %d   failed calls %d   crashes %d   stations under faults %d" % (
        report["callerrors"], report["timeouts"], report["failed_calls"], len(report["crashes"]),
        report["disturbed_stations"]), "",
        "%-28s %8s %8s %9s %9s %9s %6s %6s" % ("action", "sent", "answered", "p50 ms", "p95 ms", "p99 ms",
                                               "errors", "t/o")]
    for name, a in report["actions"].items():
        lines.append("%-28s %8d %8d %9s %9s %9s %6d %6d" % (
            name, a["count"], a["answered"], _txt(a["p50_ms"]), _txt(a["p95_ms"]), _txt(a["p99_ms"]),
            a["callerrors"] + a["failed"], a["timeouts"]))
    if report["csms_requests"]:
        lines.append("")
        lines.append("requests sent as the CSMS: " + ", ".join(
            "%s: %d" % kv for kv in report["csms_requests"].items()))
    if report["unexpected"]:
        lines.append("")
        lines.append("NOT ASKED FOR BY THE SCENARIO: " + ", ".join("%s %d" % kv for kv in report["unexpected"].items()))
    for c in report["crashes"][:5]:
        lines.append("crash %s: %s" % (c["station"], c["error"]))
    return "\n".join(lines)


def _txt(v):
    return "-" if v is None else "%.1f" % v


def svg(report, title):
    """Three panels over time: stations online (and connecting, backing off);
    latency p50/p95; connection attempts per second."""
    rows = report["timeline"]
    w, h, left, top, gap = 900, 170, 60, 44, 56
    t_max = max([r["t"] for r in rows] + [1])
    panels = [
        ("stations", [("online", "#2a7"), ("connecting", "#d90"), ("backoff", "#c33")], report["stations"]),
        ("latency ms", [("p50_ms", "#27c"), ("p95_ms", "#a3c")], None),
        ("attempts/s", [("attempts", "#555")], None),
    ]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (w + left + 20, top + len(panels) * (h + gap)),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">%s</text>' % (left, _esc(title))]
    top += 6
    for i, (label, series, y_max) in enumerate(panels):
        y0 = top + i * (h + gap)
        values = [r[k] for r in rows for k, _ in series if r[k] is not None]
        y_max = y_max or max(values + [1])
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>' % (left, y0, w, h))
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (left, y0 - 5, _esc(label)))
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 4, y0 + 10, _num(y_max)))
        out.append('<text x="%d" y="%d" text-anchor="end">0</text>' % (left - 4, y0 + h))
        out.append('<text x="%d" y="%d" text-anchor="end">%ss</text>' % (left + w, y0 + h + 14, _num(t_max)))
        for j, (key, colour) in enumerate(series):
            for points in _runs(rows, key):  # a line has gaps where nothing was measured
                out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (colour, " ".join(
                    "%.1f,%.1f" % (left + t / t_max * w, y0 + h - v / y_max * h) for t, v in points)))
            out.append('<text x="%d" y="%d" fill="%s">%s</text>' % (left + 10 + j * 110, y0 + h + 14, colour, key))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _runs(rows, key):
    """The (t, value) runs of rows between those where key is None."""
    run = []
    for r in rows:
        if r[key] is None:
            if run:
                yield run
            run = []
        else:
            run.append((r["t"], r[key]))
    if run:
        yield run


def _num(v):
    return ("%d" % v) if float(v).is_integer() else ("%.1f" % v)


def _esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;")
