"""Test vectors for csagent.x509 and csagent.pubkey, made with `cryptography`:
two CAs (RSA-2048, ECDSA P-256), a leaf under each, a leaf of each key type
under the other CA, and a signature of each key over one message, with what
cryptography reads from each certificate.

host_tests/dual/crypto_vectors.py, which the dual tests read on every
runtime (the unix port and the emulated Pico W have no cryptography), is
this module's output: `.venv/bin/python host_tests/crypto_vectors_gen.py`
writes it again. test_crypto_interop.py checks it against cryptography, and
runs the same dual tests on freshly generated keys.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

MESSAGE = b"csagent bundle bytes"
HERE = os.path.dirname(os.path.abspath(__file__))
DUAL_VECTORS = os.path.join(HERE, "dual", "crypto_vectors.py")


def new_key(kind):
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())


def sign(key, message):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def certificate(key, subject, issuer_key=None, issuer=None, ca=False, days=36500):
    """A v3 certificate for key's public half, signed by issuer_key (itself
    when None), valid from 2026 for `days` (past 2050: a GeneralizedTime)."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "csagent tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(issuer_key or key, hashes.SHA256())


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def facts(cert):
    """What x509.Certificate must read, as cryptography reads it."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        ours = ("rsa", numbers.n, numbers.e)
    else:
        numbers = key.public_numbers()
        bits = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        ours = ("ec", numbers.x, numbers.y)
    return {
        "serial": cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, "big"),
        "issuer": cert.issuer.public_bytes(), "subject": cert.subject.public_bytes(),
        "not_before": int(cert.not_valid_before_utc.timestamp()),
        "not_after": int(cert.not_valid_after_utc.timestamp()),
        "is_ca": cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca,
        "key": ours, "key_bits": bits,
        "sig_alg": "rsa-sha256" if cert.signature_algorithm_oid.dotted_string.endswith(".1.1.11") else "ecdsa-sha256",
        "signature": cert.signature,
    }


def make():
    """Fresh vectors: {name: value}, as crypto_vectors.py holds them."""
    rsa_key, ec_key = new_key("rsa"), new_key("ec")
    rsa_root = certificate(rsa_key, "RSA root", ca=True)
    ec_root = certificate(ec_key, "EC root", ca=True)
    certs = {"RSA_ROOT": rsa_root, "EC_ROOT": ec_root,
             "RSA_LEAF": certificate(new_key("rsa"), "RSA leaf", rsa_key, rsa_root, days=365),
             "EC_LEAF": certificate(new_key("ec"), "EC leaf", ec_key, ec_root, days=365),
             "EC_UNDER_RSA": certificate(new_key("ec"), "EC under RSA", rsa_key, rsa_root),
             "RSA_UNDER_EC": certificate(new_key("rsa"), "RSA under EC", ec_key, ec_root)}
    out = {"MESSAGE": MESSAGE, "RSA_SIG": sign(rsa_key, MESSAGE), "EC_SIG": sign(ec_key, MESSAGE)}
    for name, cert in certs.items():
        out[name] = der(cert)
        out[name + "_FACTS"] = facts(cert)
    out["CHAIN_PEM"] = (rsa_root.public_bytes(serialization.Encoding.PEM)
                        + certs["RSA_LEAF"].public_bytes(serialization.Encoding.PEM)).decode()
    return out


def write(path, vectors):
    with open(path, "w") as f:
        f.write('"""Made by host_tests/crypto_vectors_gen.py with `cryptography`; do not edit."""\n')
        for name, value in vectors.items():
            f.write("%s = %r\n" % (name, value))


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else DUAL_VECTORS, make())
