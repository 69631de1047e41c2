"""csagent.pubkey on every runtime: signatures `cryptography` made
(crypto_vectors.py) verify; tampered, truncated, re-encoded or misplaced ones,
and malformed keys, are False, never an exception."""
import hashlib

import crypto_vectors as v
from csagent import der, pubkey
from csagent.x509 import Certificate

DIGEST = hashlib.sha256(v.MESSAGE).digest()
RSA_KEY = Certificate(v.RSA_ROOT).key
EC_KEY = Certificate(v.EC_ROOT).key
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's group order


def flipped(data, at, bit=1):
    return data[:at] + bytes([data[at] ^ bit]) + data[at + 1:]


def ecdsa_sig(r, s):
    """DER SEQUENCE(r, s), as ECDSA-Sig-Value is encoded."""
    def integer(x):
        body = x.to_bytes((len(bin(x)) - 2) // 8 + 1, "big")  # room for the sign bit
        return b"\x02" + bytes([len(body)]) + body
    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def r_s(sig):
    _, start, stop = der.read(sig, 0, len(sig), der.SEQUENCE)
    return [int.from_bytes(der.positive(sig, p[1], p[2]), "big") for p in der.children(sig, start, stop)]


def test_valid_signatures_verify():
    assert pubkey.verify(RSA_KEY, DIGEST, v.RSA_SIG)
    assert pubkey.verify(EC_KEY, DIGEST, v.EC_SIG)
    assert pubkey.verify(RSA_KEY, DIGEST, bytearray(v.RSA_SIG))
    assert pubkey.verify(EC_KEY, DIGEST, memoryview(v.EC_SIG))


def test_another_message_or_key_is_refused():
    other = hashlib.sha256(v.MESSAGE + b".").digest()
    assert not pubkey.verify(RSA_KEY, other, v.RSA_SIG)
    assert not pubkey.verify(EC_KEY, other, v.EC_SIG)
    assert not pubkey.verify(Certificate(v.RSA_LEAF).key, DIGEST, v.RSA_SIG)
    assert not pubkey.verify(Certificate(v.EC_LEAF).key, DIGEST, v.EC_SIG)
    assert not pubkey.verify(RSA_KEY, DIGEST, v.EC_SIG)
    assert not pubkey.verify(EC_KEY, DIGEST, v.RSA_SIG)


def test_rsa_flipped_bits_are_refused():
    for at in range(0, len(v.RSA_SIG), 3):
        assert not pubkey.verify(RSA_KEY, DIGEST, flipped(v.RSA_SIG, at, 1 << at % 8)), at
    for at in range(0, 32, 5):
        assert not pubkey.verify(RSA_KEY, flipped(DIGEST, at), v.RSA_SIG), at


def test_ecdsa_flipped_bits_are_refused():
    for at in range(0, len(v.EC_SIG), 9):
        assert not pubkey.verify(EC_KEY, DIGEST, flipped(v.EC_SIG, at, 1 << at % 8)), at
    assert not pubkey.verify(EC_KEY, flipped(DIGEST, 31), v.EC_SIG)


def test_rsa_wrong_lengths_and_values_are_refused():
    n = RSA_KEY[1]
    for sig in (b"", v.RSA_SIG[:-1], v.RSA_SIG + b"\x00", b"\x00" + v.RSA_SIG[:-1], bytes(256),
                n.to_bytes(256, "big"), (n + 1).to_bytes(256, "big"), b"\xff" * 256):
        assert not pubkey.verify(RSA_KEY, DIGEST, sig)
    s = int.from_bytes(v.RSA_SIG, "big")
    assert not pubkey.verify(RSA_KEY, DIGEST, (s + n).to_bytes(257, "big"))  # same value mod n, too long
    small = ("rsa", n >> 1032, 65537)  # a 1024-bit modulus is too weak
    assert not pubkey.verify(small, DIGEST, v.RSA_SIG[:128])


def test_ecdsa_encodings_and_values_are_checked():
    r, s = r_s(v.EC_SIG)
    assert ecdsa_sig(r, s) == v.EC_SIG
    assert pubkey.verify(EC_KEY, DIGEST, ecdsa_sig(r, N - s))  # ECDSA's other valid s
    for sig in (ecdsa_sig(s, r), ecdsa_sig(r, s + N), ecdsa_sig(r + N, s), ecdsa_sig(0, s), ecdsa_sig(r, 0),
                ecdsa_sig(N, s), v.EC_SIG + b"\x00", v.EC_SIG[:-1], b"", b"\x30\x00",
                b"\x30\x80" + v.EC_SIG[2:] + b"\x00\x00"):  # indefinite length: BER, not DER
        assert not pubkey.verify(EC_KEY, DIGEST, sig)
    padded = v.EC_SIG[4:4 + v.EC_SIG[3]]
    body = b"\x02" + bytes([len(padded) + 1]) + b"\x00" + padded + v.EC_SIG[4 + v.EC_SIG[3]:]
    assert not pubkey.verify(EC_KEY, DIGEST, b"\x30" + bytes([len(body)]) + body)  # non-minimal integer


def test_bad_keys_and_arguments_are_false():
    x, y = EC_KEY[1], EC_KEY[2]
    for key, digest, sig in ((("ec", x, y + 1), DIGEST, v.EC_SIG),  # not on the curve
                             (("ec", x, y), DIGEST[:31], v.EC_SIG),
                             (("dsa", 1, 2), DIGEST, v.EC_SIG), (None, DIGEST, v.EC_SIG), ((), DIGEST, v.EC_SIG),
                             (("rsa", RSA_KEY[1], 2), DIGEST, v.RSA_SIG), (("rsa", RSA_KEY[1]), DIGEST, v.RSA_SIG),
                             (RSA_KEY, DIGEST, None), (EC_KEY, DIGEST, 5), (EC_KEY, None, v.EC_SIG)):
        assert pubkey.verify(key, digest, sig) is False, (key, sig)
