"""The cases' shared steps (imported by every test module: its `case`
fixture): a station on the unix port against the tool's
CSMS (octt.py), brought to the "Booted" state of Part 6, and helpers for the
requests most cases send."""
import datetime
import hashlib
import itertools
import os
import time

import ssl as ssl_module

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from octt import Octt
from stations import StationProcess, defaults_with

PASSWORD = "conformance-pass-0001"
CONNECTORS = 1  # boards/host: EVSE 1, connector 1
_request_ids = itertools.count(100)


def var(component, variable, value=None, evse=None, variable_instance=None, **kw):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if evse is not None:
        d["component"]["evse"] = {"id": evse}
    if variable_instance is not None:
        d["variable"]["instance"] = variable_instance
    d.update(kw)
    if value is not None:
        d["attributeValue"] = value
    return d


class Pki:
    """The tool's certificates (trustme): a CSMS root the station is given,
    a stranger CA it does not know, server certificates for 127.0.0.1 and
    the station's client certificate (CN = its identity)."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.root, self.stranger = trustme.CA(), trustme.CA()
        self.ca_file = str(tmp_path / "csms_root.pem")
        self.root.cert_pem.write_to_path(self.ca_file)

    def server(self, trusted=True, maximum_version=None, client_certificates=False):
        """A server SSLContext: certificate from the root (or the stranger),
        TLS capped at `maximum_version`, client certificates required."""
        ctx = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_SERVER)
        (self.root if trusted else self.stranger).issue_cert("127.0.0.1").configure_cert(ctx)
        if maximum_version is not None:
            ctx.minimum_version = ssl_module.TLSVersion.TLSv1
            ctx.maximum_version = maximum_version
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # else OpenSSL refuses to offer the old version at all
        if client_certificates:
            self.root.configure_trust(ctx)
            ctx.verify_mode = ssl_module.CERT_REQUIRED
        return ctx

    def install_root(self, flash):
        """The CSMS root in the board's store (<flash>/certs/csms_root.pem)."""
        os.makedirs(os.path.join(str(flash), "certs"), exist_ok=True)
        self.root.cert_pem.write_to_path(os.path.join(str(flash), "certs", "csms_root.pem"))

    @property
    def root_pem(self):
        """The CSMS root as InstallCertificate carries it."""
        return self.root.cert_pem.bytes().decode()

    def install_client(self, flash, identity="CS001"):
        """A client certificate and key for security profile 3 in the board's
        store; its PEM."""
        cert = self.root.issue_cert(identity, common_name=identity)
        os.makedirs(os.path.join(str(flash), "certs"), exist_ok=True)
        cert.cert_chain_pems[0].write_to_path(os.path.join(str(flash), "certs", "client.pem"))
        cert.private_key_pem.write_to_path(os.path.join(str(flash), "certs", "client.key"))
        return cert.cert_chain_pems[0].bytes()


def hash_data(pem):
    """certificateHashData of a root certificate as the tool computes it
    (SHA-256 of its issuer Name's DER and of its own public key's bits, the
    serial in hex), with `cryptography`, never the agent's code."""
    cert = x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode())
    key = cert.public_key()
    bits = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint) \
        if isinstance(key, ec.EllipticCurvePublicKey) else \
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {"hashAlgorithm": "SHA256", "issuerNameHash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": hashlib.sha256(bits).hexdigest(), "serialNumber": "%x" % cert.serial_number}


def expired_root():
    """A self-signed CA certificate (PEM) whose validity ended yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "expired tool root")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def report(link, action, payload):
    """Send GetBaseReport/GetReport; (status, every reportData entry of its
    NotifyReports)."""
    rid = next(_request_ids)
    status = link.call(action, dict(payload, requestId=rid))["status"]
    entries = []
    while status == "Accepted":
        part = link.expect("NotifyReport", 20)
        assert part["requestId"] == rid
        entries += part.get("reportData", [])
        if not part.get("tbc"):
            break
    return status, entries


class Case:
    """One case's tool and station."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.octt = None
        self.station = None
        self.others = []  # further CSMSs of the tool (a second connectionData slot)

    @property
    def flash(self):
        return self.tmp_path / "flash"

    def start(self, boot=("Accepted",), interval=300, boot_interval=None, booted=True, ssl=None,
              password=PASSWORD, defaults=None, **station):
        """Start the tool and the station (its first start: install settings
        from the tool's URL). defaults: model values other than the host
        board's, as a configuration state set before the station starts."""
        self.octt = Octt(boot, interval, boot_interval, password=password, ssl=ssl)
        if defaults:
            station["defaults"] = defaults_with(self.tmp_path / "model.jsonl", **defaults)
        self.station = StationProcess(self.flash, self.octt.url, password=password, **station)
        self.octt.run(self.station.start())
        if booted:
            return self.booted()
        return None

    def another_csms(self, ssl=None):
        """A second CSMS of the tool, on its own port (stopped with the case)."""
        other = Octt(password=self.octt.password, ssl=ssl)
        self.others.append(other)
        return other

    def write(self, name, text):
        """A file on the station's flash, as its board's other firmware
        writes it (connector_status, link_down ...); text None removes it."""
        path = os.path.join(str(self.flash), name)
        if text is None:
            os.remove(path)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def wait_file(self, name, text, timeout=10):
        """Wait until the station wrote `text` to <flash>/`name`."""
        path = os.path.join(str(self.flash), name)
        end = time.monotonic() + timeout
        while True:
            try:
                with open(path) as f:
                    if f.read() == text:
                        return
            except OSError:
                pass
            if time.monotonic() > end:
                raise TimeoutError("%s never held %r" % (name, text))
            time.sleep(0.05)

    def wait_log(self, text, count=1, timeout=30):
        """Wait until the station's log holds `text` `count` times: how a
        test learns of an attempt the tool cannot see (a TLS handshake the
        station broke off)."""
        end = time.monotonic() + timeout
        while self.station.log().count(text) < count:
            if time.monotonic() > end:
                raise TimeoutError("station log: %r not %d times within %ss" % (text, count, timeout))
            time.sleep(0.05)

    def security_events(self, link, *kinds, timeout=20):
        """Wait for a SecurityEventNotification of each of `kinds` on `link`;
        every one it sent so far, by type."""
        seen = [e["type"] for e in link.calls("SecurityEventNotification")]
        while not all(k in seen for k in kinds):
            seen.append(link.expect("SecurityEventNotification", timeout)["type"])
        return [e["type"] for e in link.calls("SecurityEventNotification")]

    def booted(self, n=1, timeout=30):
        """Reusable state Booted: BootNotification Accepted, then the state of
        every connector (StatusNotification Available)."""
        link = self.octt.link(n, timeout)
        link.expect("BootNotification", timeout)
        for _ in range(CONNECTORS):
            assert link.expect("StatusNotification", timeout)["connectorStatus"] == "Available"
        return link

    def get(self, link, *items):
        return link.call("GetVariables", {"getVariableData": list(items)})["getVariableResult"]

    def set(self, link, *items):
        return link.call("SetVariables", {"setVariableData": list(items)})["setVariableResult"]

    def profile(self, url, sp=1, **extra):
        """A NetworkConnectionProfile for SetNetworkProfile."""
        data = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 10,
                "securityProfile": sp, "ocppInterface": "Wired0"}
        data.update(extra)
        return data

    def migrate(self, link, slot, data, priority):
        """SetNetworkProfile into `slot`, NetworkConfigurationPriority, Reset
        OnIdle: the B10 steps, each answered as the cases accept."""
        answer = link.call("SetNetworkProfile", {"configurationSlot": slot, "connectionData": data})
        assert answer["status"] == "Accepted", answer
        result = self.set(link, var("OCPPCommCtrlr", "NetworkConfigurationPriority", priority))[0]
        assert result["attributeStatus"] in ("Accepted", "RebootRequired"), result
        assert link.call("Reset", {"type": "OnIdle"})["status"] == "Accepted"
        link.wait_closed(20)

    def configure(self, link, **values):
        """A case's configuration state: OCPPCommCtrlr variables by SetVariables."""
        results = self.set(link, *[var("OCPPCommCtrlr", k, str(v)) for k, v in values.items()])
        assert [r["attributeStatus"] for r in results] == ["Accepted"] * len(values), results

    def close(self):
        if self.station:
            self.octt.run(self.station.stop())
        for other in self.others:
            other.stop()
            assert other.invalid == [], other.invalid
        if self.octt:
            self.octt.stop()
            assert self.octt.invalid == [], self.octt.invalid
        if self.station:
            assert PASSWORD not in self.station.log()


@pytest.fixture
def case(tmp_path):
    c = Case(tmp_path)
    yield c
    c.close()


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    """One station in the Booted state shared by a module's cases that only
    query or configure it (GetVariables, SetVariables, reports): each such
    case starts from Booted and leaves it so."""
    c = Case(tmp_path_factory.mktemp("booted"))
    link = c.start()
    yield c, link
    c.close()
