"""The Pico W image with the agent frozen in (make firmware BOARD=picow), on an
emulated RP2040 (host_tests/emulator.py): main.py boots with the rp2040 board
until it needs the network, the agent's heap there, and the dual-runtime
unit tests (host_tests/dual) on the board's single-precision floats.

`make firmware-test` runs this with CSAGENT_PICOW naming the image; `make
test` skips it (slow, and it needs the image, node and rp2040js).
"""
import asyncio
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

import build
import cellmodem
import deploy
import emulator
import picow
from conftest import ROOT

FIRMWARE = os.environ.get("CSAGENT_PICOW")
pytestmark = pytest.mark.skipif(
    not FIRMWARE, reason="emulated Pico W: make firmware-test runs it (CSAGENT_PICOW names the image)")

DUAL = os.path.join(ROOT, "host_tests", "dual")
MODULES = sorted(f[:-3] for f in os.listdir(DUAL) if f.startswith("test_") and f.endswith(".py"))
INSTALL = {"identity": "CS-EMU", "csms_url": "ws://127.0.0.1:9/ocpp", "interface": "Wireless0"}
# Dual tests too slow for CI here, with their time on the emulator: power cuts
# at every byte of a store's files, each replayed on the emulated flash.
SLOW = {
    # pure-Python signature checks at the RP2040's pace: 0.2 s (RSA) and 1.1 s (ECDSA) a verification
    "test_certificates": {"test_mangled_certificates_get_an_answer": "about 115 s"},
    "test_pubkey": {"test_rsa_flipped_bits_are_refused": "about 80 s"},
    "test_x509": {"test_changed_bytes_parse_or_are_value_errors": "about 50 s"},
    "test_store_rot": {
        "test_each_slot_rotted_in_turn": "minutes: a store reloaded after each of 32 rotted slots",
        "test_each_base_line_rotted_in_turn": "minutes: a store reloaded after each rotted base-log line",
    },
    "test_store": {
        "test_compaction": "443 s",
        "test_torn_fold": "338 s",
        "test_torn_generation": "unfinished after 600 s",
    },
}


def write_tree(tree, files):
    for path, data in files.items():
        dest = os.path.join(tree, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)


def station_image(tmp_path, with_main=True):
    """The board's filesystem as `deploy.py --frozen` leaves it: main.py,
    model.jsonl and the first-start settings (no network.json: no WLAN)."""
    files, _ = deploy.local_files("rp2040", True, str(tmp_path / "build"))
    files["install.json"] = json.dumps(INSTALL).encode()
    if not with_main:
        del files["main.py"]
    write_tree(str(tmp_path / "tree"), files)
    return emulator.make_fs_image(str(tmp_path / "tree"), str(tmp_path / "fs.img"))


def test_main_boots_with_the_board_until_it_needs_the_network(tmp_path):
    image = station_image(tmp_path)
    saved = str(tmp_path / "after.img")
    with emulator.Pico(FIRMWARE, fs=image, save=saved) as pico:
        log = pico.read_until(b"connect-failed", 120)
        log += pico.read_until(b"\n", 10)
        notices = pico.close()
    log = log.decode()
    assert "installed identity CS-EMU" in log, log
    assert "connect-failed OSError WLAN: no ssid in network.json" in log, log
    assert "erases" in notices
    # what the agent wrote through the flash shim, read back on the host
    after = emulator.list_fs_image(saved)
    assert "/install.json" not in after  # consumed at the first start
    assert set(after) - {"/main.py", "/model.jsonl"}, after  # the store


NOR = """import os, rp2
os.umount('/')  # littlefs is not told: the test owns the flash from here
flash = rp2.Flash()
last = flash.ioctl(4, 0) - 1
flash.ioctl(6, last)  # erase one block
buf = bytearray(4096)
flash.readblocks(last, buf)
print('erased', buf == b'\\xff' * 4096)
flash.writeblocks(last, b'\\x0f' * 256, 256)  # program, no erase
flash.writeblocks(last, b'\\x3c' * 256, 256)  # again: bits only clear
flash.readblocks(last, buf)
print('programmed', buf[256:512] == b'\\x0c' * 256, buf[:256] == buf[512:768] == b'\\xff' * 256)
"""


def test_flash_erase_and_program_behave_as_nor_flash(tmp_path):
    """The emulator host's flash shim, through the port's own rp2.Flash; the
    host reads the block back from the saved filesystem region."""
    tree = tmp_path / "tree"
    tree.mkdir()
    image = emulator.make_fs_image(str(tree), str(tmp_path / "fs.img"))
    saved = str(tmp_path / "after.img")
    with emulator.Pico(FIRMWARE, fs=image, save=saved) as pico:
        pico.raw_repl()
        out = pico.eval_ok(NOR)
    assert "erased True" in out and "programmed True True" in out, out
    with open(saved, "rb") as f:
        last = f.read()[-4096:]
    assert last == b"\xff" * 256 + b"\x0c" * 256 + b"\xff" * 3584


PROBE = """import gc, asyncio, os, rp2
from csagent.compat import heap
print('fs', rp2.Flash().ioctl(4, 0), sorted(os.listdir('/')))
gc.collect(); empty = gc.mem_alloc()
import board
from csagent.agent import Agent
gc.collect(); imported = gc.mem_alloc()
agent = Agent(board.Board())
async def until_network():
    task = asyncio.create_task(agent.run())
    await asyncio.sleep(1)  # the link failed at once: no ssid
    used, free, peak = heap()
    print('heap empty %d imported %d agent %d used %d free %d peak %d' % (
        empty, imported - empty, used - imported, used, free, peak))
    task.cancel()
asyncio.run(until_network())
"""


def test_agent_heap_where_it_needs_the_network(tmp_path):
    """Board() and Agent() on the Pico W's heap, up to the WLAN link; printed
    for BENCHMARKS.md and the issue (pytest -s shows it)."""
    image = station_image(tmp_path, with_main=False)
    with emulator.Pico(FIRMWARE, fs=image) as pico:
        pico.raw_repl()
        out = pico.eval_ok(PROBE, timeout=120)
    print(out)
    fs = re.search(r"fs (\d+) (.*)", out)
    assert int(fs.group(1)) == emulator.FS_BLOCKS and "'model.jsonl'" in fs.group(2), out
    m = re.search(r"heap empty (\d+) imported (\d+) agent (\d+) used (\d+) free (\d+) peak (\d+)", out)
    assert m, out
    used, free = int(m.group(4)), int(m.group(5))
    assert used > 0 and free > 0


REDIALS = """import asyncio, gc
from ppp import Ppp
link = Ppp(%(uart)r)
profile = {"ocppInterface": "Wireless1", "apn": %(apn)r}
async def main():
    for i in range(%(n)d):
        await link.up(profile)
        gc.collect()
        print('up', i, link.ppp.isconnected(), gc.mem_free())
    await link._hang_up()
    print('down', link.ppp.status())
asyncio.run(main())
"""


def test_ppp_redials_without_a_leak(tmp_path):
    """network.PPP as v1.28's rp2 port has it, through boards/common/ppp.py:
    up, dropped, the modem taken back with +++ and ATH, dialled again, many
    times over, against the modem played on the host; the free heap stays
    where it was and lwIP gives its PCB back each time (else the next
    connect fails: it has one)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    image = emulator.make_fs_image(str(tree), str(tmp_path / "fs.img"))
    log = []
    ready = threading.Event()
    box = {}

    def serve():
        async def go():
            box["server"] = await cellmodem.ModemServer(log=log.append).start()
            box["loop"] = asyncio.get_running_loop()
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()
            await box["server"].stop()
        asyncio.run(go())
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        with emulator.Pico(FIRMWARE, fs=image, uart0=box["server"].port) as pico:
            pico.raw_repl()
            out = pico.eval_ok(REDIALS % {"uart": picow.MODEM_UART, "apn": picow.TEST_APN, "n": 6}, timeout=600)
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)
    print(out)
    ups = re.findall(r"^up (\d) True (\d+)", out, re.M)
    assert len(ups) == 6, out
    free = [int(f) for _, f in ups]
    assert max(free[1:]) - min(free[1:]) < 1024, free  # the first dial makes the UART and the PPP object
    assert "down 0" in out, out
    assert sum(line == "PPP up" for line in log) == 6, log
    assert sum(line == "hung up (ATH)" for line in log) == 5, log  # each redial took the modem back


def dual_tree(tree):
    """host_tests/dual as armv6m .mpy, laid out as in the repository, so the
    tests find boards/host/model.jsonl and fake_modem as they do here."""
    os.makedirs(os.path.join(tree, "tmp"))
    sources = [os.path.join(DUAL, f) for f in os.listdir(DUAL) if f.endswith(".py")]
    sources.append(os.path.join(ROOT, "host_tests", "fake_modem.py"))
    for src in sources:
        rel = os.path.relpath(src, ROOT)
        dest = os.path.join(tree, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        subprocess.run([build.MPY_CROSS, "-march=armv6m", "-s", rel, "-o", dest, src], check=True)
    os.makedirs(os.path.join(tree, "boards", "host"))
    shutil.copy(os.path.join(ROOT, "boards", "host", "model.jsonl"), os.path.join(tree, "boards", "host"))
    return tree


@pytest.fixture(scope="module")
def dual_pico(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dual")
    image = emulator.make_fs_image(dual_tree(str(tmp / "tree")), str(tmp / "fs.img"))
    pico = emulator.Pico(FIRMWARE, fs=image)
    try:
        pico.raw_repl()
        yield pico
    finally:
        print(pico.close())


# Run one dual module on the Pico, leaving out SKIP, or all of it but ONLY.
RUN_MODULE = """import sys
sys.path.insert(0, '/host_tests/dual')
MODULE, SKIP, ONLY = %r, %r, %r
if ONLY:
    SKIP = [n for n in dir(__import__(MODULE)) if n.startswith('test_') and n != ONLY]
sys.argv[:] = ['runner', MODULE] + SKIP
try:
    import runner
except SystemExit:
    pass
"""


def run_dual(pico, module, skip=(), only=None):
    """Run one dual module on a fresh interpreter; the names of the tests that failed."""
    pico.soft_reset()
    out, err = pico.exec(RUN_MODULE % (module, list(skip), only), timeout=900)
    assert not err, out + err
    assert re.search(r"^\d+ passed, \d+ failed", out, re.M), out
    print(out)
    return set(re.findall(r"^FAIL %s\.(\w+):" % module, out, re.M))


def dual_params():
    """One test per module, and one per slow test, skipped unless CSAGENT_PICOW_SLOW is set."""
    params = [pytest.param(module, None, id=module) for module in MODULES]
    for module, tests in sorted(SLOW.items()):
        for name, why in sorted(tests.items()):
            params.append(pytest.param(module, name, id="%s.%s" % (module, name), marks=pytest.mark.skipif(
                not os.environ.get("CSAGENT_PICOW_SLOW"),
                reason="%s.%s: too slow for CI on the emulated Pico W (%s; CSAGENT_PICOW_SLOW=1 runs it); "
                       "the unix port runs it (test_dual_micropython.py)" % (module, name, why))))
    return params


@pytest.mark.parametrize("module,only", dual_params())
def test_dual_module_on_the_pico(module, only, dual_pico):
    assert not run_dual(dual_pico, module, skip=() if only else SLOW.get(module, ()), only=only)
