"""Time to verify a signature in the agent's own code (csagent.pubkey,
issue 23): RSA-2048 PKCS#1 v1.5 and ECDSA P-256, both over SHA-256, as a
firmware signature (L01) or a certificate of its chain is checked.

Keys and signatures are made by `cryptography` for the run. The same
verification runs from the .mpy files on the 64-bit unix port, on the stock
32-bit unix port (a board's 32-bit long-int digits), on CPython for
reference, and on the emulated Pico W (rp2040js, RP2040 at 125 MHz), where
the time is the board's own clock: emulated seconds, not wall time.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

UNIX32 = os.path.join(ROOT, "build", "firmware", "unix32", "micropython-stock")
PICOW = os.path.join(ROOT, "build", "firmware", "picow", "firmware.uf2")
# Runs on every runtime: argv (or the names below on the board) give the rounds.
SCRIPT = """
import hashlib, time
import keys
from csagent import pubkey
clock = getattr(time, "ticks_ms", None)
def ms():
    return clock() if clock else time.perf_counter() * 1000
def per(key, sig, rounds):
    assert pubkey.verify(key, keys.DIGEST, sig)
    start = ms()
    for _ in range(rounds):
        pubkey.verify(key, keys.DIGEST, sig)
    return (ms() - start) / rounds
print("rsa %.1f" % per(keys.RSA, keys.RSA_SIG, ROUNDS_RSA))
print("ecdsa %.1f" % per(keys.EC, keys.EC_SIG, ROUNDS_EC))
"""


def keys(folder):
    """keys.py: an RSA-2048 and a P-256 key, a digest and each one's signature."""
    import hashlib

    import crypto_vectors_gen as gen
    from csagent.x509 import Certificate
    rsa_key, ec_key = gen.new_key("rsa"), gen.new_key("ec")
    lines = ["DIGEST = %r" % hashlib.sha256(gen.MESSAGE).digest()]
    for name, key in (("RSA", rsa_key), ("EC", ec_key)):
        cert = Certificate(gen.der(gen.certificate(key, name, ca=True)))
        lines += ["%s = %r" % (name, cert.key), "%s_SIG = %r" % (name, gen.sign(key, gen.MESSAGE))]
    with open(os.path.join(folder, "keys.py"), "w") as f:
        f.write("\n".join(lines) + "\n")


def script(folder, rsa, ec):
    path = os.path.join(folder, "verify_bench.py")
    with open(path, "w") as f:
        f.write("ROUNDS_RSA, ROUNDS_EC = %d, %d\n" % (rsa, ec) + SCRIPT)
    return path


def parse(out):
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line[:3] in ("rsa", "ecd")}


def on_unix(binary, tree, folder):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([folder, tree, ".frozen"]))
    r = subprocess.run([binary, "-X", "heapsize=256K", script(folder, 50, 20)], capture_output=True, text=True,
                       env=env, timeout=600)
    if r.returncode:
        raise RuntimeError(r.stdout + r.stderr)
    return parse(r.stdout)


def on_cpython(folder):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([folder, os.path.join(ROOT, "firmware")]))
    r = subprocess.run([sys.executable, script(folder, 50, 20)], capture_output=True, text=True, env=env,
                       timeout=600)
    return parse(r.stdout)


def on_picow(tree, folder):
    """(figures, None) on the emulated Pico W, or (None, why not)."""
    import emulator
    why = emulator.missing(PICOW)
    if why:
        return None, why
    board = os.path.join(folder, "board")
    os.makedirs(os.path.join(board, "csagent"))
    for name in ("__init__.mpy", "der.mpy", "pubkey.mpy"):  # ahead of the frozen package on sys.path
        shutil.copy(os.path.join(tree, "csagent", name), os.path.join(board, "csagent", name))
    shutil.copy(os.path.join(folder, "keys.py"), os.path.join(board, "keys.py"))
    image = emulator.make_fs_image(board, os.path.join(folder, "fs.img"))
    with open(script(folder, 2, 1)) as f:
        code = f.read()
    with emulator.Pico(PICOW, fs=image) as pico:
        pico.raw_repl()
        out = pico.eval_ok(code, timeout=900)
    return parse(out), None


def run():
    import build
    folder = tempfile.mkdtemp(prefix="bench-verify-")
    tree = build.build("host", os.path.join(folder, "mpy"))
    keys(folder)
    rows = [("CPython %s (reference)" % sys.version.split()[0], on_cpython(folder)),
            ("unix port, 64-bit, .mpy", on_unix(os.path.join(os.path.dirname(sys.executable), "micropython"),
                                                tree, folder))]
    if os.path.exists(UNIX32):
        rows.append(("unix port, 32-bit (stock build), .mpy", on_unix(UNIX32, tree, folder)))
    pico, why = on_picow(tree, folder)
    if pico:
        rows.append(("Pico W, emulated RP2040 at 125 MHz (board clock)", pico))
    lines = ["## Signature verification (issue 23)", "", __doc__.strip().split("\n\n")[1].replace("\n", " "), "",
             "| runtime | RSA-2048 PKCS#1 v1.5, ms | ECDSA P-256, ms |", "|---|---|---|"]
    lines += ["| %s | %.1f | %.1f |" % (name, got["rsa"], got["ecdsa"]) for name, got in rows]
    if why:
        lines += ["", "Not measured on the emulated Pico W: %s." % why]
    return "\n".join(lines)
