"""Issue 4: random JSON values and random text thrown at the RPC layer on the
MicroPython unix port for a bounded time: every frame is answered or
ignored, nothing escapes, and the heap in use does not grow."""
import os

from conftest import ROOT, run_micropython

FUZZ = r"""
import asyncio, gc, json, os, sys
from csagent import validate
from csagent.rpc import Rpc
from csagent.compat import ticks_ms, ticks_diff

SECONDS = float(sys.argv[1])
ACTIONS = ("GetVariables", "SetVariables", "GetBaseReport", "GetReport", "SetNetworkProfile", "Reset",
           "Heartbeat", "NoSuchAction", "")


class Link:
    def __init__(self):
        self.sent = 0

    async def send_parts(self, parts):
        text = "".join(parts)
        json.loads(text)  # every answer is valid JSON
        self.sent += 1


def rnd(n):
    return int.from_bytes(os.urandom(2), "big") % n


def value(depth=0):
    k = rnd(9 if depth < 4 else 5)
    if k == 0: return None
    if k == 1: return rnd(2) == 0
    if k == 2: return rnd(70000) - 35000
    if k == 3: return rnd(1000) / 7
    if k == 4:
        at = rnd(600)
        return POOL[at:at + rnd(40)]
    if k == 5: return "x" * rnd(3000)
    if k in (6, 7): return [value(depth + 1) for _ in range(rnd(5))]
    return {("k%d" % rnd(6) if rnd(2) else ("getVariableData", "setVariableData", "type", "requestId")[rnd(4)]):
            value(depth + 1) for _ in range(rnd(5))}


# Random text is cut from one pool made once: MicroPython keeps an internal
# entry for every new one-character string chr() makes, which would show up
# here as growth that is the generator's, not the RPC layer's.
POOL = "".join(chr(rnd(256)) for _ in range(600)) + '[2,"x",{}]:"' * 10


def frame():
    k = rnd(6)
    if k == 0:
        at = rnd(600)
        return POOL[at:at + rnd(60)]  # random text, mostly not JSON
    if k == 1:
        return json.dumps(value())
    if k == 2:
        return json.dumps([rnd(7), value(), value(), value()])
    return json.dumps([2, "f%d" % rnd(100000), ACTIONS[rnd(len(ACTIONS))], value()])


def handler(payload, size):  # a schema-valid request reaches the handler
    return {"status": "Accepted"}


async def main():
    link = Link()
    rpc = Rpc({a: handler for a in ACTIONS[:6]}.get, validate.check)
    rpc.attach(link)
    start = ticks_ms()
    n = 0
    heap = []
    while ticks_diff(ticks_ms(), start) < SECONDS * 1000:
        data = frame().encode()
        await rpc._frame(data, len(data))
        n += 1
        if n % 200 == 0:
            gc.collect()
            heap.append(gc.mem_alloc())
    # the floor of the heap in use: a sample may catch the last frame's objects
    quarter = len(heap) // 4
    print("frames", n, "answers", link.sent, "heap", min(heap[:quarter]), min(heap[-quarter:]))

asyncio.run(main())
"""


def test_rpc_survives_random_frames_with_flat_heap(host_build):
    r = run_micropython(["-c", FUZZ, "6"], [host_build], heap="512K", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    words = r.stdout.split()
    frames, answers = int(words[1]), int(words[3])
    early, late = int(words[5]), int(words[6])
    assert frames > 500 and answers > frames // 2, r.stdout
    # Tens of thousands of frames: a leak of even one small object per frame
    # would add hundreds of KB; the runtime's own tables may settle by a few.
    assert late - early < 4096, r.stdout
