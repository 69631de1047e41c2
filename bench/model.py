"""Start-up cost of the device model on the MicroPython unix port.

Loads generated defaults files of 50 and 500 variables with csagent.model
(an offset index: hash of the key -> line offset) and, side by side, the
naive way (every line parsed and kept in a dict), in fresh processes running
the agent from .mpy. Reports load time, the heap the loaded model keeps,
and the time of one value() lookup (which re-reads its line).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import synthetic  # noqa: E402  (bench/synthetic.py)
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
SIZES = (50, 500)
ROUNDS = 5

# Runs on the unix port: argv = defaults path, store dir, "index" or "naive", count.
PROBE = """
import gc, json, sys, time
from csagent.model import DeviceModel
from csagent.store import Store
path, store_dir, how, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def naive():
    out = {}
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            out[(d["component"].lower(), d.get("evse"), d["variable"].lower(), d.get("variableInstance"))] = d
    return out

store = Store(store_dir)
times = []
for _ in range(%d):
    model = None
    gc.collect()
    before = gc.mem_alloc()
    t = time.ticks_us()
    model = DeviceModel(path, store) if how == "index" else naive()
    times.append(time.ticks_diff(time.ticks_us(), t))
    gc.collect()
    kept = gc.mem_alloc() - before
times.sort()
lookup = 0
if how == "index":
    for _ in range(%d):
        t = time.ticks_us()
        for i in range(200):
            j = i * 7 %% count
            assert model.value("Ctrl%%d" %% (j %% 50), "Var%%d" %% j) is not None
        spent = time.ticks_diff(time.ticks_us(), t) / 200
        lookup = spent if not lookup or spent < lookup else lookup
print(json.dumps({"load_us": times[0], "kept": kept, "lookup_us": lookup}))
""" % (ROUNDS, ROUNDS)


def _defaults(path, count):
    """`count` variables over count/10 components, like the host board's lines."""
    with open(path, "w") as f:
        f.writelines(synthetic.lines(count))
    return os.path.getsize(path)


def _probe(build_dir, work, path, how, count):
    script = os.path.join(work, "probe.py")
    with open(script, "w") as f:
        f.write(PROBE)
    store = os.path.join(work, "store-" + how + os.path.basename(path))
    env = dict(os.environ, MICROPYPATH=build_dir + os.pathsep + ".frozen")
    out = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", script, path, store, how, str(count)],
                         capture_output=True, text=True, timeout=300, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build
    work = tempfile.mkdtemp(prefix="bench-model-")
    build_dir = build.build("host", os.path.join(work, "host"))
    rows = []
    for count in SIZES:
        path = os.path.join(work, "model%d.jsonl" % count)
        size = _defaults(path, count)
        ours = _probe(build_dir, work, path, "index", count)
        naive = _probe(build_dir, work, path, "naive", count)
        rows.append("| %d | %.1f KB | %.1f ms | %.1f ms | %.1f KB (%d B/var) | %.1f KB | %.0f us |" % (
            count, size / 1024, ours["load_us"] / 1000, naive["load_us"] / 1000, ours["kept"] / 1024,
            ours["kept"] // count, naive["kept"] / 1024, ours["lookup_us"]))
    return "\n".join([
        "## Device model start-up (unix port)",
        "",
        "Generated defaults files, loaded in a fresh MicroPython unix-port process from .mpy "
        "(best of %d runs each; the host is shared, so times vary). *Index* is csagent.model: it keeps a hash -> line offset per "
        "variable and re-reads a line per lookup; *naive* parses every line and keeps the dicts. "
        "Heap kept = gc.mem_alloc() after load minus before, after gc.collect(), 64-bit unix port "
        "(a 32-bit board needs about half)." % ROUNDS,
        "",
        "| variables | file | load (index) | load (naive) | heap kept (index) | heap kept (naive) "
        "| value() lookup |",
        "|---|---|---|---|---|---|---|",
    ] + rows + ["", "Reproduce: `make bench` (bench/model.py)."]) + "\n"


if __name__ == "__main__":
    print(run())
