"""The fuzz corpus (fuzz/corpus/<target>/, every input that ever found a
defect among them) replayed through the fuzz targets (fuzz/targets.py),
on CPython with its oracles and on the MicroPython unix port. Needs no
atheris: the targets are plain functions of bytes."""
import os
import sys

import pytest

from conftest import ROOT, run_micropython

FUZZ = os.path.join(ROOT, "fuzz")
CORPUS = os.path.join(FUZZ, "corpus")
sys.path.insert(0, os.path.join(ROOT, "boards", "host"))
sys.path.insert(0, FUZZ)
import targets  # noqa: E402  (fuzz/targets.py)

INPUTS = sorted((target, name) for target in os.listdir(CORPUS) for name in os.listdir(os.path.join(CORPUS, target)))

REPLAY = r"""
import sys
import targets
failed = 0
for path in sys.argv[1:]:
    target = path.rsplit("/", 2)[-2]
    with open(path, "rb") as f:
        data = f.read()
    try:
        targets.TARGETS[target](data)
    except Exception as e:
        failed += 1
        print("FAIL", path, repr(e)[:300])
targets.close()
print("replayed", len(sys.argv) - 1, "failed", failed)
"""


def _read(target, name):
    with open(os.path.join(CORPUS, target, name), "rb") as f:
        return f.read()


def test_every_target_has_a_corpus():
    assert sorted(os.listdir(CORPUS)) == sorted(targets.TARGETS)
    for target in targets.TARGETS:
        assert os.listdir(os.path.join(CORPUS, target)), target


@pytest.mark.parametrize("target,name", INPUTS, ids=["%s/%s" % i for i in INPUTS])
def test_replay_on_cpython(target, name):
    try:
        targets.TARGETS[target](_read(target, name))
    finally:
        if target == "ocppj":
            targets.close()


def test_replay_on_micropython(host_build, tmp_path):
    script = tmp_path / "replay.py"
    script.write_text(REPLAY)
    paths = [os.path.join(CORPUS, target, name) for target, name in INPUTS]
    r = run_micropython([str(script)] + paths, [FUZZ, host_build], heap="2M", timeout=300)
    assert r.returncode == 0 and "replayed %d failed 0" % len(paths) in r.stdout, r.stdout + r.stderr[-3000:]
