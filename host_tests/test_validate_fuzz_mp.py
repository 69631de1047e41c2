"""Fuzz check() on the MicroPython unix port for a bounded time: random JSON
values (deep nesting, huge strings and numbers, wrong types) and randomly
broken valid payloads, for every action in both directions. It must never
raise, always answer None or (one of the four codes, or InternalError for an
action without a table, description <= 255 characters), and the heap in use
after gc.collect() must not grow across iterations."""
import json
import random

from conftest import run_micropython
from gen_schemas import RECEIVED, received_schema
from malformed import full_valid

SECONDS = 5
GROWTH_ALLOWED = 512  # bytes; the heap in use is the same after each round when nothing leaks

FUZZER = r"""
import gc, json, random, sys, time
from csagent import schemas
from csagent.validate import check

CODES = ("FormatViolation", "TypeConstraintViolation", "OccurrenceConstraintViolation",
         "PropertyConstraintViolation")
random.seed(int(sys.argv[1]))
seconds = int(sys.argv[2])
with open(sys.argv[3]) as f:
    BASES = json.load(f)
NAMES = [v for v in schemas.TABLE if type(v) is str] + ["", "x", "\u00e9t\u00e9"]
ACTIONS = [(a, False) for a in schemas.REQUESTS] + [(a, True) for a in schemas.RESPONSES]


def pick(seq):
    return seq[random.getrandbits(16) % len(seq)]


def scalar():
    r = random.getrandbits(3)
    if r == 0:
        return None
    if r == 1:
        return random.getrandbits(1) == 1
    if r == 2:
        return random.getrandbits(random.randint(1, 30)) * (1 << random.randint(0, 200)) - (1 << 20)
    if r == 3:
        return (random.random() - 0.5) * 10.0 ** random.randint(-300, 300)
    if r == 4:
        return pick(NAMES) * random.randint(0, 30)
    if r == 5:
        return "h" * random.randint(1000, 100000)
    if r == 6:
        return "2024-05-01T12:00:%02dZ" % random.randint(0, 70)
    return "\u00e9" * random.randint(0, 300)


def value(depth=0):
    r = random.getrandbits(3)
    if depth > 3 or r < 4:
        return scalar()
    if r == 4:
        v = scalar()
        for _ in range(random.randint(100, 2000)):
            v = [v] if random.getrandbits(1) else {pick(NAMES): v}
        return v
    if r == 5:
        return [value(depth + 1) for _ in range(random.randint(0, 6))]
    return dict((pick(NAMES), value(depth + 1)) for _ in range(random.randint(0, 6)))


def containers(v):
    out, todo = [], [v]
    while todo:
        c = todo.pop()
        if type(c) in (dict, list):
            out.append(c)
            todo.extend(c.values() if type(c) is dict else c)
    return out


def broken(payload):
    for _ in range(random.randint(1, 3)):
        c = pick(containers(payload))
        r = random.getrandbits(2)
        if type(c) is dict:
            if c and r == 0:
                del c[pick(list(c))]
            elif c and r == 1:
                c[pick(list(c))] = value()
            else:
                c[pick(NAMES)] = value()
        elif c and r < 2:
            c[random.getrandbits(16) % len(c)] = value()
        elif r == 2:
            c.append(value())
        else:
            c.clear()
    return payload


def once():
    if random.getrandbits(2):
        action, response, payload = pick(BASES)
        payload = broken(json.loads(json.dumps(payload)))
    else:
        action, response = pick(ACTIONS)
        payload = value()
    if random.getrandbits(5) == 0:
        assert check(action + "X", payload, response)[0] == "InternalError"
        return
    result = check(action, payload, response)
    if result is not None:
        assert result[0] in CODES and type(result[1]) is str and len(result[1]) <= 255, result


start = time.ticks_ms()
count = 0
while count < 200:
    once()
    count += 1
gc.collect()
base = gc.mem_alloc()
highest = base
while time.ticks_diff(time.ticks_ms(), start) < seconds * 1000:
    for _ in range(50):
        once()
        count += 1
    gc.collect()
    highest = max(highest, gc.mem_alloc())
print(json.dumps({"iterations": count, "base": base, "highest": highest}))
"""


def test_fuzz_check_on_micropython(tmp_path, host_build):
    bases = []
    for name in RECEIVED:
        response = name.endswith("Response")
        root = received_schema(name)
        bases.append((name[:-len("Response" if response else "Request")], response, full_valid(root, root)))
    (tmp_path / "bases.json").write_text(json.dumps(bases))
    (tmp_path / "fuzz.py").write_text(FUZZER, encoding="utf-8")
    seed = random.getrandbits(32)
    r = run_micropython([str(tmp_path / "fuzz.py"), str(seed), str(SECONDS), str(tmp_path / "bases.json")],
                        [host_build], heap="4M", timeout=SECONDS + 60)
    assert r.returncode == 0, "seed %d: %s" % (seed, r.stdout + r.stderr)
    stats = json.loads(r.stdout.splitlines()[-1])
    assert stats["iterations"] > 500, stats
    assert stats["highest"] - stats["base"] <= GROWTH_ALLOWED, (seed, stats)
