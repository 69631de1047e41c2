"""Flash wear and speed of the device-model store (issue 5), side by side.

run() (CPython, called by tools/bench.py) builds the agent to .mpy and runs
this file on the MicroPython unix port, where measure() formats littlefs v2
on host_tests/lfs_ramdisk.RAMFlash (4 KB blocks, counting erases and
programmed bytes) as ESP32 (progsize 32) and RP2040 (progsize 256) do, and
makes 1,000 single-variable changes in a model of 100 variables with
csagent.store and with alternatives: one JSON file rewritten per change
(write temp, rename), and an append-only log file (reopened per change, or
kept open and flushed). Then it times loading a 500-variable store.
"""
import json
import os
import sys

CHANGES = 1000
VARIABLES = 100
LOADED = 500


def _key(i):
    return "Controller%02d/Variable%03d/Actual" % (i % 7, i)


def _changes():
    """(key, value) of each change: a spread of variables, short values."""
    for i in range(CHANGES):
        yield _key(i * 37 % VARIABLES), str(i * 7919 % 100000)


def _ours(path):
    from csagent.store import Store

    store = Store(path)
    store.commit({_key(i): "default" for i in range(VARIABLES)})
    store = Store(path)  # as after a restart

    def change(key, value):
        store.commit({key: value})
    return change


def _naive(path):
    state = {_key(i): "default" for i in range(VARIABLES)}

    def change(key, value):
        state[key] = value
        with open(path + ".tmp", "w") as f:
            json.dump(state, f)
        os.rename(path + ".tmp", path)
    change(_key(0), "default")
    return change


def _log_reopened(path):
    def change(key, value):
        with open(path, "a") as f:
            f.write(json.dumps({key: value}) + "\n")
    return change


def _log_kept_open(path):
    f = open(path, "a")

    def change(key, value):
        f.write(json.dumps({key: value}) + "\n")
        f.flush()
    return change


def _wear(make, progsize):
    import time
    import lfs_ramdisk as rd

    flash = rd.RAMFlash(blocks=128)
    rd.mkfs(flash, progsize)
    rd.mount(flash, "/ramflash", progsize)
    try:
        change = make("/ramflash/model")
        flash.reset_counters()
        start = time.ticks_us()
        for key, value in _changes():
            change(key, value)
        elapsed = time.ticks_diff(time.ticks_us(), start)
    finally:
        rd.umount("/ramflash")
    return {"erases": flash.erases / CHANGES, "bytes": flash.programmed / CHANGES, "ms": elapsed / 1000 / CHANGES}


def _load_time():
    """ms to open a 500-variable store with a history, littlefs as ESP32."""
    import gc
    import time
    import lfs_ramdisk as rd
    from csagent.store import Store

    flash = rd.RAMFlash(blocks=128)
    rd.mkfs(flash)
    rd.mount(flash, "/ramflash")
    store = Store("/ramflash/model")
    for i in range(0, LOADED, 50):
        store.commit({_key(j): "value of %d" % j for j in range(i, i + 50)})
    for i, (key, value) in enumerate(_changes()):
        store.commit({_key(i * 13 % LOADED): value})
    base = os.stat("/ramflash/model/base")[6]
    store = None
    rd.umount("/ramflash")
    times = []
    for _ in range(5):
        rd.mount(flash, "/ramflash")
        gc.collect()
        before = gc.mem_alloc()
        start = time.ticks_us()
        store = Store("/ramflash/model")
        times.append(time.ticks_diff(time.ticks_us(), start) / 1000)
        gc.collect()
        ram = gc.mem_alloc() - before
        assert len(store) == LOADED
        store = None
        rd.umount("/ramflash")
    return {"ms": sorted(times)[2], "base": base, "ram": ram}


def measure():
    results = {"load": _load_time()}
    for progsize in (32, 256):
        for name, make in (("ours", _ours), ("naive", _naive)):
            results["%s %d" % (name, progsize)] = _wear(make, progsize)
    results["log reopened 32"] = _wear(_log_reopened, 32)
    results["log kept open 32"] = _wear(_log_kept_open, 32)
    print(json.dumps(results))


ROWS = (
    ("ours 32", "csagent.store", "ESP32 (progsize 32)"),
    ("naive 32", "one JSON file, temp + rename", "ESP32 (progsize 32)"),
    ("ours 256", "csagent.store", "RP2040 (progsize 256)"),
    ("naive 256", "one JSON file, temp + rename", "RP2040 (progsize 256)"),
    ("log reopened 32", "log file, reopened per change", "ESP32 (progsize 32)"),
    ("log kept open 32", "log file kept open, flush per change", "ESP32 (progsize 32)"),
)


def run():
    """Measure on the unix port; returns the markdown section."""
    import subprocess
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "tools"))
    import build

    out = build.build("host", os.path.join(tempfile.mkdtemp(prefix="bench-store-"), "host"))
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([out, os.path.join(root, "host_tests")]))
    r = subprocess.run([micropython, "-X", "heapsize=8M", os.path.abspath(__file__)],
                       capture_output=True, text=True, env=env, timeout=600, check=True)
    res = json.loads(r.stdout.splitlines()[-1])
    lines = [
        "## Device-model store: flash wear and speed",
        "",
        "%d single-variable changes in a model of %d variables (31-character keys, values up to 5 "
        "characters), littlefs v2 on a counting RAM flash "
        "(4 KB blocks, 512 KB) inside the MicroPython unix port; time on the unix port, block device "
        "in Python. Target: at most 0.2 erases per change." % (CHANGES, VARIABLES),
        "",
        "| store | littlefs as on | erases / change | bytes programmed / change | ms / change |",
        "|---|---|---:|---:|---:|",
    ]
    for key, store, board in ROWS:
        m = res[key]
        lines.append("| %s | %s | %.3f | %d | %.2f |" % (store, board, m["erases"], m["bytes"], m["ms"]))
    lines += [""]
    for size in (32, 256):
        ours, naive = res["ours %d" % size], res["naive %d" % size]
        lines.append("- progsize %d: %.3f erases per change (%s the 0.2 target), %.0fx fewer erases and %.0fx fewer "
                     "bytes programmed than the naive store." % (
                         size, ours["erases"], "meets" if ours["erases"] <= 0.2 else "MISSES",
                         naive["erases"] / max(ours["erases"], 1e-9), naive["bytes"] / max(ours["bytes"], 1)))
    load = res["load"]
    lines += [
        "- Start-up: opening a %d-variable store (base log %.1f KB, after %d further changes) takes %.1f ms "
        "on the unix port (median of 5); the loaded store holds %.1f KB of RAM." % (
            LOADED, load["base"] / 1024, CHANGES, load["ms"], load["ram"] / 1024),
        "",
        "Reproduce: `make bench` (this section: bench/store.py).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__" and sys.implementation.name == "micropython":
    measure()
