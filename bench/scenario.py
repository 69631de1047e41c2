"""The whole provisioning scenario on the unix port, and the board sizes (issue 8).

Scenario: boot, a FullInventory report, 100 SetVariables, a Reset and the
boot after it, against the dev CSMS. Measured for the agent's ways onto a
board on the 32-bit unix build (frozen into it, ROMFS, .mpy files) and on
the 64-bit port (ROMFS, .mpy): the heap the agent's code takes, the heap in
use once online, and the smallest -X heapsize (bisected) that passes the
scenario. Then 10,000 GetVariables
with heartbeats every second: the heap the agent logs at each heartbeat,
drawn in bench/heap.svg, must not grow. And the total .mpy size for each
board.
"""
import asyncio
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

LONG_RUN = 10000
SETS = 100
SVG = os.path.join(ROOT, "bench", "heap.svg")
COLUMN_FROZEN = "32-bit frozen"  # tools/firmware_test.py reads this column's smallest heap


def var(component, variable, value=None):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if value is not None:
        d["attributeValue"] = value
    return d


def heap_log(text, peak=False):
    """(seconds, bytes in use, or the high-water mark with peak) from a log."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) > 7 and words[1] == "heap" and words[2] == "used":
            out.append((float(words[0]), int(words[7] if peak else words[3])))
    return out


async def scenario(heap, **way):
    """(True when the whole scenario passes with this heap, the station's
    log). way: StationProcess's romfs, unix_port or micropython."""
    from csms import Csms
    from stations import StationProcess
    csms = await Csms(interval=1, quiet=True).start()
    station = await StationProcess(os.path.join(tempfile.mkdtemp(prefix="bench-"), "flash"),
                                   "ws://127.0.0.1:%d" % csms.port, heap=heap, **way).start()
    try:
        st = await csms.wait_station("CS001", timeout=20)
        await st.wait_for("StatusNotification", timeout=10)
        answer = await st.request("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}, timeout=10)
        assert answer["status"] == "Accepted"
        for _ in range(100):
            if st.reports.get(1) and st.reports[1][-1]["tbc"] is False:
                break
            await asyncio.sleep(0.1)
        assert st.reports[1][-1]["tbc"] is False
        for i in range(SETS):
            answer = await st.request("SetVariables", {"setVariableData": [
                var("OCPPCommCtrlr", "OfflineThreshold", str(60 + i))]}, timeout=10)
            assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        await asyncio.sleep(1.2)  # a heartbeat logs the heap's high-water mark first
        assert (await st.request("Reset", {"type": "Immediate"}, timeout=10))["status"] == "Accepted"
        st = await csms.wait_station("CS001", connections=2, timeout=20)
        boot = (await st.wait_for("BootNotification", timeout=10))[0]
        assert boot["reason"] == "RemoteReset"
        await st.wait_for("Heartbeat", timeout=10)
        await asyncio.sleep(0.2)  # its heap line follows the answer
        ok = not any(s.invalid for s in csms.stations.values())
    except Exception:
        ok = False
    finally:
        await station.stop()
        await csms.stop()
    return ok, station.log()


def smallest_heap(way, low, high, step=4):
    """Bisect -X heapsize (in KB) between low (fails) and high (passes);
    None when high fails."""
    if not asyncio.run(scenario("%dK" % high, **way))[0]:
        return None
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if asyncio.run(scenario("%dK" % mid, **way))[0]:
            high = mid
        else:
            low = mid
    return high


def deployment(out, way, low, high):
    """The figures of one way onto a board (StationProcess's romfs,
    unix_port or micropython), in bytes and KB; the smallest heap is
    bisected between low and high KB."""
    import build
    from agent import code_heap
    image = build.romfs(out) if way.get("romfs") else None
    if way.get("micropython"):
        code, base, names = code_heap(None, binary=way["micropython"])
    else:
        code, base, names = code_heap(out, image, way.get("unix_port"))
    ok, log = asyncio.run(scenario(None, **way))
    online = [used for _, used in heap_log(log)]
    peak = max((used for _, used in heap_log(log, peak=True)), default=None)
    return {"code": code, "names": names, "ok": ok, "online": online[-1] - base if online else None,
            "peak": peak - base if peak else None, "smallest": smallest_heap(way, low, high)}


def ways(out):
    """(column, figures) for each way onto a board: frozen, ROMFS and .mpy
    on the 32-bit unix build (make firmware BOARD=unix32; .mpy and ROMFS on
    its stock twin, whose names table holds none of the agent's), then ROMFS
    and .mpy on the 64-bit port."""
    import firmware
    frozen, _ = firmware.build("unix32")
    stock = os.path.join(os.path.dirname(frozen), "micropython-stock")
    return [(COLUMN_FROZEN, deployment(out, {"micropython": frozen}, 16, 160)),
            ("32-bit ROMFS", deployment(out, {"romfs": True, "unix_port": stock}, 16, 160)),
            ("32-bit .mpy", deployment(out, {"unix_port": stock}, 16, 160)),
            ("64-bit ROMFS", deployment(out, {"romfs": True}, 48, 256)),
            ("64-bit .mpy", deployment(out, {}, 48, 256))]


async def long_run():
    """Heap samples over LONG_RUN GetVariables at the runner's default heap."""
    from csms import Csms
    from stations import StationProcess
    csms = await Csms(interval=1, quiet=True).start()
    station = await StationProcess(os.path.join(tempfile.mkdtemp(prefix="bench-"), "flash"),
                                   "ws://127.0.0.1:%d" % csms.port).start()
    try:
        st = await csms.wait_station("CS001", timeout=20)
        await st.wait_for("StatusNotification", timeout=10)
        get = {"getVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval"), var("ChargingStation", "Model")]}
        for _ in range(LONG_RUN):
            await st.request("GetVariables", get, timeout=10)
        await asyncio.sleep(1.5)
        ok = csms.connections == ["CS001"]
    finally:
        await station.stop()
        await csms.stop()
    return ok, heap_log(station.log())


def svg(samples):
    """A line chart of heap in use over time, as a dependency-free SVG."""
    w, h, pad = 640, 240, 40
    t_max = max(t for t, _ in samples) or 1
    top = max(b for _, b in samples) * 1.1
    points = " ".join("%.1f,%.1f" % (pad + t / t_max * (w - 2 * pad), h - pad - b / top * (h - 2 * pad))
                      for t, b in samples)
    return "\n".join([
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (w, h),
        '<rect width="100%" height="100%" fill="white"/>',
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, h - pad, w - pad, h - pad),
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, pad, pad, h - pad),
        '<text x="%d" y="%d">heap in use after GC (bytes), %d GetVariables, MicroPython unix port, 192 KB heap</text>'
        % (pad, pad - 12, LONG_RUN),
        '<text x="%d" y="%d">0</text><text x="%d" y="%d">%d s</text>' % (pad, h - pad + 14, w - pad - 20, h - pad + 14, t_max),
        '<text x="2" y="%d">%d</text>' % (pad + 4, top),
        '<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="%s"/>' % points,
        "</svg>", ""])


def mpy_sizes():
    import build
    sizes = {}
    for board in ("esp32", "rp2040", "host"):
        out = build.build(board, os.path.join(tempfile.mkdtemp(prefix="bench-mpy-"), board))
        sizes[board] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out)
                           for f in fs if f.endswith(".mpy"))
    return sizes


def run():
    import build
    sizes = mpy_sizes()
    out = build.build("host")
    columns = ways(out)
    ok, samples = asyncio.run(long_run())
    with open(SVG, "w") as f:
        f.write(svg(samples))
    used = [b for _, b in samples]
    half = len(used) // 2
    first, last = used[:half] or used, used[half:] or used

    def kb(n):
        return "%.1f KB" % (n / 1024) if n is not None else "n/a"

    def row(label, cell, target=""):
        return "| %s | %s | %s |" % (label, " | ".join(cell(w) for _, w in columns), target)
    return "\n".join([
        "## Whole scenario and board sizes (issue 8)",
        "",
        "Scenario: boot, FullInventory report, %d SetVariables, Reset and the boot after it, against the dev"
        " CSMS; agent with the host board on the MicroPython unix port, in each way onto a board. *32-bit*:"
        " the unix port built for i386 from the MicroPython v1.28.0 kit (`make firmware BOARD=unix32`), whose"
        " objects and pointers are a board's size. *Frozen*: the agent frozen into that binary with"
        " boards/host/manifest.py (`tools/station.py --micropython`), as in a board's firmware: bytecode and"
        " names stay in the image. *ROMFS*: bytecode run in place from a ROMFS image (`--romfs`; the image"
        " sits at the bottom of a heap enlarged by its size), names interned in the heap. *.mpy*: files whose"
        " bytecode is copied into the heap at import (`make deploy` and mip install them so). ROMFS and .mpy"
        " run on the stock 32-bit build (`--unix-port`), so none of the agent's names is in its image." % SETS,
        "",
        "| figure | %s | target |" % " | ".join(name for name, _ in columns),
        "|---|%s---|" % ("---:|" * len(columns)),
        row("heap taken by the imported agent and its start-up objects (code)", lambda w: kb(w["code"]),
            "16 KB, 32-bit frozen"),
        row("heap in use once online, after the scenario's reset", lambda w: kb(w["online"])),
        row("working heap once online (in use minus code)",
            lambda w: kb(w["online"] - w["code"]) if w["online"] else "n/a"),
        row("peak working heap: the most in use after a collection (at connect, each heartbeat, each"
            " on-demand module, each report part), minus code",
            lambda w: kb(w["peak"] - w["code"]) if w["peak"] else "n/a", "24 KB, 64-bit"),
        row("smallest `-X heapsize` that passes the scenario (bisected, 4 KB steps)",
            lambda w: "%d KB" % w["smallest"] if w["smallest"] else "over the bisection range",
            "32 KB, 32-bit frozen; 96 KB, 64-bit"),
        row("working heap the scenario needs (smallest heap minus code)",
            lambda w: kb(w["smallest"] * 1024 - w["code"]) if w["smallest"] else "n/a"),
        row("names interned in MicroPython's string table at start", lambda w: str(w["names"])),
        row("scenario at the runner's default heap (192 KB)", lambda w: "passes" if w["ok"] else "FAILS"),
        "",
        "The peak working heap counts live objects only (a report's code and state among them); the smallest"
        " heap also holds the garbage made between collections and the gaps a fragmented heap leaves.",
        "",
        "The string table grows by doubling one pool: at 620 names the next pool takes 7 KB of heap in one"
        " piece, so the names count is watched here. Frozen firmware keeps the agent's names in flash too.",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        "| heap in use after GC over %d GetVariables (.mpy files, 192 KB heap): first half max / second half max"
        " | %.1f / %.1f KB | no growth |" % (LONG_RUN, max(first) / 1024, max(last) / 1024),
        "| long run stayed on one connection | %s | yes |" % ("yes" if ok else "NO"),
        "| total .mpy, esp32 board | %.1f KB | < 64 KB |" % (sizes["esp32"] / 1024),
        "| total .mpy, rp2040 board | %.1f KB | < 64 KB |" % (sizes["rp2040"] / 1024),
        "| total .mpy, host board | %.1f KB | |" % (sizes["host"] / 1024),
        "",
        "Heap over the long run (one sample per heartbeat): ![heap over time](bench/heap.svg)",
        "",
        "The request-answer rate is in the issue 3 section, flash wear per change in the store section.",
        "",
        "Reproduce: `make bench` (this section: bench/scenario.py).",
    ])


if __name__ == "__main__":
    print(run())
