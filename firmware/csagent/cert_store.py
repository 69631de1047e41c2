"""The board's certificate bundles (<flash>/certs/*.pem), as the CSMS
manages them (certificates.py, M03-M05) and an update checks its signer
against them (firmware_update.py, L01): read one certificate at a time,
counted (SecurityCtrlr.CertificateEntries), rewritten whole and atomically.
Loaded for those moments only; small, so that an update under way can load
it beside its own code.
"""
import binascii
import os

from .board_base import exists
from .compat import const
from .store import lines, sync

# (certificateType, bundle) of the roots InstallCertificate fills
BUNDLES = (("CSMSRootCertificate", "csms_root.pem"), ("ManufacturerRootCertificate", "manufacturer_root.pem"))
_BEGIN = const(b"-----BEGIN CERTIFICATE-----")
_END = const(b"-----END CERTIFICATE-----")


def read(board, name):
    """The DER of each certificate in the PEM bundle <flash>/certs/<name>,
    one at a time: a bundle is never read whole into RAM."""
    path = board.cert(name)
    if path is None:
        return
    body = None
    with open(path, "rb") as f:
        for _, line in lines(f, 128):
            line = line.strip()
            if line == _BEGIN:
                body = []
            elif line == _END and body is not None:
                yield binascii.a2b_base64(b"".join(body))
                body = None
            elif body is not None:
                body.append(line)


def count(board):
    """How many certificates the bundles hold (SecurityCtrlr.CertificateEntries)."""
    return sum(1 for _, name in BUNDLES for _ in read(board, name))


def write(board, name, ders):
    """Make the bundle <flash>/certs/<name> hold the certificates `ders`
    gives (DER, an iterable that may read the old bundle); none: the bundle
    goes. It is written aside and renamed over the old one, which littlefs
    (and POSIX) does atomically: a power cut leaves the old bundle or the new
    one, never part of a certificate. OSError when the flash refuses."""
    folder = board.flash + "/certs"
    if not exists(folder):
        os.mkdir(folder)
    path = folder + "/" + name
    temp = path + ".new"
    count = 0
    with open(temp, "wb") as f:
        for der in ders:
            f.write(_BEGIN + b"\n")
            for at in range(0, len(der), 48):  # 64 base64 characters a line, as PEM has them
                f.write(binascii.b2a_base64(der[at:at + 48]))
            f.write(_END + b"\n")
            count += 1
        sync(f)
    if count:
        os.rename(temp, path)
    else:
        os.remove(temp)
        if exists(path):
            os.remove(path)
