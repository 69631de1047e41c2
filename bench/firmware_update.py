"""The secure firmware update (L01, issue 23): the bundle's size, the heap the
update takes on the 32-bit frozen build, and its flash erases.

Bundle: `tools/bundle.py` output for this checkout's agent. Heap: the agent
frozen into the 32-bit unix build (`make firmware BOARD=unix32`,
`tools/station.py --micropython`) downloads a bundle from a file server on
loopback, verifies its certificate and signature (RSA-2048 and ECDSA P-256
test PKIs) and unpacks it; the agent logs the heap after a collection at
every status (in use, and the high-water mark so far). The smallest
heap that gets to InstallRebooting is bisected; so is the one with which
the installed agent, which runs from .mpy files in its slot, then reaches
Accepted (Installed). Flash: the update's writes (the download in the
512-byte pieces fetch writes, the unpacking by csagent.bundle, every
state.json by csagent.firmware_slots) replayed on littlefs v2 over
host_tests/lfs_ramdisk.RAMFlash in the unix port, which counts erases.
"""
import json
import os
import sys

if sys.implementation.name != "micropython":  # measure() runs on the unix port, which has no os.path
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    BINARY = os.path.join(ROOT, "build", "firmware", "unix32", "micropython")
STEPS = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")


async def update(bundle_path, signature, pki, heap):
    """(reached InstallRebooting, then Installed, the station's log) for one
    update on the frozen 32-bit build with `heap` bytes of heap."""
    import asyncio
    import tempfile
    from csms import Csms
    from firmware_server import FileServer, install_root, request, statuses
    from stations import StationProcess
    state = os.path.join(tempfile.mkdtemp(prefix="bench-fw-"), "flash")
    install_root(state, pki)
    server = await FileServer(bundle_path).start()
    csms = await Csms(interval=300, quiet=True).start()
    station = await StationProcess(state, "ws://127.0.0.1:%d" % csms.port, heap=heap, micropython=BINARY).start()
    installing = installed = False
    try:
        st = await csms.wait_station("CS001", timeout=20)
        await st.wait_for("StatusNotification", timeout=10)
        await st.request("UpdateFirmware", request(server.url, pki, signature, 1), timeout=20)
        for _ in range(600):
            if any(s in ("DownloadFailed", "InvalidSignature", "InstallationFailed", "InstallVerificationFailed",
                         "InstallRebooting") for s, _ in statuses(st)):
                break
            await asyncio.sleep(0.1)
        installing = ("InstallRebooting", 1) in statuses(st)
        if installing:
            st2 = await csms.wait_station("CS001", connections=2, timeout=30)
            await st2.wait_for("FirmwareStatusNotification", timeout=30)
            installed = statuses(st2) == [("Installed", 1)]
    except Exception:  # noqa: BLE001 - a heap too small fails somewhere: the run did not pass
        pass
    finally:
        await station.stop()
        await csms.stop()
        await server.stop()
    return installing, installed, station.log()


def step_heap(log):
    """{status: (bytes in use, high-water mark)} from the agent's firmware lines."""
    out = {}
    for line in log.splitlines():
        words = line.split()
        if len(words) == 8 and words[1] == "firmware" and words[4] == "heap":
            out.setdefault(words[2], (int(words[5]), int(words[7])))
    return out


def smallest(kit, which, low, high, step=4):
    """Bisect the heap (KB) for which update() reaches `which` (0: InstallRebooting, 1: Installed)."""
    import asyncio
    while high - low > step:
        mid = (low + high) // 2 // step * step
        ok = asyncio.run(update(kit["bundle"], kit["sig"], kit["pki"], "%dK" % mid))[which]
        low, high = (low, mid) if ok else (mid, high)
    return high


def erases(bundle_path, progsize):
    """Run measure() on the unix port: erases and bytes programmed by the update."""
    import subprocess
    import tempfile
    import build
    out = build.build("host", os.path.join(tempfile.mkdtemp(prefix="bench-fw-"), "host"))
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([out, os.path.join(ROOT, "host_tests"), ".frozen"]))
    r = subprocess.run([micropython, "-X", "heapsize=4M", os.path.abspath(__file__), bundle_path, str(progsize)],
                       capture_output=True, text=True, env=env, timeout=600, check=True)
    return json.loads(r.stdout.splitlines()[-1])


def measure(bundle_path, progsize):
    """MicroPython: the update's flash writes on a counting littlefs."""
    import lfs_ramdisk as rd
    from csagent import bundle, firmware_slots as slots
    flash = rd.RAMFlash(blocks=256)
    rd.mkfs(flash, progsize)
    rd.mount(flash, "/ramflash", progsize)
    os.mkdir("/ramflash/fw")
    flash.reset_counters()
    state = {}

    def tell(status, **more):
        state["id"], state["status"] = 1, status
        state.update(more)
        slots.write("/ramflash", state)
    download = "/ramflash/fw/download.1"
    tell("Downloading", trial=None)
    with open(bundle_path, "rb") as src, open(download, "wb") as f:
        while True:
            chunk = src.read(512)
            if not chunk:
                break
            f.write(chunk)
    tell("Downloaded")
    tell("SignatureVerified")
    tell("Installing")
    for _ in bundle.unpack(download, "/ramflash/fw/a"):
        pass
    os.remove(download)
    tell("InstallRebooting", trial="a", boots=0)
    tell("InstallRebooting", boots=1)  # the boot the trial counts (firmware_slots.prepare)
    tell("Installed", slot="a", trial=None, boots=0)  # promoted once Accepted (firmware_update.after_boot)
    state.pop("id")
    state.pop("status")
    slots.write("/ramflash", state)  # told
    print(json.dumps({"erases": flash.erases, "bytes": flash.programmed}))
    rd.umount("/ramflash")


def run():
    import asyncio
    import tempfile
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    sys.path.insert(0, os.path.join(ROOT, "host_tests"))
    from firmware_server import make_bundle, make_pki
    d = tempfile.mkdtemp(prefix="bench-fw-kit-")
    kits = {}
    for kind in ("rsa", "ec"):
        pki = make_pki(os.path.join(d, kind), kind)
        path, sig = make_bundle(os.path.join(d, kind), "9.9.9-bench", pki)
        kits[kind] = {"pki": pki, "bundle": path, "sig": sig}
    size = os.path.getsize(kits["rsa"]["bundle"])
    with open(kits["rsa"]["bundle"], "rb") as f:
        files = int(f.readline().split()[2])
    lines = ["## Firmware update (L01)", "",
             "The agent as a bundle (`make bundle`, tools/bundle.py): %d .mpy files, %.1f KB (%d bytes) with "
             "its header and file table; the signature travels in UpdateFirmware (RSA-2048: 344 base64 "
             "characters, ECDSA P-256: about 96)." % (files, size / 1024, size), ""]
    if os.path.exists(BINARY):
        lines += ["Heap on the 32-bit unix build with the agent frozen in (`make firmware BOARD=unix32`), "
                  "after a collection at each status the agent sends, at a 64 KB heap: in use, and the "
                  "high-water mark so far (it also counts the connection's work before the update).", "",
                  "| status | RSA-2048: in use | high-water | ECDSA P-256: in use | high-water |",
                  "|---|---:|---:|---:|---:|"]
        logs = {kind: step_heap(asyncio.run(update(k["bundle"], k["sig"], k["pki"], "64K"))[2])
                for kind, k in kits.items()}
        for status in STEPS:
            row = [status]
            for kind in ("rsa", "ec"):
                used, peak = logs[kind].get(status, (None, None))
                row += ["%.1f KB" % (used / 1024) if used else "-", "%.1f KB" % (peak / 1024) if peak else "-"]
            lines.append("| %s |" % " | ".join(row))
        down = smallest(kits["rsa"], 0, 16, 96)
        down_ec = smallest(kits["ec"], 0, 16, 96)
        up = smallest(kits["rsa"], 1, 32, 160)
        lines += ["",
                  "- Smallest heap (bisected, 4 KB steps) with which the frozen agent downloads, verifies and "
                  "unpacks the bundle (InstallRebooting): %d KB with RSA-2048, %d KB with ECDSA P-256 "
                  "(the scenario without an update: 32 KB)." % (down, down_ec),
                  "- Smallest heap with which the installed agent, from the .mpy files of its slot, then "
                  "reaches Accepted and reports Installed: %d KB. An installed bundle runs from .mpy, not "
                  "from the image, so a board needs the .mpy agent's heap for it (a smaller heap fails the "
                  "trial, and the frozen agent comes back by itself)." % up]
    else:
        lines += ["(No 32-bit build: `make firmware BOARD=unix32` first for the heap figures.)"]
    lines += ["", "Flash: the update's writes on littlefs v2 (4 KB blocks, 1 MB counting RAM flash) in the "
              "MicroPython unix port.", "",
              "| littlefs as on | erases | bytes programmed |", "|---|---:|---:|"]
    for progsize, board in ((32, "ESP32 (progsize 32)"), (256, "RP2040 (progsize 256)")):
        m = erases(kits["rsa"]["bundle"], progsize)
        lines.append("| %s | %d | %d |" % (board, m["erases"], m["bytes"]))
    lines += ["", "Reproduce: `make bench` (this section: bench/firmware_update.py).", ""]
    return "\n".join(lines)


if __name__ == "__main__" and sys.implementation.name == "micropython":
    measure(sys.argv[1], int(sys.argv[2]))
