"""Cost of on-device schema validation: csagent.validate on the MicroPython unix
port next to jsonschema on CPython, same payloads, same run; and what the
tables cost in flash (.mpy) and heap.

run() returns a markdown section; `make bench` (tools/bench.py) collects it.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
for sub in ("tools", "firmware"):
    if os.path.join(ROOT, sub) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, sub))

from jsonschema import Draft6Validator  # noqa: E402

import build  # noqa: E402  (tools/build.py)
from csagent.validate import check  # noqa: E402
from gen_schemas import load_schema  # noqa: E402

# A CSMS splits SetVariables by the station's ItemsPerMessageSetVariables;
# 50 items of realistic size is a large but ordinary request.
SET_VARIABLES_ITEMS = 50
ARCHS = ("xtensawin", "armv6m")

MP_TIMER = r"""
import gc, json, sys, time
from csagent.validate import check
with open(sys.argv[1]) as f:
    cases = json.load(f)
out = []
for action, payload in cases:
    assert check(action, payload) is None
    n = 1
    while True:
        t = time.ticks_us()
        for _ in range(n):
            check(action, payload)
        spent = time.ticks_diff(time.ticks_us(), t)
        if spent > 300000:
            break
        n *= 2
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    check(action, payload)
    allocated = gc.mem_alloc() - before
    gc.enable()
    out.append([spent / n, allocated])
print(json.dumps(out))
"""

MP_HEAP = r"""
import gc
import csagent.compat
gc.collect()
a = gc.mem_alloc()
import csagent.schemas
gc.collect()
b = gc.mem_alloc()
import csagent.validate
gc.collect()
c = gc.mem_alloc()
print(b - a, c - b)
"""


def set_variables():
    items = []
    for i in range(SET_VARIABLES_ITEMS):
        items.append({
            "attributeType": "Actual",
            "attributeValue": "value-%d-" % i + "x" * 24,
            "component": {"name": "EVSE", "instance": "main", "evse": {"id": 1 + i % 2, "connectorId": 1}},
            "variable": {"name": "Variable%d" % i, "instance": "instance%d" % i},
        })
    return {"setVariableData": items}


def set_network_profile():
    """Every field filled, the optional APN and VPN blocks included."""
    return {
        "configurationSlot": 2,
        "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON",
            "ocppCsmsUrl": "wss://csms.example.com:443/ocpp/stations", "messageTimeout": 30,
            "securityProfile": 3, "ocppInterface": "Wireless0",
            "apn": {"apn": "internet.provider.example", "apnUserName": "user", "apnPassword": "secret",
                    "simPin": 1234, "preferredNetwork": "20404", "useOnlyPreferredNetwork": True,
                    "apnAuthentication": "CHAP", "customData": {"vendorId": "com.example"}},
            "vpn": {"server": "vpn.example.com", "user": "station", "group": "chargers", "password": "secret",
                    "key": "0123456789abcdef", "type": "IKEv2", "customData": {"vendorId": "com.example"}},
            "customData": {"vendorId": "com.example"},
        },
        "customData": {"vendorId": "com.example"},
    }


def _per_call_us(fn):
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        spent = time.perf_counter() - t
        if spent > 0.3:
            return spent / n * 1e6
        n *= 2


def _micropython(script, args, path):
    env = dict(os.environ, MICROPYPATH=path)
    r = subprocess.run([os.path.join(BIN, "micropython"), "-X", "heapsize=4M", script] + args,
                       capture_output=True, text=True, env=env, timeout=300, check=True)
    return r.stdout


def run():
    cases = [("SetVariables", set_variables()), ("SetNetworkProfile", set_network_profile())]
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as work:
        return _measure(cases, work)


def _measure(cases, work):
    tree = build.build("host", os.path.join(work, "host"))
    with open(os.path.join(work, "cases.json"), "w") as f:
        json.dump(cases, f)
    for name, text in (("timer.py", MP_TIMER), ("heap.py", MP_HEAP)):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    on_mp = json.loads(_micropython(os.path.join(work, "timer.py"), [os.path.join(work, "cases.json")], tree))
    heap_tables, heap_validator = map(int, _micropython(os.path.join(work, "heap.py"), [], tree).split())

    rows = []
    for (action, payload), (mp_us, allocated) in zip(cases, on_mp):
        official = Draft6Validator(load_schema(action + "Request"))
        assert official.is_valid(payload) and check(action, payload) is None
        js_us = _per_call_us(lambda: official.is_valid(payload))
        ours_cpython_us = _per_call_us(lambda: check(action, payload))
        rows.append("| %s (%d bytes of JSON) | %.0f | %d | %.0f | %.0f | %.1fx |" % (
            action, len(json.dumps(payload, separators=(",", ":"))), mp_us, allocated,
            ours_cpython_us, js_us, js_us / mp_us))

    sizes = []
    for module in ("schemas", "validate"):
        src = os.path.join(ROOT, "firmware", "csagent", module + ".py")
        per_arch = []
        for arch in ARCHS:
            out = os.path.join(work, "%s-%s.mpy" % (module, arch))
            subprocess.run([os.path.join(BIN, "mpy-cross"), "-march=" + arch, "-o", out, src], check=True)
            per_arch.append(os.path.getsize(out))
        sizes.append((module, per_arch))

    lines = [
        "## Schema validation (csagent.validate)",
        "",
        "Reproduce: `make bench`. Validation of valid payloads (the full walk): csagent.validate on the",
        "MicroPython unix port, the same code on CPython, and `jsonschema` (Draft6Validator, official",
        "schema) on CPython, in the same run. SetVariables has %d items; SetNetworkProfile has every"
        % SET_VARIABLES_ITEMS,
        "optional field, APN and VPN included. Ratio: jsonschema on CPython / ours on MicroPython.",
        "",
        "| payload | MicroPython µs | bytes allocated per check | ours on CPython µs | jsonschema µs | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ] + rows + [
        "",
        "Tables (csagent/schemas.py, generated from the OCA schemas) and validator, .mpy bytes:",
        "",
        "| module | %s | heap once imported (unix port, 64-bit) |" % " | ".join(ARCHS),
        "| --- | ---: | ---: | ---: |",
    ]
    for (module, per_arch), heap in zip(sizes, (heap_tables, heap_validator)):
        lines.append("| csagent.%s | %s | %d |" % (module, " | ".join(str(s) for s in per_arch), heap))
    lines += [
        "",
        "Heap is gc.mem_alloc() after gc.collect(), before and after each import, in a fresh",
        "process (csagent.compat already loaded); it includes the interned names. The table is one",
        "tuple of pointer-sized slots, so a 32-bit board needs less than the 64-bit unix port.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
