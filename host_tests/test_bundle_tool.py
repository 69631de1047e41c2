"""tools/bundle.py: the bundle it writes reads back with the agent's own
reader, its .sig verifies with `cryptography` for RSA and EC P-256 keys,
and bad arguments get a one-line error and exit status 2."""
import base64
import hashlib
import os
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from conftest import ROOT

from csagent.bundle import header

TOOL = os.path.join(ROOT, "tools", "bundle.py")


def bundle_tool(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_bundle_and_signature(tmp_path, kind):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import bundle
    root, signing, key = bundle.test_pki(str(tmp_path / "pki"), kind)
    out = str(tmp_path / "b.bundle")
    r = bundle_tool("--version", "2.0.0-" + kind, "--key", key, "--out", out)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        version, count = header(f)
        data = f.read()
    assert version == "2.0.0-" + kind
    names = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "firmware", "csagent")) if n.endswith(".py"))
    assert count == len(names)
    with open(out, "rb") as f:
        digest = hashlib.sha256(f.read()).digest()
    with open(out + ".sig") as f:
        signature = base64.b64decode(f.read())
    with open(signing, "rb") as f:
        public = x509.load_pem_x509_certificate(f.read()).public_key()
    if kind == "rsa":
        public.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    else:
        public.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    assert data  # the files follow the table


def test_bad_arguments_get_one_line(tmp_path):
    out = str(tmp_path / "b.bundle")
    for args in (["--version", "1", "--out", out],  # no key
                 ["--version", "1", "--key", str(tmp_path / "none.pem"), "--out", out],
                 ["--version", "1", "--key", TOOL, "--out", out],  # not a key
                 ["--version", "1 2", "--test-pki", str(tmp_path / "pki"), "--out", out],
                 ["--version", "1", "--key", TOOL, "--test-pki", str(tmp_path / "pki"), "--out", out],
                 ["--version", "1", "--test-pki", str(tmp_path / "pki"), "--out", out, "--source", str(tmp_path)]):
        r = bundle_tool(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not os.path.exists(out)
