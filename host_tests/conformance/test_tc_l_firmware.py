"""Secure firmware update cases (L01): TC_L_01, 02, 03, 05, 06, 07, 08, 10
and 18. The file server is the tool's (firmware_server.FileServer, in the
tool's event loop); the firmware is the agent as a bundle (tools/bundle.py)
signed by a test manufacturer PKI whose root is in the station's store
before it starts (CONFORMANCE.md)."""
import datetime

import pytest

from firmware_server import FileServer, install_root, make_bundle, make_pki, request
from harness import case  # noqa: F401  (the fixture)

NEW = "9.9.9-octt"
UPDATE = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    """The tool's configured firmware: a valid bundle with its signature, a
    bundle whose content does not match its own file table (signed all
    the same), the PKI, and a stranger's signing certificate."""
    d = tmp_path_factory.mktemp("octt-fw")
    pki = make_pki(d / "pki")
    path, signature = make_bundle(d, NEW, pki)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[-10] ^= 0xFF  # in the last file's bytes: the table's hash no longer matches
    bad = str(d / "unverifiable.bundle")
    with open(bad, "wb") as f:
        f.write(data)
    import bundle
    with open(pki["key"], "rb") as f:
        bad_signature = bundle.sign_file(bad, f.read())
    return {"pki": pki, "path": path, "sig": signature, "bad": bad, "bad_sig": bad_signature,
            "stranger": make_pki(d / "stranger")}


def at(seconds):
    """Now + seconds, as the tool writes a dateTime."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def serve(case, path, fault=None):
    return case.octt.run(FileServer(path, fault).start())


def statuses(link, request_id, last, timeout=60):
    """The station's FirmwareStatusNotifications up to one in `last`; each
    carries the request's requestId (L01.FR.20)."""
    seen = []
    while not seen or seen[-1] not in last:
        got = link.expect("FirmwareStatusNotification", timeout)
        assert got.get("requestId") == request_id, got
        seen.append(got["status"])
    return seen


def start(case, firmware):
    install_root(case.flash, firmware["pki"])
    return case.start()


def rebooted_into_the_new_firmware(case, request_id):
    """After InstallRebooting: the station boots again, reason FirmwareUpdate,
    the new version, and tells Installed."""
    again = case.booted(2, 60)
    boot = again.calls("BootNotification")[0]
    assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == NEW
    assert statuses(again, request_id, ("Installed",)) == ["Installed"]


def test_tc_l_01(case, firmware):
    """Secure Firmware Update - Installation successful (L01.FR.01, .04,
    .20): Accepted, then Downloading, Downloaded, SignatureVerified,
    Installing, InstallRebooting, the reboot, Installed."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["pki"], firmware["sig"], 1, retrieveDateTime=at(-7200),
                      installDateTime=at(-7200))
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 1, ("InstallRebooting",)) == list(UPDATE)
    rebooted_into_the_new_firmware(case, 1)


def test_tc_l_02(case, firmware):
    """Secure Firmware Update - InstallScheduled (L01.FR.01, .04, .05,
    .12, .15, .16, .20, .21, .23): installDateTime in the future:
    InstallScheduled after SignatureVerified, Installing once it came."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["pki"], firmware["sig"], 2, retrieveDateTime=at(-7200),
                      installDateTime=at(4))
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 2, ("InstallRebooting",)) == [
        "Downloading", "Downloaded", "SignatureVerified", "InstallScheduled", "Installing", "InstallRebooting"]
    rebooted_into_the_new_firmware(case, 2)


def test_tc_l_03(case, firmware):
    """Secure Firmware Update - DownloadScheduled (L01.FR.01, .11, .15):
    retrieveDateTime in the future: DownloadScheduled, nothing fetched
    before it, then the update."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["pki"], firmware["sig"], 3, retrieveDateTime=at(4))
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 3, ("DownloadScheduled",)) == ["DownloadScheduled"]
    assert server.requests == 0
    assert statuses(link, 3, ("InstallRebooting",)) == list(UPDATE)
    rebooted_into_the_new_firmware(case, 3)


def test_tc_l_05(case, firmware):
    """Secure Firmware Update - InvalidCertificate (L01.FR.02): a signing
    certificate no installed ManufacturerRootCertificate issued:
    InvalidCertificate, and the security event InvalidFirmwareSigningCertificate."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["stranger"], firmware["sig"], 5, retrieveDateTime=at(-7200),
                      installDateTime=at(-7200))
    assert link.call("UpdateFirmware", payload)["status"] == "InvalidCertificate"
    case.security_events(link, "InvalidFirmwareSigningCertificate")
    assert server.requests == 0 and link.calls("FirmwareStatusNotification") == []


def test_tc_l_06(case, firmware):
    """Secure Firmware Update - InvalidSignature (L01.FR.03): Downloading,
    Downloaded, InvalidSignature, the security event InvalidFirmwareSignature,
    and no reboot."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["pki"], firmware["bad_sig"], 6, retrieveDateTime=at(-7200))
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 6, ("InvalidSignature",)) == ["Downloading", "Downloaded", "InvalidSignature"]
    case.security_events(link, "InvalidFirmwareSignature")
    assert link.closed is None


def test_tc_l_07(case, firmware):
    """Secure Firmware Update - DownloadFailed (L01.FR.01, .10, .20): a
    location that does not exist: Downloading, then DownloadFailed once
    the retries are spent."""
    link = start(case, firmware)
    server = serve(case, firmware["path"], "missing")
    payload = request(server.url + "_does_not_exist", firmware["pki"], firmware["sig"], 7,
                      retrieveDateTime=at(-7200), installDateTime=at(-7200), retries=1, retryInterval=1)
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 7, ("DownloadFailed",)) == ["Downloading", "DownloadFailed"]
    assert server.requests == 2


def test_tc_l_08(case, firmware):
    """Secure Firmware Update - InstallVerificationFailed or
    InstallationFailed (L01.FR.01, .10, .12, .20): a signed bundle whose
    content does not match its file table, retrieveDateTime ahead:
    DownloadScheduled, ..., Installing, InstallVerificationFailed; the
    station keeps its firmware."""
    link = start(case, firmware)
    server = serve(case, firmware["bad"])
    payload = request(server.url, firmware["pki"], firmware["bad_sig"], 8, retrieveDateTime=at(3),
                      installDateTime=at(-7200))
    assert link.call("UpdateFirmware", payload)["status"] == "Accepted"
    assert statuses(link, 8, ("InstallVerificationFailed", "InstallationFailed")) == [
        "DownloadScheduled", "Downloading", "Downloaded", "SignatureVerified", "Installing",
        "InstallVerificationFailed"]
    got = case.get(link, {"component": {"name": "ChargingStation"}, "variable": {"name": "FirmwareVersion"}})
    assert got[0]["attributeValue"] != NEW and link.closed is None


def test_tc_l_10(case, firmware):
    """Secure Firmware Update - AcceptedCanceled (L01.FR.24): a second
    request while the first downloads: AcceptedCanceled, and the second
    runs to its end."""
    link = start(case, firmware)
    slow = serve(case, firmware["path"], "stall")
    server = serve(case, firmware["path"])
    first = request(slow.url, firmware["pki"], firmware["sig"], 10, retrieveDateTime=at(-7200))
    assert link.call("UpdateFirmware", first)["status"] == "Accepted"
    assert statuses(link, 10, ("Downloading",)) == ["Downloading"]
    second = request(server.url, firmware["pki"], firmware["sig"], 11, retrieveDateTime=at(-7200))
    assert link.call("UpdateFirmware", second)["status"] == "AcceptedCanceled"
    assert statuses(link, 11, ("InstallRebooting",)) == list(UPDATE)
    rebooted_into_the_new_firmware(case, 11)
    case.octt.run(slow.stop())


def test_tc_l_18(case, firmware):
    """Secure Firmware Update - Missing firmware signing certificate and
    signature: an unsigned request is not taken (Rejected)."""
    link = start(case, firmware)
    server = serve(case, firmware["path"])
    payload = request(server.url, firmware["pki"], firmware["sig"], 18, retrieveDateTime=at(-7200))
    del payload["firmware"]["signingCertificate"], payload["firmware"]["signature"]
    assert link.call("UpdateFirmware", payload)["status"] in ("Rejected", "InvalidCertificate")
    assert server.requests == 0
