"""X.509 v3 certificates (RFC 5280) read on the device, for the certificate
store (M03-M05) and the firmware signing chain (L01).

MicroPython's TLS checks a server's chain but offers no way to look into a
certificate, so the little the agent needs is read here with der.py: the
names, the serial number and the issuer key bits that certificateHashData
is made of, the validity, basicConstraints, and the public key with which
pubkey.verify checks the signature of another certificate. Loaded on demand
with its callers, never at start-up.
"""
import binascii

from . import der
from .clock import parse

# DER of the object identifiers we act on
_SHA256_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"  # 1.2.840.113549.1.1.11
_SHA256_ECDSA = b"\x2a\x86\x48\xce\x3d\x04\x03\x02"  # 1.2.840.10045.4.3.2
_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"  # 1.2.840.113549.1.1.1
_EC = b"\x2a\x86\x48\xce\x3d\x02\x01"  # 1.2.840.10045.2.1
_P256 = b"\x2a\x86\x48\xce\x3d\x03\x01\x07"  # 1.2.840.10045.3.1.7
_BASIC_CONSTRAINTS = b"\x55\x1d\x13"  # 2.5.29.19


def pem_blocks(text):
    """The DER of every CERTIFICATE block in a PEM text (str or bytes), in
    order; ValueError when a block is cut short or not base64."""
    if isinstance(text, str):
        text = text.encode()
    out = []
    begin = b"-----BEGIN CERTIFICATE-----"
    pos = text.find(begin)
    while pos >= 0:
        start = pos + len(begin)
        stop = text.find(b"-----END CERTIFICATE-----", start)
        if stop < 0:
            raise ValueError("PEM: no END line")
        body = text[start:stop]
        for blank in (b"\r", b"\n", b" ", b"\t"):
            body = body.replace(blank, b"")
        if not body or len(body) % 4:
            raise ValueError("PEM: bad base64")
        try:
            out.append(binascii.a2b_base64(body))
        except ValueError:  # binascii.Error is a ValueError on CPython
            raise ValueError("PEM: bad base64")
        pos = text.find(begin, stop)
    return out


def _time(buf, element):
    """Unix seconds of a UTCTime or GeneralizedTime in the form RFC 5280
    4.1.2.5 requires (Z, no fractions)."""
    tag, start, stop = element
    text = bytes(buf[start:stop]).decode()
    if tag == 0x17 and len(text) == 13:  # UTCTime: YY < 50 is 20YY
        text = ("20" if text < "50" else "19") + text
    elif tag != 0x18 or len(text) != 15:
        raise ValueError("X.509: bad time")
    if text[14] != "Z":
        raise ValueError("X.509: time not in UTC")
    return parse("%s-%s-%sT%s:%s:%sZ" % (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14]))


def _algorithm(buf, element):
    """The OID's DER of an AlgorithmIdentifier, and its parameters element
    (None when absent)."""
    parts = der.children(buf, element[1], element[2])
    if not 1 <= len(parts) <= 2 or parts[0][0] != der.OID:
        raise ValueError("X.509: bad AlgorithmIdentifier")
    return bytes(buf[parts[0][1]:parts[0][2]]), (parts[1] if len(parts) == 2 else None)


def _bits(buf, element):
    """(start, stop) of a BIT STRING's whole bytes, without the unused-bits count."""
    tag, start, stop = element
    if tag != der.BIT_STRING or stop <= start or buf[start] != 0:
        raise ValueError("X.509: bad BIT STRING")
    return start + 1, stop


class Certificate:
    """One X.509 v3 certificate, from its DER; ValueError for anything else.

    der        the certificate as given (bytes)
    tbs        memoryview of the tbsCertificate's DER, which the signature covers
    sig_alg    "rsa-sha256", "ecdsa-sha256", or None for another algorithm
               (read, but no signature by it verifies)
    signature  bytes; for ECDSA the DER SEQUENCE(r, s)
    serial     bytes of the serial number, without a leading sign zero
    issuer, subject   DER of each Name (bytes)
    key        ("rsa", n, e), ("ec", x, y) on P-256, or None for another key
    key_bits   the subjectPublicKey BIT STRING's bytes (issuerKeyHash)
    not_before, not_after   Unix seconds
    is_ca      basicConstraints cA
    """

    def __init__(self, data):
        self.der = data = bytes(data)
        end = len(data)
        _, start, stop = der.read(data, 0, end, der.SEQUENCE)
        if stop != end:
            raise ValueError("X.509: bytes after the certificate")
        parts = der.children(data, start, stop)
        if len(parts) != 3 or parts[0][0] != der.SEQUENCE or parts[1][0] != der.SEQUENCE:
            raise ValueError("X.509: not a certificate")
        tbs, outer_alg, sig = parts
        self.tbs = memoryview(data)[_whole(tbs):tbs[2]]
        alg, params = _algorithm(data, outer_alg)
        self.sig_alg = ("rsa-sha256" if alg == _SHA256_RSA and (params is None or params[0] == 0x05)
                        else "ecdsa-sha256" if alg == _SHA256_ECDSA and params is None else None)
        start, stop = _bits(data, sig)
        self.signature = data[start:stop]
        self._tbs(data, der.children(data, tbs[1], tbs[2]), outer_alg)

    def _tbs(self, data, fields, outer_alg):
        if len(fields) < 7 or fields[0][0] != 0xA0:
            raise ValueError("X.509: not version 3")
        version = der.children(data, fields[0][1], fields[0][2])
        if len(version) != 1 or data[version[0][1]:version[0][2]] != b"\x02":
            raise ValueError("X.509: not version 3")
        serial, alg, issuer, validity, subject, spki = fields[1:7]
        if serial[0] != der.INTEGER or serial[2] == serial[1]:
            raise ValueError("X.509: bad serial number")
        start = serial[1] + (data[serial[1]] == 0 and serial[2] - serial[1] > 1)
        self.serial = data[start:serial[2]]
        if data[alg[1]:alg[2]] != data[outer_alg[1]:outer_alg[2]] or alg[0] != der.SEQUENCE:
            raise ValueError("X.509: the two signature algorithms differ")  # RFC 5280 4.1.1.2
        for name in issuer, subject:
            if name[0] != der.SEQUENCE:
                raise ValueError("X.509: bad Name")
        self.issuer = data[_whole(issuer):issuer[2]]
        self.subject = data[_whole(subject):subject[2]]
        times = der.children(data, validity[1], validity[2])
        if validity[0] != der.SEQUENCE or len(times) != 2:
            raise ValueError("X.509: bad validity")
        self.not_before = _time(data, times[0])
        self.not_after = _time(data, times[1])
        self._key(data, spki)
        self.is_ca = False
        for field in fields[7:]:
            if field[0] == 0xA3:
                self._extensions(data, field)
            elif field[0] not in (0x81, 0xA1, 0x82, 0xA2):  # the unique IDs
                raise ValueError("X.509: unexpected field")

    def _key(self, data, spki):
        parts = der.children(data, spki[1], spki[2])
        if spki[0] != der.SEQUENCE or len(parts) != 2 or parts[0][0] != der.SEQUENCE:
            raise ValueError("X.509: bad SubjectPublicKeyInfo")
        alg, params = _algorithm(data, parts[0])
        start, stop = _bits(data, parts[1])
        self.key_bits = data[start:stop]
        self.key = None
        if alg == _RSA:
            _, s, e = der.read(data, start, stop, der.SEQUENCE)
            numbers = der.children(data, s, e)
            if e != stop or len(numbers) != 2 or numbers[0][0] != der.INTEGER or numbers[1][0] != der.INTEGER:
                raise ValueError("X.509: bad RSA key")
            n, e = (int.from_bytes(der.positive(data, x[1], x[2]), "big") for x in numbers)
            self.key = ("rsa", n, e)
        elif alg == _EC and params and params[0] == der.OID and data[params[1]:params[2]] == _P256:
            if stop - start == 65 and data[start] == 4:  # uncompressed point
                self.key = ("ec", int.from_bytes(data[start + 1:start + 33], "big"),
                            int.from_bytes(data[start + 33:stop], "big"))

    def _extensions(self, data, field):
        _, start, stop = der.read(data, field[1], field[2], der.SEQUENCE)
        for ext in der.children(data, start, stop):
            parts = der.children(data, ext[1], ext[2])
            if ext[0] != der.SEQUENCE or not 2 <= len(parts) <= 3 or parts[0][0] != der.OID \
                    or parts[-1][0] != der.OCTET_STRING:
                raise ValueError("X.509: bad extension")
            if data[parts[0][1]:parts[0][2]] == _BASIC_CONSTRAINTS:
                value = parts[-1]
                _, s, e = der.read(data, value[1], value[2], der.SEQUENCE)
                inside = der.children(data, s, e)
                self.is_ca = bool(inside) and inside[0][0] == 0x01 and data[inside[0][1]:inside[0][2]] == b"\xff"


def _whole(element):
    """Where the element whose contents start at element[1] begins: its tag."""
    length = element[2] - element[1]
    return element[1] - 2 - (length > 127) - (length > 255) - (length > 65535)


def signed_by(cert, issuer):
    """True when `issuer` issued `cert`: the names chain, the issuer is a CA,
    and cert's signature over its tbsCertificate verifies with the issuer's key."""
    from hashlib import sha256

    from .pubkey import verify

    if cert.issuer != issuer.subject or not issuer.is_ca or issuer.key is None:
        return False
    kind = {"rsa-sha256": "rsa", "ecdsa-sha256": "ec"}.get(cert.sig_alg)
    if kind != issuer.key[0]:
        return False
    return verify(issuer.key, sha256(cert.tbs).digest(), cert.signature)
