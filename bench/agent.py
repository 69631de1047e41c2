"""The agent's memory on the unix port and its request-answer rate (issue 3).

Three memory figures, each on the MicroPython unix port (64-bit: a 32-bit
board needs less): the heap the imported agent takes (code and its start-up
objects), the heap in use once it is online, and the smallest -X heapsize
(bisected) with which boot, heartbeats and 1,000 CSMS requests still pass.
The rate: the dev CSMS sends the same GetVariables requests to our agent
and to the `ocpp` package's own ChargePoint on CPython, in the same run.
"""
import asyncio
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from station import ROMFS_MOUNT  # noqa: E402  (tools/station.py)

REQUESTS = 1000
GET = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}
CODE_PROBE = """
import gc, micropython, sys
gc.collect()
base = gc.mem_alloc()
import board
from csagent import agent
b = board.Board(sys.argv[1])
a = agent.Agent(b)
gc.collect()
print(base, gc.mem_alloc() - base)
micropython.qstr_info()
"""


def code_heap(out, romfs=None, binary=None):
    """(heap the imported agent and its start-up objects take, heap in use
    before it: the ROMFS image when there is one, names interned by then).
    binary: another unix-port build; with out None, one with the agent frozen in."""
    flash = tempfile.mkdtemp(prefix="bench-flash-")
    probe = os.path.join(flash, "probe.py")
    with open(probe, "w") as f:  # with an image, mounted first as tools/station.py --romfs does
        f.write((ROMFS_MOUNT % romfs if romfs else "") + CODE_PROBE)
    micropython = binary or os.path.join(os.path.dirname(sys.executable), "micropython")
    env = dict(os.environ, MICROPYPATH=out + os.pathsep + ".frozen" if out else ".frozen",
               CSAGENT_DEFAULTS=os.path.join(ROOT, "boards", "host", "model.jsonl"))
    r = subprocess.run([micropython, "-X", "heapsize=512K", probe, flash], capture_output=True, text=True, env=env)
    lines = r.stdout.splitlines()
    base, code = (int(w) for w in lines[-2].split())
    names = int(lines[-1].split("n_qstr=")[1].split(",")[0])
    return code, base, names


async def scenario(heap, requests=REQUESTS):
    """True when the agent boots, heartbeats and answers every request."""
    from csms import Csms
    from stations import StationProcess
    csms = await Csms(interval=1, quiet=True).start()
    state = tempfile.mkdtemp(prefix="bench-")
    station = await StationProcess(os.path.join(state, "flash"), "ws://127.0.0.1:%d" % csms.port,
                                   heap=heap).start()
    try:
        st = await csms.wait_station("CS001", timeout=20)
        await st.wait_for("Heartbeat", timeout=10)
        for _ in range(requests):
            answer = await st.request("GetVariables", GET, timeout=10)
            assert answer["getVariableResult"][0]["attributeValue"] == "1"
        ok = csms.connections == ["CS001"] and not st.invalid
    except Exception:
        ok = False
    finally:
        await station.stop()
        await csms.stop()
    used = [line.split() for line in station.log().splitlines() if " heap used " in line]
    return ok, (int(used[-1][3]) if used else None)


def smallest_heap(low=48, high=256, step=4):
    """Bisect -X heapsize (in KB) between low (fails) and high (passes)."""
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if asyncio.run(scenario("%dK" % mid, requests=REQUESTS))[0]:
            high = mid
        else:
            low = mid
    return high


async def rates():
    """Requests per second answered by our agent (unix port, the runner's default heap) and
    by the `ocpp` package's ChargePoint (CPython), same CSMS, same run."""
    import websockets
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call_result

    from csms import Csms
    from stations import StationProcess

    class PyStation(ChargePoint):
        @on("GetVariables")
        def on_get(self, get_variable_data, **_):
            return call_result.GetVariables(get_variable_result=[
                {"attributeStatus": "Accepted", "component": d["component"], "variable": d["variable"],
                 "attributeValue": "300"} for d in get_variable_data])

    csms = await Csms(interval=300, quiet=True).start()
    url = "ws://127.0.0.1:%d" % csms.port
    state = tempfile.mkdtemp(prefix="bench-")
    station = await StationProcess(os.path.join(state, "flash"), url).start()
    py_ws = await websockets.connect(url + "/PY001", subprotocols=["ocpp2.0.1"])
    py = PyStation("PY001", py_ws)
    py_task = asyncio.create_task(py.start())
    result = {}
    try:
        for name in ("CS001", "PY001"):
            st = await csms.wait_station(name, timeout=20)
            if name == "CS001":
                await st.wait_for("StatusNotification", timeout=20)
            t0 = time.perf_counter()
            for _ in range(REQUESTS):
                await st.request("GetVariables", GET)
            result[name] = REQUESTS / (time.perf_counter() - t0)
    finally:
        py_task.cancel()
        await py_ws.close()
        await station.stop()
        await csms.stop()
    return result["CS001"], result["PY001"]


def run():
    import build
    out = build.build("host", os.path.join(tempfile.mkdtemp(prefix="bench-mpy-"), "host"))
    code = code_heap(out)[0]
    ok, online = asyncio.run(scenario(None))
    smallest = smallest_heap()
    ours, theirs = asyncio.run(rates())
    return "\n".join([
        "## Agent memory and request rate (issue 3)",
        "",
        "MicroPython unix port (64-bit), agent from .mpy as `tools/station.py` runs it.",
        "",
        "| figure | value |",
        "|---|---:|",
        "| heap taken by the imported agent and its start-up objects (code) | %.1f KB |" % (code / 1024),
        "| heap in use once online (after boot, heartbeats, %d requests) | %s |" % (
            REQUESTS, "%.1f KB" % (online / 1024) if online else "n/a"),
        "| working heap above the code once online | %s |" % (
            "%.1f KB" % ((online - code) / 1024) if online else "n/a"),
        "| smallest `-X heapsize` that passes boot, heartbeats and %d requests | %d KB |" % (REQUESTS, smallest),
        "| scenario at the runner's default heap (192 KB) | %s |" % ("passes" if ok else "FAILS"),
        "",
        "Request-answer rate, %d sequential GetVariables from the dev CSMS, same run:" % REQUESTS,
        "",
        "| station | requests/s |",
        "|---|---:|",
        "| csagent on the MicroPython unix port (192 KB heap) | %.0f |" % ours,
        "| `ocpp` package ChargePoint on CPython | %.0f |" % theirs,
        "| ratio (ours / theirs) | %.2f |" % (ours / theirs),
        "",
        "Reproduce: `make bench` (this section: bench/agent.py).",
    ])


if __name__ == "__main__":
    print(run())
