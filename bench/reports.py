"""Reports (issue 6): heap a FullInventory report needs, 50 vs 500
variables, and the time to stream the 500-variable report end to end.

Heap. micropython.mem_peak() counts every allocation since start and never
goes down when the GC frees, so it cannot see a report's peak. What decides
whether a report fits on a board is the free heap it needs, fragmentation
included. So each probe is a MicroPython unix-port process (agent from .mpy)
that loads the model, connects to the `ocpp` CSMS with csagent.ws and
csagent.rpc, then fills the heap with ballast (4 KB down to 16-byte blocks,
so every hole the model load left is filled too) but for one contiguous
region of LEAVE bytes, and sends the FullInventory through Reports, Rpc and
the WebSocket as the agent does. A binary search finds the smallest LEAVE
that completes. Beside it, the live heap: gc.mem_alloc() after a collection
just before each NotifyReport, minus the same before the report.

Time: a station (tools/station.py, unix port) on the 500-variable defaults
against the `ocpp` CSMS: GetBaseReport sent until the last part arrived,
and from the station's log how much of it the station itself spent.
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
HOST_DEFAULTS = os.path.join(ROOT, "boards", "host", "model.jsonl")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import synthetic  # noqa: E402  (bench/synthetic.py)
SIZES = (50, 500)
STEP = 256  # resolution of the binary search, bytes
HEAP = "1M"  # the probe's heap; ballast takes all but LEAVE of it
STATION_HEAP = "512K"  # loading the 500-variable model needs more than the default 128K
TIMED_REPORTS = 3

# argv: defaults, store dir, CSMS URL, LEAVE (0: no ballast, sample the live heap)
PROBE = """
import asyncio, gc, json, sys, time
from csagent.model import DeviceModel
from csagent.store import Store
from csagent.reports import Reports
from csagent.rpc import CallFailed, Rpc
from csagent.validate import check
from csagent.ws_handshake import connect
path, store_dir, url, leave = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = DeviceModel(path, Store(store_dir))
parts = []
live = [0]

def watch(pieces, last):  # the payload goes out in pieces; the last one holds "tbc"
    for piece in pieces:
        if not leave:
            gc.collect()
            live[0] = max(live[0], gc.mem_alloc())
        last[0] = piece
        yield piece

async def call(action, payload):
    last = [""]
    try:
        await rpc.call(action, watch(payload, last), 5)
    except CallFailed:
        raise RuntimeError("no answer")  # give the report up now, do not start over
    parts.append('"tbc":true' in last[0])

def fill():  # the heap full but for one contiguous region of LEAVE bytes
    reserve = bytearray(leave)
    chain = None
    for size in (4096, 1024, 256, 64, 16):
        try:
            while True:
                chain = [chain, bytearray(size)]
        except MemoryError:
            pass
    return chain

async def main():
    global rpc
    ws = await connect(url)
    rpc = Rpc({}.get, check)
    rpc.attach(ws)
    reader = asyncio.create_task(rpc.serve())
    reports = Reports(model, call, lambda: int(time.time()))
    gc.collect()
    base = gc.mem_alloc()
    ballast = fill() if leave else None
    gc.collect()
    answer, after = reports.get_base_report({"requestId": 1, "reportBase": "FullInventory"})
    await after()
    ballast = None
    print(json.dumps({"done": bool(parts) and parts[-1] is False, "parts": len(parts),
                      "live": live[0] - base if live[0] else 0}))
    reader.cancel()

asyncio.run(main())
"""


def write_defaults(path, count):
    """The host board's defaults plus generated variables up to `count`."""
    with open(HOST_DEFAULTS) as f:
        lines = [line for line in f if line.strip()]
    lines.extend(synthetic.lines(count - len(lines)))
    with open(path, "w") as f:
        f.writelines(lines)
    return path


async def probe(build_dir, work, defaults, url, leave, n):
    """One probe process (module doc); n names its store and station id."""
    script = os.path.join(work, "probe.py")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(PROBE)
    env = dict(os.environ, MICROPYPATH=build_dir + os.pathsep + ".frozen")
    proc = await asyncio.create_subprocess_exec(
        MICROPYTHON, "-X", "heapsize=" + HEAP, script, defaults, os.path.join(work, "store%d" % n),
        url + "/P%d" % n, str(leave), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    lines = out.decode().strip().splitlines()
    if lines and lines[-1].startswith("{"):
        result = json.loads(lines[-1])
        result["error"] = err.decode()[-600:]
        return result
    return {"done": False, "error": err.decode()[-600:]}


async def free_heap_needed(build_dir, work, defaults, url, counter):
    """(smallest free heap that completes the report, live heap at its peak, parts)."""
    counter[0] += 1
    free = await probe(build_dir, work, defaults, url, 0, counter[0])
    assert free["done"], free
    low, high = 0, 64 * 1024  # fails / completes
    counter[0] += 1
    done = await probe(build_dir, work, defaults, url, high, counter[0])
    assert done["done"], done
    while high - low > STEP:
        mid = (low + high) // 2 // STEP * STEP
        counter[0] += 1
        if (await probe(build_dir, work, defaults, url, mid, counter[0]))["done"]:
            high = mid
        else:
            low = mid
    return high, free["live"], free["parts"]


def _split(log, request_id):
    """(station seconds, CSMS seconds) of one report from the station's log:
    from the report's start or a NotifyReport's answer to the next
    NotifyReport sent, and from each NotifyReport sent to its answer."""
    station = csms = 0.0
    last = None
    for line in log.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        t, event = float(fields[0]), fields[1:4]
        if event[:2] == ["report", str(request_id)]:
            last = t
        elif last is None:
            continue
        elif event == ["sent", "CALL", "NotifyReport"]:
            station += t - last
            last = t
        elif event == ["recv", "RESULT", "NotifyReport"]:
            csms += t - last
            last = t
        elif event[:2] == ["report-done", str(request_id)]:
            return station, csms
    raise AssertionError("report %d not in the station log" % request_id)


async def _timed(csms, work, defaults):
    """Seconds from GetBaseReport sent to the last part received, per report,
    and the station's and the CSMS's share of the last one."""
    state = os.path.join(work, "station")
    log_path = state + ".log"
    env = dict(os.environ, CSAGENT_DEFAULTS=defaults)
    with open(log_path, "wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(ROOT, "tools", "station.py"), "--csms", "ws://127.0.0.1:%d" % csms.port,
            "--id", "BENCH", "--state", state, "--heap", STATION_HEAP, env=env,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        st = await csms.wait_station("BENCH", timeout=60)
        await st.wait_for("StatusNotification", timeout=30)
        times, parts, size = [], 0, 0
        for request_id in range(1, TIMED_REPORTS + 1):
            t0 = time.perf_counter()
            await st.request("GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"})

            async def complete():
                async with st.arrived:
                    await st.arrived.wait_for(lambda: st.reports.get(request_id)
                                              and st.reports[request_id][-1]["tbc"] is False)
            await asyncio.wait_for(complete(), 120)
            times.append(time.perf_counter() - t0)
            got = st.reports[request_id]
            parts = len(got)
            size = sum(len(json.dumps(p)) for p in got)
            assert sum(len(p["reportData"]) for p in got) == 500
        assert not st.invalid, st.invalid
    finally:
        proc.terminate()
        await proc.wait()
    with open(log_path) as f:
        shares = _split(f.read(), TIMED_REPORTS)
    return times, parts, size, shares


async def _main(build_dir, work):
    from csms import Csms
    csms = await Csms(interval=300, quiet=True).start()
    try:
        url = "ws://127.0.0.1:%d" % csms.port
        counter = [0]
        rows = {}
        for count in SIZES:
            defaults = write_defaults(os.path.join(work, "model%d.jsonl" % count), count)
            rows[count] = await free_heap_needed(build_dir, work, defaults, url, counter)
        timed = await _timed(csms, work, os.path.join(work, "model500.jsonl"))
        return rows, timed
    finally:
        await csms.stop()


def run():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build
    work = tempfile.mkdtemp(prefix="bench-reports-")
    build_dir = build.build("host", os.path.join(work, "host"))
    rows, (times, parts, size, shares) = asyncio.run(_main(build_dir, work))
    need = [rows[n][0] for n in SIZES]
    lines = [
        "## Reports: FullInventory heap and streaming time (unix port)",
        "",
        "Host defaults plus generated variables; ItemsPerMessageGetReport 16, BytesPerMessageGetReport "
        "4096 (the host board's). *Free heap needed*: the smallest contiguous free region (ballast fills "
        "every other hole) in which the report completes through csagent.reports, csagent.rpc and "
        "csagent.ws against the `ocpp` CSMS, binary search to %d bytes. *Live heap*: gc.mem_alloc() "
        "after a collection just before each NotifyReport, minus before the report. micropython.mem_peak() "
        "is not used: it counts allocations the GC has freed. 64-bit unix port." % STEP,
        "",
        "| variables | NotifyReports | free heap needed | live heap at peak |",
        "|---|---|---|---|",
    ]
    for n in SIZES:
        heap, live, count = rows[n]
        lines.append("| %d | %d | %.2f KB | %.2f KB |" % (n, count, heap / 1024, live / 1024))
    lines += [
        "",
        "Difference 500 vs 50: %+.2f KB of free heap needed (target: within 2 KB)." % ((need[1] - need[0]) / 1024),
        "",
        "Streaming the 500-variable FullInventory end to end (tools/station.py on the unix port, heap %s, "
        "against tools/csms.py on loopback; %d NotifyReports, %.0f KB of payload JSON; %d reports): "
        "best %.2f s, median %.2f s. Of the last one, by the station's log: %.2f s in the station "
        "(from a NotifyReport's answer to the next NotifyReport sent), %.2f s waiting for the CSMS "
        "(the Python `ocpp` CSMS handling each 4 KB part: schema validation, routing)." % (
            STATION_HEAP, parts, size / 1024, len(times), min(times), statistics.median(times),
            shares[0], shares[1]),
        "",
        "Reproduce: `make bench` (bench/reports.py).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
