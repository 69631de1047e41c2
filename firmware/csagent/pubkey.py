"""Signature verification in the agent's own code: MicroPython has no
public-key API, and a firmware signature (L01) or a certificate chain must be
checked on the device.

RSA PKCS#1 v1.5 (RFC 8017 8.2.2, EMSA-PKCS1-v1_5 with SHA-256) and ECDSA on
P-256 (FIPS 186-4 6.4, SEC 1 4.1.4), with MicroPython's long ints: pow() with
a modulus exists on every port we build (MICROPY_PY_BUILTINS_POW3 comes with
the extra-features level of the rp2, esp32 and unix ports). Verification
only: no secret is handled here, so timing does not matter. Loaded on demand.
"""
from . import der

# SHA-256's DigestInfo up to the digest (RFC 8017 9.2 note 1), parameters NULL
_DIGEST_INFO = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
_RSA_BITS = 2048  # the smallest modulus accepted

# P-256 (FIPS 186-4 D.1.2.3): y^2 = x^3 - 3x + b over GF(p), group order n
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
_GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def verify(key, digest, signature):
    """True when `signature` (bytes) is `key`'s signature of a message whose
    SHA-256 is `digest`; key is ("rsa", n, e) or ("ec", x, y) on P-256, as
    x509.Certificate.key gives it. Anything malformed is False, never an
    exception."""
    try:
        if len(digest) != 32:
            return False
        if key[0] == "rsa":
            return _rsa(key[1], key[2], digest, bytes(signature))
        if key[0] == "ec":
            return _ecdsa(key[1], key[2], digest, signature)
    except (ValueError, TypeError, IndexError):
        pass
    return False


def _size(n):
    """Bytes of n > 0 in big-endian form. MicroPython's int has no
    bit_length(), and bin(n) of a 2048-bit n is a 2 KB string: a fragmented
    heap may refuse that piece. A binary search on shifts instead."""
    low, high = 0, 1
    while n >> (8 * high):
        low, high = high, 2 * high
    while high - low > 1:  # n >> 8 * low is not 0, n >> 8 * high is
        mid = (low + high) // 2
        if n >> (8 * mid):
            low = mid
        else:
            high = mid
    return high


def _rsa(n, e, digest, signature):
    size = _size(n)
    if not n >> (_RSA_BITS - 1) or len(signature) != size or e < 3 or not e & 1:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    # the whole encoded message is built and compared: no parsing of padding
    expected = b"\x00\x01" + b"\xff" * (size - 3 - len(_DIGEST_INFO) - 32) + b"\x00" + _DIGEST_INFO + bytes(digest)
    return pow(s, e, n).to_bytes(size, "big") == expected


def _ecdsa(qx, qy, digest, signature):
    _, start, stop = der.read(signature, 0, len(signature), der.SEQUENCE)
    parts = der.children(signature, start, stop)
    if stop != len(signature) or len(parts) != 2 or parts[0][0] != der.INTEGER or parts[1][0] != der.INTEGER:
        return False
    r, s = (int.from_bytes(der.positive(signature, p[1], p[2]), "big") for p in parts)
    if not (0 < r < _N and 0 < s < _N and 0 <= qx < _P and 0 <= qy < _P):
        return False
    if (qy * qy - qx * qx * qx + 3 * qx - _B) % _P:
        return False  # not on the curve
    w = pow(s, _N - 2, _N)
    e = int.from_bytes(digest, "big")
    x = _shamir(e * w % _N, (_GX, _GY, 1), r * w % _N, (qx, qy, 1))
    return x is not None and x % _N == r


def _shamir(u1, g, u2, q):
    """The affine x of u1*G + u2*Q (None at infinity), one doubling per bit."""
    both = _add(g, q)
    acc = None
    for bit in range(255, -1, -1):  # doubling infinity costs nothing
        acc = _double(acc)
        pick = (u1 >> bit & 1) | (u2 >> bit & 1) << 1
        if pick:
            acc = _add(acc, (g, q, both)[pick - 1])
    if acc is None:
        return None
    zinv = pow(acc[2], _P - 2, _P)
    return acc[0] * zinv * zinv % _P


# Jacobian coordinates (X, Y, Z) stand for (X/Z^2, Y/Z^3); None is infinity.
def _double(pt):
    if pt is None or pt[1] == 0:
        return None
    x, y, z = pt
    delta = z * z % _P
    gamma = y * y % _P
    beta = x * gamma % _P
    alpha = 3 * (x - delta) * (x + delta) % _P  # a = -3
    x3 = (alpha * alpha - 8 * beta) % _P
    z3 = ((y + z) * (y + z) - gamma - delta) % _P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % _P
    return x3, y3, z3


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1 = z1 * z1 % _P
    z2z2 = z2 * z2 % _P
    u1 = x1 * z2z2 % _P
    u2 = x2 * z1z1 % _P
    s1 = y1 * z2 * z2z2 % _P
    s2 = y2 * z1 * z1z1 % _P
    h = (u2 - u1) % _P
    r = (s2 - s1) % _P
    if h == 0:
        return _double(p1) if r == 0 else None
    hh = h * h % _P
    hhh = h * hh % _P
    v = u1 * hh % _P
    x3 = (r * r - hhh - 2 * v) % _P
    y3 = (r * (v - x3) - s1 * hhh) % _P
    return x3, y3, z1 * z2 * h % _P
