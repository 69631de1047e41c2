"""Run one station on this machine, as a board would run it.

  station.py --csms URL --id ID --state DIR [--runtime micropython|cpython|picow]
             [--password P] [--cafile F] [--heap BYTES] [--romfs] [--unix-port PATH]
             [--micropython PATH] [--firmware PATH]

On MicroPython (the default) the agent runs from .mpy files compiled with
the pinned mpy-cross, with a 192 KB heap: the unix port is 64-bit, so its
objects and pointers take about 1.7 times what they take on a 32-bit board,
and 192 KB here stands for the ~110 KB an ESP32 without PSRAM leaves
MicroPython (BENCHMARKS.md measures the agent on both sides of it).
With --romfs the agent's bytecode runs in place from a ROMFS image instead,
as in firmware with the agent frozen (boards/*/manifest.py): the unix port
has no flash to map, so the image sits at the bottom of a heap enlarged by
its size, and --heap still means the heap the agent has.
--unix-port PATH runs the .mpy files or the ROMFS image on another build
of the unix port, e.g. the stock 32-bit one (build/firmware/unix32/).
With --micropython PATH the agent runs frozen in that unix-port binary
(make firmware BOARD=unix32: 32-bit, so --heap means what it means on a
board); only main.py and the board's model.jsonl come from files, as on a
board with frozen firmware.
With --runtime picow the Pico W image (--firmware, default: what make
firmware BOARD=picow writes) runs on the emulated RP2040 with a cellular
modem played on the host (tools/picow.py); the heap is the board's.
DIR is the station's flash. When the agent resets, it is started again on
the same DIR, as a board reboots. Ctrl-C or SIGTERM stops it cleanly.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cli import OneLineParser  # noqa: E402

RESET_EXIT = 75  # boards/host/board.py ends the process with it on reset
STOP_GRACE = 3  # seconds a station has to stop cleanly
DEFAULT_HEAP = 192 * 1024  # module docstring: an ESP32's heap, on a 64-bit port
# --romfs: ROMFS_MOUNT % image allocates the image first of all, mounts it at
# /rom and puts /rom first on the import path; main.py then runs from it
ROMFS_MOUNT = """import os, sys, vfs
path = %r
image = bytearray(os.stat(path)[6])
with open(path, "rb") as f:
    f.readinto(image)
vfs.mount(vfs.VfsRom(image), "/rom")
sys.path.insert(0, "/rom")
del image
"""


def heap_size(text):
    units = {"K": 1024, "M": 1024 * 1024}
    try:
        n = int(text[:-1]) * units[text[-1].upper()] if text[-1:].upper() in units else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--heap wants bytes, e.g. 131072 or 128K")
    if n < 16 * 1024:
        raise argparse.ArgumentTypeError("--heap below 16K cannot run the agent")
    return n


def csms_url(text):
    if not (text.startswith("ws://") or text.startswith("wss://")) or len(text.split("/", 3)[2]) == 0:
        raise argparse.ArgumentTypeError("--csms wants ws://host[:port][/path] or wss://...")
    return text


def station_id(text):
    if not text or len(text) > 48:
        raise argparse.ArgumentTypeError("--id wants 1 to 48 characters")
    return text


def parse(argv):
    p = OneLineParser(description="Run one station on this machine.")
    p.add_argument("--csms", required=True, type=csms_url)
    p.add_argument("--id", required=True, type=station_id)
    p.add_argument("--state", required=True, help="the station's flash directory")
    p.add_argument("--runtime", choices=("micropython", "cpython", "picow"), default="micropython")
    p.add_argument("--password")
    p.add_argument("--cafile")
    p.add_argument("--heap", type=heap_size, help="default %dK" % (DEFAULT_HEAP // 1024))
    p.add_argument("--romfs", action="store_true", help="run the agent's code in place, as frozen firmware does")
    p.add_argument("--unix-port", metavar="PATH", help="the unix-port binary for the .mpy files or --romfs")
    p.add_argument("--micropython", metavar="PATH", help="a unix-port binary with the agent frozen in it")
    p.add_argument("--firmware", metavar="PATH", help="--runtime picow: the Pico W image (.uf2)")
    args = p.parse_args(argv)
    if os.path.exists(args.state) and not os.path.isdir(args.state):
        p.error("--state %s: not a directory" % args.state)
    if args.romfs and args.runtime == "cpython":
        p.error("--romfs runs on MicroPython only")
    if args.micropython and (args.runtime == "cpython" or args.romfs or args.unix_port):
        p.error("--micropython runs the agent frozen in that binary: not with --runtime cpython, --romfs or --unix-port")
    if args.unix_port and args.runtime == "cpython":
        p.error("--unix-port runs on MicroPython only")
    for option, path in (("--micropython", args.micropython), ("--unix-port", args.unix_port)):
        if path and not (os.path.isfile(path) and os.access(path, os.X_OK)):
            p.error("%s %s: not an executable file" % (option, path))
    if args.cafile and not os.path.isfile(args.cafile):
        p.error("--cafile %s: no such file" % args.cafile)
    if args.runtime == "picow":
        for option in ("heap", "romfs", "unix_port", "micropython"):
            if getattr(args, option):
                p.error("--%s means nothing on the Pico W (its heap and code are the image's)"
                        % option.replace("_", "-"))
        import picow
        args.firmware = args.firmware or picow.FIRMWARE
        why = picow.missing(args.firmware)
        if why:
            p.error(why)
    elif args.firmware:
        p.error("--firmware goes with --runtime picow")
    args.heap = args.heap or DEFAULT_HEAP
    return args


def gc_block(binary):
    """Bytes per GC block of a unix-port binary: 4 words, by its ELF class."""
    with open(binary, "rb") as f:
        return 16 if f.read(5)[4:] == b"\x01" else 32


def prepare_flash(args):
    """First start: leave the installation settings where the agent reads them."""
    os.makedirs(args.state, exist_ok=True)
    fresh = not os.path.exists(os.path.join(args.state, "store"))
    if fresh and not os.path.exists(os.path.join(args.state, "install.json")):
        with open(os.path.join(args.state, "install.json"), "w") as f:
            json.dump({"identity": args.id, "password": args.password, "csms_url": args.csms}, f)
    if args.cafile:
        os.makedirs(os.path.join(args.state, "certs"), exist_ok=True)
        shutil.copyfile(args.cafile, os.path.join(args.state, "certs", "csms_root.pem"))


def command(args):
    state = os.path.abspath(args.state)
    if args.runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host")]))
        return [sys.executable, os.path.join(ROOT, "firmware", "main.py"), state], env
    if args.micropython:  # frozen: the board's defaults are a file beside main.py on a board
        env = dict(os.environ, MICROPYPATH=".frozen")
        env.setdefault("CSAGENT_DEFAULTS", os.path.join(ROOT, "boards", "host", "model.jsonl"))
        # main.py's text, not its path: the script's folder would come first
        # on the import path, and the agent's sources beside it with it
        with open(os.path.join(ROOT, "firmware", "main.py")) as f:
            main = f.read()
        return [os.path.abspath(args.micropython), "-X", "heapsize=%d" % args.heap, "-c", main, state], env
    import build
    out = build.build("host")
    micropython = os.path.abspath(args.unix_port or os.path.join(os.path.dirname(sys.executable), "micropython"))
    if not args.romfs:
        return [micropython, "-X", "heapsize=%d" % args.heap, os.path.join(out, "main.py"), state], \
            dict(os.environ, MICROPYPATH=out + os.pathsep + ".frozen")
    env = dict(os.environ, MICROPYPATH=".frozen")  # the agent comes from the image alone
    image = build.romfs(out)
    size = os.path.getsize(image)
    # the GC keeps 3 bits of tables per block: enlarge by those too
    heap = args.heap + size + size * 3 // (8 * gc_block(micropython)) + 64
    return [micropython, "-X", "heapsize=%d" % heap, "-c", ROMFS_MOUNT % image + "import main\n", state], env


def _wait(child, stopping):
    """The child's exit status. Once a stop was asked for, it has STOP_GRACE
    seconds after the SIGINT, then it is killed, as a board loses power: the
    unix port can hang there, when the SIGINT lands while a collection
    finalises a socket and leaves its heap locked (MicroPython v1.28)."""
    deadline = None
    while True:
        try:
            return child.wait(0.5)
        except subprocess.TimeoutExpired:
            if stopping:
                deadline = deadline or time.monotonic() + STOP_GRACE
                if time.monotonic() > deadline:
                    child.kill()


def main(argv=None):
    # A stop may come at once (a test's teardown): take it before anything else.
    children = []
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        if children and children[-1].poll() is None:
            children[-1].send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    args = parse(argv)
    if stopping:
        return 0
    if args.runtime == "picow":
        import asyncio
        import picow
        try:
            return asyncio.run(picow.run(args))
        except picow.PicoError as e:
            sys.stderr.write("station.py: error: %s\n" % e)
            return 1
    prepare_flash(args)
    cmd, env = command(args)
    while not stopping:
        child = subprocess.Popen(cmd, env=env)
        children[:] = [child]
        code = _wait(child, stopping)
        if code == RESET_EXIT and not stopping:
            sys.stderr.write("station.py: board reset, starting again\n")
            continue
        return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
