"""What the real boards ship besides their code: device model defaults that
keep to the host's, freeze manifests that name files which exist, the mip
package list, and the build of each board."""
import json
import os
import tempfile

import pytest

from conftest import ROOT

import build  # noqa: E402  (tools/build.py)
from csagent.model import DeviceModel  # noqa: E402
from csagent.store import Store  # noqa: E402

BOARDS = ("esp32", "rp2040")
MODELS = {"esp32": "CSAgent-ESP32", "rp2040": "CSAgent-PicoW"}


def lines(board):
    with open(os.path.join(ROOT, "boards", board, "model.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize("board", BOARDS)
def test_model_defaults_differ_from_the_host_only_in_identity(board, tmp_path):
    DeviceModel(os.path.join(ROOT, "boards", board, "model.jsonl"), Store(str(tmp_path)))  # loads, or says which line
    host, mine = lines("host"), lines(board)
    assert [(d["component"], d["variable"]) for d in mine] == [(d["component"], d["variable"]) for d in host]
    differ = {d["variable"]: d["attributes"][0]["value"] for d, h in zip(mine, host) if d != h}
    # SerialNumber comes from machine.unique_id() (Board.serial()).
    assert differ == {"Model": MODELS[board], "SerialNumber": ""}


def run_manifest(path):
    """Execute a manifest as MicroPython's makemanifest does: paths relative
    to its own file, relative includes followed; the files and packages it
    names, and the port's or board's manifests it includes."""
    here = os.path.dirname(path)
    named = []

    def full(p, base):
        return os.path.normpath(os.path.join(here, base, p))

    def include(p, **kw):
        if p.startswith("$("):
            named.append(("include", p))
        else:
            named.extend(run_manifest(full(p, ".")))

    api = {
        "include": include,
        "package": lambda p, files=None, base_path=".", opt=None: named.append(("package", full(p, base_path))),
        "module": lambda p, base_path=".", opt=None: named.append(("module", full(p, base_path))),
    }
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), api)
    return named


def board_manifest(board):
    return run_manifest(os.path.join(ROOT, "boards", board, "manifest.py"))


@pytest.mark.parametrize("board", BOARDS + ("host",))
def test_manifest_freezes_every_module_of_the_build(board):
    named = board_manifest(board)
    assert named[0][0] == "include" and named[0][1].startswith(("$(PORT_DIR)/", "$(BOARD_DIR)/"))
    frozen = set()
    for kind, path in named[1:]:
        assert os.path.exists(path), path
        if kind == "package":
            for dirpath, _, files in os.walk(path):
                frozen.update(os.path.relpath(os.path.join(dirpath, f), os.path.dirname(path))
                              for f in files if f.endswith(".py"))
        else:
            frozen.add(os.path.basename(path))
    modules = set(rel for _, rel in build.sources(board) if rel.endswith(".py") and rel != "main.py")
    assert frozen == modules


def test_boards_freeze_the_agent_the_32_bit_build_freezes():
    """The ESP32 image cannot be built here; the unix32 one (host manifest,
    make firmware-test) freezes the same agent package, from one list."""
    def packages(board):
        return [path for kind, path in board_manifest(board) if kind == "package"]
    shared = run_manifest(os.path.join(ROOT, "boards", "common", "manifest.py"))
    assert shared == [("package", os.path.join(ROOT, "firmware", "csagent"))]
    for board in BOARDS + ("host",):
        assert packages(board) == [shared[0][1]], board


def test_mip_package_lists_the_agent():
    with open(os.path.join(ROOT, "package.json")) as f:
        text = f.read()
    assert text == build.package_json(build.firmware_version()), \
        "package.json is stale: python tools/build.py --package-json"
    package = json.loads(text)
    agent = os.listdir(os.path.join(ROOT, "firmware", "csagent"))
    assert sorted(dest for dest, _ in package["urls"]) == sorted("csagent/" + f for f in agent if f.endswith(".py"))


@pytest.mark.parametrize("board", BOARDS)
def test_build_has_the_board_and_what_boards_share(board):
    out = build.build(board, os.path.join(tempfile.mkdtemp(prefix="mpy-"), board))
    files = set()
    for dirpath, _, names in os.walk(out):
        files.update(os.path.relpath(os.path.join(dirpath, n), out) for n in names)
    assert {"main.py", "model.jsonl", "board.mpy", "mcu.mpy", "ppp.mpy",
            "csagent/agent.mpy", "csagent/board_base.mpy"} <= files
    assert not [f for f in files if f.endswith(".py") and f != "main.py"]
    table = build.size_table(out)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in files)
    assert table[-1] == "%7d  total" % total
    assert len(table) == len(files) + 2
