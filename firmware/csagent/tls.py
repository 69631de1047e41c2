"""TLS client contexts for wss://, certificate and host name checks always on.

CPython's ssl (OpenSSL) and MicroPython's (mbedTLS) take certificates
differently; the difference is detected by feature. MicroPython refuses PEM
("invalid cert"), so PEM is turned into DER here, one certificate per call.
MicroPython checks the host name through open_connection's server_hostname,
which defaults to the URL's host.
"""
import binascii


def pem_to_der(data, label=b"CERTIFICATE"):
    """DER bodies of the PEM blocks in `data` (bytes) whose BEGIN line names
    `label`; DER input is returned as [data]."""
    if b"-----BEGIN" not in data:
        return [data]
    out = []
    for block in data.split(b"-----BEGIN")[1:]:
        eol = block.find(b"\n")
        if label in block[:eol]:
            body = block[eol + 1:block.find(b"-----END")]
            out.append(binascii.a2b_base64(body.replace(b"\r", b"").replace(b"\n", b"")))
    return out


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def client_context(cafile=None, cadata=None, certfile=None, keyfile=None):
    """SSL context that requires a valid server certificate for the host name.
    cafile/cadata: trusted CA(s), PEM or DER; certfile/keyfile: client
    certificate and key for security profile 3 (PEM; DER also on MicroPython)."""
    import ssl  # here, not at import: the agent loads this module at start (agent._ON_DEMAND)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # MicroPython's SSLContext starts at CERT_NONE
    openssl = hasattr(ctx, "check_hostname")
    if openssl:
        ctx.check_hostname = True
    cas = []
    if cafile:
        cas += pem_to_der(_read(cafile))
    if cadata:
        cas += pem_to_der(cadata.encode() if isinstance(cadata, str) else cadata)
    for der in cas:
        ctx.load_verify_locations(cadata=der)
    if not cas:
        if not openssl:
            raise ValueError("no CA certificate given and MicroPython has no system store")
        ctx.load_default_certs()
    if certfile:
        if openssl:
            ctx.load_cert_chain(certfile, keyfile)
        else:  # mbedTLS takes the leaf certificate and the key as DER bytes
            cert = pem_to_der(_read(certfile))
            key = pem_to_der(_read(keyfile or certfile), b"PRIVATE KEY")
            if not cert or not key:
                raise ValueError("no certificate or no private key in certfile/keyfile")
            ctx.load_cert_chain(cert[0], key[0])
    return ctx
