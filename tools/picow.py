"""The Pico W image as a station: tools/station.py --runtime picow.

The image (make firmware BOARD=picow) runs on the emulated RP2040
(tools/emulator/pico.mjs), its UART0 wired to a cellular modem played here
(cellmodem.py), which relays the board's TCP connections to 127.0.0.1.
The station's first profile is that modem (Wireless1) with TEST_APN.

DIR/flash.img is the board's filesystem region of flash. At the first
start it is made from main.py, model.jsonl and the first-start settings;
the emulator writes every erase and program into it before the core goes
on, so killing this process is a power cut at that instant. A reset of the
board (machine.reset(), the watchdog) ends the emulator with RESET_EXIT
and the board starts again from the same file. DIR/modem.sock takes the
modem's fault commands (cellmodem.send_fault).

Over PPP the board reaches the host as PEER_HOST, never as 127.0.0.1 (its
lwIP has no route to a loopback address): a CSMS URL on 127.0.0.1 or
localhost is given to the board with PEER_HOST in its place, and the
modem takes the connection back to 127.0.0.1.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cellmodem import ModemServer  # noqa: E402
from ppp_peer import PEER_IP  # noqa: E402

FIRMWARE = os.path.join(ROOT, "build", "firmware", "picow", "firmware.uf2")
EMULATOR = os.path.join(HERE, "emulator")
BOOTROM = os.path.join(os.path.dirname(ROOT), "shared", "micropython-kit", "rp2040-bootrom-B1.bin")
# RPI_PICO_W: 2 MB of flash, the last MICROPY_HW_FLASH_STORAGE_BYTES (848 KB) of it
# the filesystem, no ROMFS (ports/rp2/boards/RPI_PICO_W/mpconfigboard.h, rp2_flash.c).
FS_OFFSET = 2048 * 1024 - 848 * 1024
FS_BLOCKS = 848 * 1024 // 4096
PEER_HOST = ".".join(str(b) for b in PEER_IP)
MODEM_UART = {"uart": 0, "tx": 0, "rx": 1, "baudrate": 115200}
TEST_APN = {"apn": "internet.test", "apnAuthentication": "PAP", "apnUserName": "csagent",
            "apnPassword": "test-apn-secret"}
RESET_EXIT = 75
STOP_GRACE = 10  # seconds node has to stop
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

# Runs on the unix port: format a RAM flash as rp2's _boot.py does (or take
# the image there is) and copy a directory tree into it; host_tests/lfs_ramdisk.py
# is the block device.
_FILL = """import os, sys
sys.path.insert(0, %(host_tests)r)
from lfs_ramdisk import RAMFlash, mkfs, mount, umount
try:
    with open(%(out)r, 'rb') as f:
        flash = RAMFlash(image=f.read())
except OSError:
    flash = RAMFlash(blocks=%(blocks)d)
    mkfs(flash, progsize=256)
top = mount(flash, '/picofs', progsize=256)
def copy(src, dst):
    for name, kind, *_ in os.ilistdir(src):
        if kind == 0x4000:
            try:
                os.mkdir(dst + '/' + name)
            except OSError:
                pass
            copy(src + '/' + name, dst + '/' + name)
        else:
            with open(src + '/' + name, 'rb') as f, open(dst + '/' + name, 'wb') as g:
                g.write(f.read())
copy(%(tree)r, top)
umount(top)
with open(%(out)r, 'wb') as f:
    f.write(flash.image())
"""
# Runs on the unix port: the files of a filesystem image, 'path size' per line.
_LIST = """import os, sys
sys.path.insert(0, %(host_tests)r)
from lfs_ramdisk import RAMFlash, mount
with open(%(image)r, 'rb') as f:
    top = mount(RAMFlash(image=f.read()), '/picofs', progsize=256)
def walk(d):
    for name, kind, *_ in os.ilistdir(d):
        if kind == 0x4000:
            walk(d + '/' + name)
        else:
            print((d + '/' + name)[len(top):], os.stat(d + '/' + name)[6])
walk(top)
"""


class PicoError(Exception):
    """One line for the user."""


def _unix_port(script):
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", "-c", script], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, MICROPYPATH=".frozen"))
    if r.returncode:
        raise PicoError("unix port: " + (r.stdout + r.stderr).strip().splitlines()[-1])
    return r.stdout


def fill_fs_image(tree, image):
    """Copy directory `tree` into the littlefs image `image`, made (formatted
    as the rp2 port formats it: 4 KB blocks, progsize 256) if there is none."""
    _unix_port(_FILL % {"host_tests": os.path.join(ROOT, "host_tests"), "blocks": FS_BLOCKS,
                        "tree": os.path.abspath(tree), "out": os.path.abspath(image)})
    return image


def list_fs_image(image):
    """{path: size} of the files in a filesystem image."""
    out = _unix_port(_LIST % {"host_tests": os.path.join(ROOT, "host_tests"), "image": os.path.abspath(image)})
    return {path: int(size) for path, size in (line.rsplit(" ", 1) for line in out.splitlines())}


def write_tree(tree, files):
    for path, data in files.items():
        dest = os.path.join(tree, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)


def board_url(url):
    """The CSMS URL as the board reaches it over PPP."""
    scheme, rest = url.split("://", 1)
    host, sep, path = rest.partition("/")
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if name in ("127.0.0.1", "localhost"):
        host = PEER_HOST + colon + port
    return scheme + "://" + host + sep + path


def missing(firmware):
    """Why the emulated Pico W cannot run here, or None."""
    if not os.path.exists(firmware):
        return "no Pico W image at %s (make firmware BOARD=picow)" % firmware
    if not shutil.which("node"):
        return "no node (apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(EMULATOR, "node_modules", "rp2040js")):
        return "rp2040js not installed (make emulator)"
    if not os.path.exists(BOOTROM):
        return "no RP2040 bootrom at %s" % BOOTROM
    if not os.path.exists(MICROPYTHON):
        return "no MicroPython unix port at %s (make .venv/.ready)" % MICROPYTHON
    return None


def first_start_files(args):
    """{path: bytes} for a new board: main.py and model.jsonl (the agent is
    frozen), install.json (what station.py or a test left in DIR, else the
    command line; the modem profile with TEST_APN), modem.json."""
    import deploy
    files, _ = deploy.local_files("rp2040", True, os.path.join(ROOT, "build", "picow-station"))
    install = {"identity": args.id, "password": args.password, "csms_url": args.csms}
    left = os.path.join(args.state, "install.json")
    if os.path.exists(left):
        with open(left) as f:
            install = json.load(f)
    install["csms_url"] = board_url(install["csms_url"])
    install.setdefault("interface", "Wireless1")
    if install["interface"] == "Wireless1":
        install.setdefault("apn", TEST_APN)
    files["install.json"] = json.dumps(install).encode()
    files["modem.json"] = json.dumps(MODEM_UART).encode()
    return files


def prepare_flash(args):
    """DIR/flash.img: made at the first start; --cafile copied in at every start."""
    os.makedirs(args.state, exist_ok=True)
    image = os.path.join(args.state, "flash.img")
    files = {} if os.path.exists(image) else first_start_files(args)
    if args.cafile:
        with open(args.cafile, "rb") as f:
            files["certs/csms_root.pem"] = f.read()
    if files:
        with tempfile.TemporaryDirectory() as tree:
            write_tree(tree, files)
            fill_fs_image(tree, image + ".new" if not os.path.exists(image) else image)
        if os.path.exists(image + ".new"):
            os.replace(image + ".new", image)  # a first start cut short starts over
    return image


async def run(args):
    """Boot the board on DIR until stopped; its serial output to stderr."""
    image = prepare_flash(args)
    control = os.path.join(os.path.abspath(args.state), "modem.sock")
    if os.path.exists(control):
        os.remove(control)
    modem = await ModemServer(control=control, credentials=(TEST_APN["apnUserName"], TEST_APN["apnPassword"]),
                              ).start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    cmd = ["node", os.path.join(EMULATOR, "pico.mjs"), "--bootrom", BOOTROM, "--firmware", args.firmware,
           "--fs", image, "--fs-offset", str(FS_OFFSET), "--save-each", image, "--uart0", str(modem.port),
           "--reset-exit", str(RESET_EXIT)]
    try:
        while True:
            node = await asyncio.create_subprocess_exec(*cmd, stdin=subprocess.PIPE, stdout=sys.stderr.fileno())
            ended = asyncio.ensure_future(node.wait())
            stop = asyncio.ensure_future(stopping.wait())
            await asyncio.wait([ended, stop], return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                node.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(ended, STOP_GRACE)
                except asyncio.TimeoutError:
                    node.kill()
                    await node.wait()
                return 0
            stop.cancel()
            if node.returncode != RESET_EXIT:
                return node.returncode
            sys.stderr.write("station.py: board reset, starting again\n")
    finally:
        await modem.stop()
