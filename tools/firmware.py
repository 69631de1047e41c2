"""Build MicroPython firmware with the agent frozen in (`make firmware BOARD=...`).

  firmware.py --board unix32|picow [--micropython-dir DIR]

unix32: the 32-bit unix port, build/firmware/unix32/micropython, which the
tests run as a board would (tools/station.py --micropython); its mbedtls
takes memory from MicroPython's heap, as on the Pico W. picow: the
Raspberry Pi Pico W image to flash, build/firmware/picow/firmware.uf2:
RPI_PICO_W with network.PPP for a cellular modem (boards/ports/CSAGENT_PICO_W).
The agent is frozen with the board's manifest (boards/host, boards/rp2040).
DIR (or $MICROPY_DIR) is a MicroPython v1.28.0 tree with its submodules; by
default the offline kit beside the checkout (../shared/micropython-kit),
unpacked under build/kit. Each image is built with and without the agent
(the stock one is kept beside it, -stock), so its size table gives the
agent's share of flash; make keeps both builds incremental, and picotool
(for the .uf2) is built once under build/picotool.
A Pico W image that would reach into the filesystem is refused.
"""
import os
import re
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cli import OneLineParser  # noqa: E402

KIT = os.path.join(os.path.dirname(ROOT), "shared", "micropython-kit", "micropython-1.28.0-kit.tar.xz")
KIT_DIR = os.path.join(ROOT, "build", "kit")
OUT = os.path.join(ROOT, "build", "firmware")
PICOTOOL = os.path.join(ROOT, "build", "picotool")
BOARD_DIR = os.path.join(ROOT, "boards", "ports", "CSAGENT_PICO_W")  # picow: RPI_PICO_W + network.PPP
MBEDTLS_HEAP = os.path.join(HERE, "unix32_mbedtls_heap.h")  # unix32: TLS memory from MicroPython's heap
JOBS = "-j%d" % (os.cpu_count() or 1)
XIP_BASE = 0x10000000  # RP2040 flash as the CPU sees it
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)


class BuildError(Exception):
    """One line for the user; the build's log holds the rest."""


def micropython_dir(given):
    """The MicroPython tree: the given one, or the kit unpacked once."""
    if given:
        if not os.path.isfile(os.path.join(given, "py", "mpconfig.h")):
            raise BuildError("%s is not a MicroPython source tree (no py/mpconfig.h)" % given)
        return os.path.abspath(given)
    if not os.path.isfile(KIT):
        raise BuildError("no MicroPython kit at %s; give --micropython-dir or MICROPY_DIR" % KIT)
    tree = os.path.join(KIT_DIR, "micropython-1.28.0")
    stamp = os.path.join(KIT_DIR, ".unpacked")
    want = "%d %d" % (os.path.getsize(KIT), os.path.getmtime(KIT))
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        shutil.rmtree(KIT_DIR, ignore_errors=True)
        os.makedirs(KIT_DIR)
        if subprocess.run(["tar", "-xJf", KIT, "-C", KIT_DIR]).returncode:
            raise BuildError("cannot unpack %s into %s" % (KIT, KIT_DIR))
        with open(stamp, "w") as f:
            f.write(want)
    return tree


def run(cmd, log, env=None):
    """Run one build step, its output appended to log."""
    with open(log, "ab") as f:
        f.write(("\n$ %s\n" % " ".join(cmd)).encode())
        f.flush()
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **(env or {}))).returncode
    if code:
        raise BuildError("%s failed (exit %d); see %s" % (" ".join(cmd[:3]), code, log))


def fresh_build_dir(build_dir, settings):
    """make tracks files, not settings (and rp2's make configures CMake once
    per build directory): start over when the settings of the last build differ."""
    stamp = os.path.join(build_dir, "csagent-settings")
    if os.path.exists(build_dir) and not (os.path.exists(stamp) and open(stamp).read() == settings):
        shutil.rmtree(build_dir)
    os.makedirs(build_dir, exist_ok=True)
    with open(stamp, "w") as f:
        f.write(settings)


def elf_size(tool, path):
    """(text, data, bss) of an ELF, as binutils' size counts them."""
    out = subprocess.run([tool, path], capture_output=True, text=True, check=True).stdout
    return tuple(int(w) for w in out.splitlines()[1].split()[:3])


def uf2_end(path):
    """The first flash offset past the image a .uf2 writes."""
    end = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(512)
            if len(block) < 512:
                break
            m0, m1, _flags, addr, size = struct.unpack("<5I", block[:20])
            if (m0, m1, struct.unpack("<I", block[508:512])[0]) != UF2_MAGIC:
                raise BuildError("%s: not a UF2 file" % path)
            end = max(end, addr + size - XIP_BASE)
    return end


def c_define(paths, name, default=None):
    """The value of `#define name (a * b ...)` in the first header that has it."""
    for path in paths:
        with open(path) as f:
            m = re.search(r"^\s*#define\s+%s\s+([0-9()*+ ]+)$" % name, f.read(), re.M)
        if m:
            return eval(m.group(1), {"__builtins__": {}})  # digits, * + ( ) only, by the pattern
    if default is None:
        raise BuildError("no #define %s in %s" % (name, ", ".join(paths)))
    return default


def picow_filesystem_start(tree):
    """Flash offset of the Pico W's filesystem (and any ROMFS just below it):
    the end of flash minus MICROPY_HW_FLASH_STORAGE_BYTES and MICROPY_HW_ROMFS_BYTES."""
    port = os.path.join(tree, "ports", "rp2")
    headers = [os.path.join(BOARD_DIR, "mpconfigboard.h"), os.path.join(port, "boards", "RPI_PICO_W", "mpconfigboard.h"),
               os.path.join(port, "mpconfigport.h")]
    flash = c_define([os.path.join(tree, "lib", "pico-sdk", "src", "boards", "include", "boards", "pico_w.h")],
                     "PICO_FLASH_SIZE_BYTES")
    return flash - c_define(headers, "MICROPY_HW_FLASH_STORAGE_BYTES") - c_define(headers, "MICROPY_HW_ROMFS_BYTES", 0)


def check_layout(image_end, fs_start):
    """Refuse an image that would overwrite the filesystem; else the room left."""
    if image_end > fs_start:
        raise BuildError("picow image ends at %d bytes, %d bytes into the filesystem at %d: it would be "
                         "overwritten" % (image_end, image_end - fs_start, fs_start))
    return fs_start - image_end


def build_unix32(tree, manifest, log):
    """(path of the binary, its sizes, the stock binary, its sizes)."""
    common = ["make", "-C", os.path.join(tree, "ports", "unix"), JOBS, "MICROPY_FORCE_32BIT=1",
              "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "CFLAGS_EXTRA=-include " + MBEDTLS_HEAP]
    binaries = []
    for name, extra in (("build-csagent-32", ["FROZEN_MANIFEST=" + manifest]), ("build-stock-32", [])):
        build_dir = os.path.join(tree, "ports", "unix", name)
        fresh_build_dir(build_dir, " ".join(common + extra))
        run(common + ["BUILD=" + name] + extra, log)
        binaries.append(os.path.join(build_dir, "micropython"))
    return binaries[0], elf_size("size", binaries[0]), binaries[1], elf_size("size", binaries[1])


def picotool(tree, log):
    """Install prefix of picotool, built once from the tree (no USB)."""
    prefix = os.path.join(PICOTOOL, "install")
    if not os.path.exists(os.path.join(prefix, "picotool", "picotool")):
        env = {"PICO_SDK_PATH": os.path.join(tree, "lib", "pico-sdk")}
        run(["cmake", "-S", os.path.join(tree, "picotool-2.2.0"), "-B", os.path.join(PICOTOOL, "build"),
             "-DPICOTOOL_NO_LIBUSB=1", "-DPICOTOOL_FLAT_INSTALL=1", "-DCMAKE_INSTALL_PREFIX=" + prefix], log, env)
        run(["make", "-C", os.path.join(PICOTOOL, "build"), JOBS, "install"], log, env)
    return prefix


def build_picow(tree, manifest, log):
    """Both images on BOARD_DIR (RPI_PICO_W with network.PPP), so the stock one
    differs by the agent alone."""
    port = os.path.join(tree, "ports", "rp2")
    env = {"PICOTOOL_FETCH_FROM_GIT_PATH": picotool(tree, log)}
    common = ["make", "-C", port, JOBS, "BOARD_DIR=" + BOARD_DIR]
    fresh_build_dir(os.path.join(port, "build-CSAGENT_PICO_W-csagent"), BOARD_DIR + " " + manifest)
    fresh_build_dir(os.path.join(port, "build-CSAGENT_PICO_W-stock"), BOARD_DIR)
    run(common + ["BUILD=build-CSAGENT_PICO_W-csagent", "FROZEN_MANIFEST=" + manifest], log, env)
    run(common + ["BUILD=build-CSAGENT_PICO_W-stock"], log, env)
    built = os.path.join(port, "build-CSAGENT_PICO_W-csagent")
    stock = os.path.join(port, "build-CSAGENT_PICO_W-stock")
    return (os.path.join(built, "firmware.uf2"), elf_size("arm-none-eabi-size", os.path.join(built, "firmware.elf")),
            os.path.join(stock, "firmware.uf2"), elf_size("arm-none-eabi-size", os.path.join(stock, "firmware.elf")))


BOARDS = {  # make firmware BOARD=...: (board manifest, builder, artifact name, stock image name)
    "unix32": ("host", build_unix32, "micropython", "micropython-stock"),  # the bench runs .mpy on the stock one
    "picow": ("rp2040", build_picow, "firmware.uf2", "firmware-stock.uf2"),
}


def size_table(board, artifact, sizes, stock):
    rows = [("", "text", "data", "bss"), ("with the agent",) + sizes, ("stock (no agent)",) + stock,
            ("the agent's share",) + tuple(a - b for a, b in zip(sizes, stock))]
    lines = ["%s: %s" % (board, os.path.relpath(artifact, ROOT))]
    lines += ["%-18s %9s %9s %9s" % row for row in rows]
    return lines


def build(board, given_dir=None):
    """Build one board's image; returns (artifact, lines of its size table)."""
    tree = micropython_dir(given_dir or os.environ.get("MICROPY_DIR"))
    board_dir, builder, name, stock_name = BOARDS[board]
    out = os.path.join(OUT, board)
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "build.log")
    open(log, "w").close()
    run(["make", "-C", os.path.join(tree, "mpy-cross"), JOBS], log)
    manifest = os.path.join(ROOT, "boards", board_dir, "manifest.py")
    built, sizes, stock_built, stock = builder(tree, manifest, log)
    artifact = os.path.join(out, name)
    table = size_table(board, artifact, sizes, stock)
    if board == "picow":
        end, fs_start = uf2_end(built), picow_filesystem_start(tree)
        room = check_layout(end, fs_start)
        table.append("flash: image %d bytes, filesystem from %d: %d bytes (%.1f KB) free between them"
                     % (end, fs_start, room, room / 1024))
    shutil.copy2(built, artifact)
    shutil.copy2(stock_built, os.path.join(out, stock_name))
    with open(os.path.join(out, "sizes.txt"), "w") as f:
        f.write("\n".join(table) + "\n")
    return artifact, table


def main(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--micropython-dir", help="MicroPython v1.28.0 source with submodules (default: the kit)")
    args = p.parse_args(argv)
    try:
        _, table = build(args.board, args.micropython_dir)
    except BuildError as e:
        sys.stderr.write("firmware.py: error: %s\n" % e)
        return 1
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
