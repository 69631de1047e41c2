"""Issue 23: a power cut never leaves half a certificate. Inside the
MicroPython unix port, on real littlefs v2 over lfs_ramdisk.RAMFlash,
InstallCertificate and DeleteCertificate go through the real handler and the
board's bundles; power fails at every single flash write of each in turn
(the write lands not at all, or half). After each cut the flash is mounted
again: every bundle holds exactly the certificates it held before the
request or exactly those after it, each one whole, and the next request
works."""
import os

from conftest import ROOT, run_micropython

SCENARIO = r"""
import sys
import crypto_vectors as v
import lfs_ramdisk as rd
from csagent import cert_store, certificates
from csagent.board_base import Board
from csagent.model import DeviceModel
from csagent.store import Store
from csagent.x509 import Certificate
from test_certificates import NOW, pem

DEFAULTS, TORN = sys.argv[1], int(sys.argv[2])
BUNDLES = ("csms_root.pem", "manufacturer_root.pem")


def station(top):
    board = Board(top + "/board", DEFAULTS)
    board.set_time(NOW)
    return board, DeviceModel(DEFAULTS, Store(top + "/store"))


def install(kind, der):
    return lambda s: certificates.install({"certificateType": kind, "certificate": pem(der)}, s[1], s[0], None)


def delete(der):
    data = certificates.hash_data(Certificate(der))
    return lambda s: certificates.delete({"certificateHashData": data}, s[1], s[0], None)


def bundles(top):
    board = Board(top + "/board", DEFAULTS)
    return [[Certificate(der).der for der in cert_store.read(board, name)] for name in BUNDLES]


# each certificate in one bundle at a time, so a repeated delete has one
# target; with the bundles (CSMS roots, manufacturer roots) each step leaves
STEPS = ((install("CSMSRootCertificate", v.RSA_ROOT), [[v.RSA_ROOT], []]),
         (install("CSMSRootCertificate", v.EC_ROOT), [[v.RSA_ROOT, v.EC_ROOT], []]),
         (delete(v.RSA_ROOT), [[v.EC_ROOT], []]),
         (install("ManufacturerRootCertificate", v.RSA_ROOT), [[v.EC_ROOT], [v.RSA_ROOT]]),
         (delete(v.EC_ROOT), [[], [v.RSA_ROOT]]),
         (delete(v.RSA_ROOT), [[], []]))

golden = rd.RAMFlash(blocks=64)
rd.mkfs(golden, 32)
top = rd.mount(golden, "/ramflash", 32)
here = station(top)
cuts = failures = 0
before = [[], []]
for i, (step, after) in enumerate(STEPS):
    image = golden.image()
    answer = step(here)
    assert answer == {"status": "Accepted"} and bundles(top) == after, (i, answer)
    for kind, flash in rd.power_cuts(image, station, step, 32, TORN):
        cuts += 1
        rd.mount(flash, "/ramcheck", 32)
        got = bundles("/ramcheck")
        if kind is not None:  # the CSMS, having no answer, sends it again: it completes
            again = step(station("/ramcheck"))
            done = again["status"] == "Accepted" or again["status"] == "NotFound" and got == after
        else:
            again, done = None, True
        final = bundles("/ramcheck")
        rd.umount("/ramcheck")
        if got != after and (kind is None or got != before) or not done or final != after:
            failures += 1
            print("FAIL step %d cut %s: %s, then %s %s" % (i, kind, got, again, final))
    before = after
print("cuts", cuts, "failures", failures)
"""


def test_power_cut_during_certificate_requests(host_build):
    defaults = os.path.join(ROOT, "boards", "host", "model.jsonl")
    path = [os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "host_tests", "dual"), host_build]
    for torn in ("0", "1"):
        r = run_micropython(["-c", SCENARIO, defaults, torn], path, heap="8M", timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        words = r.stdout.split()
        assert words[-2:] == ["failures", "0"], r.stdout[-3000:]
        assert int(words[words.index("cuts") + 1]) > 30, r.stdout
