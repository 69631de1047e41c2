"""csagent.x509 and csagent.pubkey against `cryptography`: the committed
vectors are what cryptography says they are; the dual tests pass on fresh
keys on CPython, the 64-bit unix port and the stock 32-bit unix port; and on
random tamperings our verdict is cryptography's."""
import hashlib
import os
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography import x509 as cx
from hypothesis import given, settings, strategies as st

import crypto_vectors_gen as gen
from conftest import ROOT, run_micropython
from csagent import pubkey, x509

DUAL = os.path.join(ROOT, "host_tests", "dual")
sys.path.insert(0, DUAL)
import crypto_vectors as committed  # noqa: E402

UNIX32 = os.path.join(ROOT, "build", "firmware", "unix32", "micropython-stock")
PAIRS = (("RSA_ROOT", "RSA_ROOT"), ("EC_ROOT", "EC_ROOT"), ("RSA_LEAF", "RSA_ROOT"), ("EC_LEAF", "EC_ROOT"),
         ("EC_UNDER_RSA", "RSA_ROOT"), ("RSA_UNDER_EC", "EC_ROOT"))


def theirs_verify(public_key, message, sig):
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(sig, message, ec.ECDSA(hashes.SHA256()))
        else:
            public_key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def test_committed_vectors_are_what_cryptography_says():
    for child, parent in PAIRS:
        cert = cx.load_der_x509_certificate(getattr(committed, child))
        issuer = cx.load_der_x509_certificate(getattr(committed, parent))
        assert theirs_verify(issuer.public_key(), cert.tbs_certificate_bytes, cert.signature)
        assert gen.facts(cert) == getattr(committed, child + "_FACTS")
    for root, sig in (("RSA_ROOT", committed.RSA_SIG), ("EC_ROOT", committed.EC_SIG)):
        key = cx.load_der_x509_certificate(getattr(committed, root)).public_key()
        assert theirs_verify(key, committed.MESSAGE, sig)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A directory with crypto_vectors.py made now, from new keys."""
    path = tmp_path_factory.mktemp("vectors")
    gen.write(str(path / "crypto_vectors.py"), gen.make())
    return str(path)


@pytest.mark.parametrize("module", ["test_x509", "test_pubkey"])
def test_dual_tests_on_fresh_keys_on_cpython(module, fresh):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([fresh, DUAL, os.path.join(ROOT, "firmware")]))
    r = subprocess.run([sys.executable, os.path.join(DUAL, "runner.py"), module], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0 and " 0 failed" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("port", ["unix64", "unix32"])
@pytest.mark.parametrize("module", ["test_x509", "test_pubkey"])
def test_dual_tests_on_fresh_keys_on_micropython(module, port, fresh, host_build):
    """unix32 is the stock 32-bit port `make firmware BOARD=unix32` builds:
    a board's 32-bit digits in the long ints."""
    args = [os.path.join(DUAL, "runner.py"), module]
    if port == "unix32":
        if not os.path.exists(UNIX32):
            pytest.skip("no 32-bit unix port: make firmware BOARD=unix32 builds it")
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([fresh, DUAL, host_build, ".frozen"]))
        r = subprocess.run([UNIX32, "-X", "heapsize=512K"] + args, capture_output=True, text=True, env=env,
                           timeout=300)
    else:
        r = run_micropython(args, [fresh, DUAL, host_build], heap="512K", timeout=300)
    assert r.returncode == 0 and " 0 failed" in r.stdout, r.stdout + r.stderr


KEYS = {"rsa": (committed.RSA_ROOT, committed.RSA_SIG), "ec": (committed.EC_ROOT, committed.EC_SIG)}
edits = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(KEYS)), changes=edits, cut=st.integers(-3, 3), message=st.binary(max_size=8))
def test_verdicts_on_tampered_signatures_are_cryptographys(kind, changes, cut, message):
    cert_der, sig = KEYS[kind]
    sig = bytearray(sig)
    for at, byte in changes:
        sig[at % len(sig)] = byte
    sig = bytes(sig[:len(sig) + cut] if cut < 0 else sig + bytes(cut))
    message = committed.MESSAGE + message
    theirs = theirs_verify(cx.load_der_x509_certificate(cert_der).public_key(), message, sig)
    assert pubkey.verify(x509.Certificate(cert_der).key, hashlib.sha256(message).digest(), sig) == theirs


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([p[0] for p in PAIRS]), changes=edits, cut=st.integers(0, 40))
def test_mangled_certificates_parse_or_are_value_errors(name, changes, cut):
    data = bytearray(getattr(committed, name))
    for at, byte in changes:
        data[at * 7 % len(data)] = byte
    try:
        x509.Certificate(bytes(data[:len(data) - cut]))
    except ValueError:
        pass
