"""csagent.x509 on every runtime: it reads from certificates `cryptography`
made (crypto_vectors.py) what cryptography reads, chains a leaf to its CA
only, and answers anything else, cut or changed anywhere, with ValueError."""
import crypto_vectors as v
from csagent import x509

NAMES = ("RSA_ROOT", "EC_ROOT", "RSA_LEAF", "EC_LEAF", "EC_UNDER_RSA", "RSA_UNDER_EC")


def cert(name):
    return x509.Certificate(getattr(v, name))


def raises_value_error(fn, *args):
    try:
        fn(*args)
    except ValueError:
        return True
    return False


def test_fields_are_what_cryptography_reads():
    for name in NAMES:
        c, facts = cert(name), getattr(v, name + "_FACTS")
        assert c.der == getattr(v, name)
        for field in ("serial", "issuer", "subject", "not_before", "not_after", "is_ca", "key", "key_bits",
                      "sig_alg", "signature"):
            assert getattr(c, field) == facts[field], (name, field)
        assert bytes(c.tbs) in c.der and c.der.startswith(b"\x30") and len(c.tbs) < len(c.der)


def test_times_past_2049_are_generalized():
    assert cert("RSA_ROOT").not_after > 2524608000 > cert("RSA_LEAF").not_after  # 2050-01-01


def test_signed_by_chains_each_leaf_to_its_ca_only():
    pairs = {("RSA_LEAF", "RSA_ROOT"), ("EC_LEAF", "EC_ROOT"), ("EC_UNDER_RSA", "RSA_ROOT"),
             ("RSA_UNDER_EC", "EC_ROOT"), ("RSA_ROOT", "RSA_ROOT"), ("EC_ROOT", "EC_ROOT")}
    certs = dict((name, cert(name)) for name in NAMES)
    for child in NAMES:
        for parent in NAMES:
            assert x509.signed_by(certs[child], certs[parent]) == ((child, parent) in pairs), (child, parent)


def test_a_changed_subject_breaks_the_signature():
    data = v.RSA_LEAF
    at = data.find(b"RSA leaf")
    forged = x509.Certificate(data[:at] + b"RSA loaf" + data[at + 8:])
    assert forged.subject != cert("RSA_LEAF").subject
    assert not x509.signed_by(forged, cert("RSA_ROOT"))


def test_a_leaf_is_no_issuer():
    """The same name and key as a CA, but basicConstraints cA false."""
    root = cert("EC_ROOT")
    root.is_ca = False
    assert not x509.signed_by(cert("EC_LEAF"), root)


def test_pem_blocks():
    blocks = x509.pem_blocks(v.CHAIN_PEM)
    assert blocks == [v.RSA_ROOT, v.RSA_LEAF]
    assert x509.pem_blocks(v.CHAIN_PEM.encode()) == blocks
    assert x509.pem_blocks(v.CHAIN_PEM.replace("\n", "\r\n")) == blocks
    assert x509.pem_blocks("no PEM here") == []
    cut = v.CHAIN_PEM[:v.CHAIN_PEM.rfind("-----END")]
    assert raises_value_error(x509.pem_blocks, cut)
    assert raises_value_error(x509.pem_blocks, v.CHAIN_PEM.replace("MII", "MI", 1))
    assert raises_value_error(x509.pem_blocks, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")


def test_every_truncation_is_a_value_error():
    data = v.EC_LEAF
    for n in range(len(data)):
        assert raises_value_error(x509.Certificate, data[:n]), n
    assert raises_value_error(x509.Certificate, data + b"\x00")


def test_changed_bytes_parse_or_are_value_errors():
    """A byte set to 0x00, 0x80 or 0xff anywhere: a certificate, or ValueError."""
    data = v.EC_UNDER_RSA
    for at in range(len(data)):
        for byte in (0x00, 0x80, 0xFF):
            try:
                x509.Certificate(data[:at] + bytes([byte]) + data[at + 1:])
            except ValueError:
                pass


def test_what_is_not_a_v3_certificate():
    data = v.EC_ROOT
    at = data.find(b"\xa0\x03\x02\x01\x02")  # [0] { INTEGER 2 }: version 3
    v1 = data[:at + 4] + b"\x00" + data[at + 5:]
    for bad in (b"", b"\x30\x00", b"\x30\x03\x02\x01\x00", v1, data.replace(b"\x30\x82", b"\x30\x83\x00", 1),
                data[:1] + b"\x80" + data[2:]):
        assert raises_value_error(x509.Certificate, bad), bad[:8]
