"""Issue 5: SetVariables is atomic on real littlefs v2 when power fails.

Inside the MicroPython unix port, over lfs_ramdisk.RAMFlash: a run of
SetVariables requests (one item and several) goes through the real handler,
device model and store; for each request, power fails at every single flash
write in turn (the write lands not at all, or half). After each cut the
flash is mounted again and the device model must show every variable of
that request as it was before the request, or every one as it was after.
"""
import os

from conftest import ROOT, run_micropython

SCENARIO = r"""
import sys
import lfs_ramdisk as rd
from csagent.model import DeviceModel
from csagent.store import Store
from csagent.variables import set_variables

DEFAULTS, TORN = sys.argv[1], int(sys.argv[2])
NAMES = ("HeartbeatInterval", "OfflineThreshold", "WebSocketPingInterval", "RetryBackOffWaitMinimum")


def request(i):
    names = NAMES if i % 3 == 0 else NAMES[i % 4:i % 4 + 1]
    return {"setVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": n},
                                 "attributeValue": str(10 + (i * 7 + k) % 50)} for k, n in enumerate(names)]}


def values(model):
    return [model.value("OCPPCommCtrlr", n) for n in NAMES]


golden = rd.RAMFlash(blocks=64)
rd.mkfs(golden, 32)
rd.mount(golden, "/ramflash", 32)
model = DeviceModel(DEFAULTS, Store("/ramflash/store"))
cuts = failures = 0
image = golden.image()  # the flash before the request in hand
for i in range(24):
    payload = request(i)
    before = values(model)
    answer = set_variables(model, payload)
    assert all(r["attributeStatus"] == "Accepted" for r in answer["setVariableResult"]), answer
    after = values(model)
    # the same request again on copies of the flash before it, cut at each write
    for kind, flash in rd.power_cuts(image, lambda p: DeviceModel(DEFAULTS, Store(p + "/store")),
                                     lambda m: set_variables(m, payload), 32, TORN):
        cuts += 1
        rd.mount(flash, "/ramcheck", 32)
        got = values(DeviceModel(DEFAULTS, Store("/ramcheck/store")))
        rd.umount("/ramcheck")
        if got != after and (kind is None or got != before):
            failures += 1
            print("FAIL request %d cut %s: %s not %s or %s" % (i, kind, got, before, after))
    image = golden.image()
print("cuts", cuts, "failures", failures)
"""


def test_power_cut_during_setvariables(host_build):
    defaults = os.path.join(ROOT, "boards", "host", "model.jsonl")
    path = [os.path.join(ROOT, "host_tests"), host_build]
    for torn in ("0", "1"):
        r = run_micropython(["-c", SCENARIO, defaults, torn], path, heap="8M", timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        words = r.stdout.split()
        assert words[-2:] == ["failures", "0"], r.stdout
        assert int(words[words.index("cuts") + 1]) > 24, r.stdout
