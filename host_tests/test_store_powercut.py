"""Power cut at every single flash write of a run of commits, on real littlefs v2.

Inside the MicroPython unix port: `vfs.VfsLfs2` over lfs_ramdisk.RAMFlash,
formatted as ESP32 (progsize 32) and RP2040 (progsize 256) do. For each
commit of the sequence and each of its writes (program or erase) in turn,
power fails there (the write lands not at all, or half); the flash is then
mounted again and the store must hold exactly the state before or after
that commit, and take the next commit. The sequence covers single- and
multi-key commits, deletions, records too big to be inline in littlefs
metadata, journal folds and a new base generation.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from conftest import ROOT, run_micropython

SCENARIO = r"""
import sys
import lfs_ramdisk as rd
from csagent.store import Store

PROGSIZE, TORN, FIRST, END = [int(a) for a in sys.argv[1:]]
KEYS = ["Comp%d/Var%d/Actual" % (i, i) for i in range(12)]


def change(i):
    if i % 5 == 0:
        c = {KEYS[j]: "m%d-%d" % (i, j) for j in range(i % 4, 12, 3)}
        c[KEYS[(i + 1) % 12]] = None
        return c
    if i % 3 == 0:  # a network profile: far beyond littlefs's inline size
        return {"NetworkConfiguration/%d" % (i // 3 % 3): ("p%d:" % i) + "x" * 600}
    return {KEYS[i % 12]: str(i) * (1 + i % 9)}


def apply(state, c):
    state = dict(state)
    for k, v in c.items():
        if v is None:
            state.pop(k, None)
        else:
            state[k] = v
    return state


def base_log():
    with open("/ramflash/store/base", "rb") as f:
        return f.read()


def check(flash, before, after, completed):
    # the store holds the state before or after, and takes the next commit
    rd.mount(flash, "/ramcheck", PROGSIZE)
    try:
        store = Store("/ramcheck/store")
        got = dict(store.items())
        if got != after and (completed or got != before):
            return "neither before nor after"
        store.commit({"after-cut": "yes"})
        rd.umount("/ramcheck")
        rd.mount(flash, "/ramcheck", PROGSIZE)
        if dict(Store("/ramcheck/store").items()) != apply(got, {"after-cut": "yes"}):
            return "next commit lost"
    except Exception as e:
        return repr(e)
    finally:
        rd.umount("/ramcheck")


golden = rd.RAMFlash(blocks=64)
rd.mkfs(golden, PROGSIZE)
rd.mount(golden, "/ramflash", PROGSIZE)
store = Store("/ramflash/store")
state = {}
counts = {"program": 0, "erase": 0, "folds": 0, "generations": 0, "failures": 0}
for i in range(END):
    c = change(i)
    after = apply(state, c)
    if i >= FIRST:
        n = 0
        for kind, flash in rd.power_cuts(golden.image(), lambda p: Store(p + "/store"), lambda s: s.commit(c), PROGSIZE, TORN):
            n += 1
            if kind:
                counts[kind] += 1
            failure = check(flash, state, after, kind is None)
            if failure:
                counts["failures"] += 1
                print("FAIL commit %d, cut at write %d (%s): %s" % (i, n, kind, failure))
    log = base_log()
    store.commit(c)
    state = after
    if i >= FIRST and log != base_log():
        counts["folds" if base_log().startswith(log) else "generations"] += 1
print(" ".join("%s %d" % kv for kv in counts.items()))
"""
# Commits 0..119 only build up history; power fails during 120..165, which
# hold a fold of the journal into the base log (128) and a new base
# generation (160).
WINDOW = ("120", "166")


def test_power_cut_at_every_write(host_build):
    """ESP32 and RP2040 formats; the interrupted write lands not at all, or
    half of it: four runs, side by side."""
    runs = [(progsize, torn) for progsize in ("32", "256") for torn in ("0", "1")]
    path = [os.path.join(ROOT, "host_tests"), host_build]
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda run: run_micropython(["-c", SCENARIO] + list(run + WINDOW), path, heap="8M",
                                                            timeout=300), runs))
    for run, r in zip(runs, results):
        assert r.returncode == 0, (run, r.stdout + r.stderr)
        summary = r.stdout.splitlines()[-1].split()
        counts = dict(zip(summary[::2], map(int, summary[1::2])))
        assert counts["failures"] == 0, (run, r.stdout)
        assert counts["generations"] == 1 and counts["folds"] == 1, (run, r.stdout)
        assert counts["erase"] > 10 and counts["program"] > 50, (run, r.stdout)
