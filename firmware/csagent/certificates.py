"""The station's trust store managed by the CSMS (M03, M04, M05):
InstallCertificate, GetInstalledCertificateIds and DeleteCertificate for the
CSMS roots (which TLS trusts, security profiles 2 and 3) and the
manufacturer roots (which firmware signing certificates chain to, L01).

The certificates live in the board's PEM bundles (cert_store.py). x509
parses each: this module and x509 are loaded for a request only.
certificateHashData is computed here, on the device.
"""
import binascii
from hashlib import sha256

from .cert_store import BUNDLES, count, read, write
from .compat import const
from .log import log

_SEC = const("SecurityCtrlr")
_ENTRIES = const("CertificateEntries")
_SECURITY_PROFILE = const("SecurityProfile")
_CSMS = const("CSMSRootCertificate")


def _bundle(kind):
    for name, file in BUNDLES:
        if name == kind:
            return file
    return None


def _answer(status, reason=None, info=None):
    out = {"status": status}
    if reason:
        out["statusInfo"] = {"reasonCode": reason, "additionalInfo": info[:512]}
        log("certificate", status, reason)
    return out


def _hex(data):
    return binascii.hexlify(data).decode()


def hash_data(cert):
    """certificateHashData of an installed root (issuer = itself), SHA-256:
    the issuer Name's DER, the issuer key's bits, the serial in hex without
    leading zeroes."""
    return {"hashAlgorithm": "SHA256", "issuerNameHash": _hex(sha256(cert.issuer).digest()),
            "issuerKeyHash": _hex(sha256(cert.key_bits).digest()),
            "serialNumber": _hex(cert.serial).lstrip("0") or "0"}


def _same(ours, theirs):
    """Whether a request's certificateHashData names our certificate (hex
    compared without regard to case or leading zeroes)."""
    if theirs["hashAlgorithm"] != "SHA256":
        return False  # M04.FR.07: the CSMS uses the algorithm we reported
    for field in ("issuerNameHash", "issuerKeyHash", "serialNumber"):
        if ours[field].lstrip("0") != theirs[field].lower().lstrip("0"):
            return False
    return True


def _installed(board, kinds):
    """(kind, position in its bundle, Certificate) of every installed
    certificate of `kinds`; one x509 cannot read (put on at deploy time) is
    left out, and logged."""
    from .x509 import Certificate
    for kind, file in BUNDLES:
        if kind in kinds:
            for at, der in enumerate(read(board, file)):
                try:
                    yield kind, at, Certificate(der)
                except ValueError as e:
                    log("certificate", "unreadable", file, at, e)


def install(payload, model, board, ws):
    """InstallCertificate (M05): a CA certificate, valid now, whose own
    signature verifies, goes into its bundle. One signed with an algorithm
    pubkey cannot check is refused: nothing would tell it from a corrupted one.
    A CSMS root is noted on the live WebSocket `ws`: it cannot have verified
    that link (see _in_use)."""
    from .x509 import Certificate, pem_blocks, signed_by
    kind = payload["certificateType"]
    file = _bundle(kind)
    if file is None:  # no ISO 15118 on this station: no V2G or MO roots to keep
        return _answer("Rejected", "UnsupportedCertType", kind + " is not kept by this station")
    try:
        blocks = pem_blocks(payload["certificate"])
        if len(blocks) != 1:
            raise ValueError("%d PEM certificates, one expected" % len(blocks))
        cert = Certificate(blocks[0])
    except ValueError as e:  # M05.FR.07: not a valid certificate
        return _answer("Rejected", "InvalidCertificate", str(e))
    now = board.time()
    problem = ("not a CA certificate" if not cert.is_ca
               else "not a root: its issuer is not its subject" if cert.issuer != cert.subject
               else "its signature does not verify (RSA or ECDSA P-256 with SHA-256)" if not signed_by(cert, cert)
               else "expired" if now > cert.not_after
               else "not valid yet" if now < cert.not_before else None)
    if problem:
        return _answer("Rejected", "InvalidCertificate", problem)
    if any([have.der == cert.der for _, _, have in _installed(board, (kind,))]):  # each read to the end
        return _answer("Accepted")  # already there: installed once
    limit = (model.characteristics(_SEC, _ENTRIES) or {}).get("maxLimit")
    if limit is not None and count(board) >= int(limit):  # M05.FR.06
        return _answer("Rejected", "CertificateEntries", "the store holds its maximum of %s certificates" % limit)
    try:
        write(board, file, _with(read(board, file), cert.der))
    except OSError as e:  # M05.FR.03
        return _answer("Failed", "WriteFailed", "the certificate could not be stored: %r" % (e,))
    if kind == _CSMS and ws is not None:
        ws.new_roots = getattr(ws, "new_roots", ()) + (sha256(cert.der).digest(),)
    log("certificate", "installed", kind)
    return _answer("Accepted")  # M05.FR.02


def _with(ders, extra):
    for der in ders:
        yield der
    yield extra


def installed(payload, board):
    """GetInstalledCertificateIds (M03): the hash data of each certificate of
    the types asked for (all when none are given)."""
    kinds = payload.get("certificateType") or [kind for kind, _ in BUNDLES]
    chain = [{"certificateType": kind, "certificateHashData": hash_data(cert)} for kind, _, cert in _installed(board, kinds)]
    if not chain:
        return {"status": "NotFound"}  # M03.FR.02
    return {"status": "Accepted", "certificateHashDataChain": chain}  # M03.FR.03, M03.FR.04


def delete(payload, model, board, ws):
    """DeleteCertificate (M04): remove the certificate the hash data names,
    unless it is a CSMS root the connection up now depends on (Failed).
    The station's own client certificate is never among them (M04.FR.06)."""
    wanted = payload["certificateHashData"]
    for kind, file in BUNDLES:
        found = None
        for _, at, cert in _installed(board, (kind,)):  # read to the end: the bundle is rewritten next
            if found is None and _same(hash_data(cert), wanted):
                found = at, cert
        if found is None:
            continue
        if kind == _CSMS and _in_use(found[1], model, board, ws):
            return _answer("Failed", "CertificateInUse", "the connection to the CSMS is verified with it")
        try:
            write(board, file, _without(read(board, file), found[0]))
        except OSError as e:  # M04.FR.03
            return _answer("Failed", "WriteFailed", "the store could not be rewritten: %r" % (e,))
        log("certificate", "deleted", kind)
        return _answer("Accepted")  # M04.FR.02
    return _answer("NotFound")  # M04.FR.04


def _without(ders, index):
    for at, der in enumerate(ders):
        if at != index:
            yield der


def _in_use(root, model, board, ws):
    """Whether the live connection was verified with CSMS root `root`: it is
    secured by TLS (security profile 2 or 3) and the CSMS's certificate was
    issued by that root. Where the TLS stack keeps no server certificate
    (MicroPython's mbedTLS) or it was issued by none of our roots (an
    intermediate the server sent), every root counts as in use but one
    installed over this very link, after its handshake: deleting the wrong
    one would cut the station off."""
    if ws is None or (model.int_value(_SEC, _SECURITY_PROFILE, 1) or 1) < 2:
        return False
    from .x509 import Certificate
    try:
        issuer = Certificate(_peer_certificate(ws)).issuer
    except (ValueError, TypeError, AttributeError, OSError):
        issuer = None
    if issuer == root.subject:
        return True
    if issuer is not None and any([other.subject == issuer for _, _, other in _installed(board, (_CSMS,))]):
        return False  # another root issued it
    return sha256(root.der).digest() not in getattr(ws, "new_roots", ())


def _peer_certificate(ws):
    """The DER of the server certificate on the WebSocket's TLS stream:
    CPython's SSLObject, MicroPython's SSLSocket (asyncio Stream.s)."""
    writer = ws._w
    ssl = writer.get_extra_info("ssl_object") if hasattr(writer, "transport") else writer.s
    return ssl.getpeercert(True)
