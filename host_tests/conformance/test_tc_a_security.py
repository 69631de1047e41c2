"""Security cases (block A): Basic authentication (TC_A_01, 09, 10), TLS
(04-07) and the security-profile upgrade rules (A05: TC_A_19-22). The
tool's certificates come from harness.Pki; the station's CSMS root is
placed in its board store (<flash>/certs) at deploy time, except in TC_A_19,
where the tool installs it over OCPP (InstallCertificate)."""
import ssl
import time

import pytest

from harness import PASSWORD, Pki, case, var  # noqa: F401  (case: the fixture)

FAST = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0)
NEW_PASSWORD = "conformance-pass-0002"


def test_tc_a_01(case):
    """Basic Authentication - valid username/password: the upgrade request
    carries Basic <station id>:<BasicAuthPassword> (the tool refuses any other)."""
    case.start()
    assert case.octt.auth == [("CS001", PASSWORD)]


def test_tc_a_04(case):
    """TLS - server-side certificate - valid (security profile 2): TLS 1.2 or
    above, the server certificate checked against the CSMS root, Basic auth."""
    pki = Pki(case.tmp_path)
    link = case.start(ssl=pki.server(), cafile=pki.ca_file)
    assert link.tls() in ("TLSv1.2", "TLSv1.3")
    assert case.octt.auth == [("CS001", PASSWORD)]
    assert case.get(link, var("SecurityCtrlr", "SecurityProfile"))[0]["attributeValue"] == "2"


def _refused_then_valid(case, pki, bad):
    """The tool's first listener has the `bad` context; once the station
    broke the handshake off, the valid one. The Booted link."""
    case.start(ssl=bad, cafile=pki.ca_file, booted=False,
               defaults=dict(NetworkProfileConnectionAttempts=2, **FAST))
    case.wait_log("connect-failed")
    assert case.octt.attempts == []  # no upgrade request over the bad TLS
    case.octt.listen(pki.server())
    return case.booted(1, 30)


def test_tc_a_05(case):
    """TLS - server-side certificate - invalid (A00.FR.309-311, .412-414): a
    server certificate from a CA the station does not trust ends the
    handshake; the next attempt, with the valid one, boots; then one
    SecurityEventNotification InvalidCsmsCertificate (A04)."""
    pki = Pki(case.tmp_path)
    link = _refused_then_valid(case, pki, pki.server(trusted=False))
    events = case.security_events(link, "InvalidCsmsCertificate")
    assert events.count("InvalidCsmsCertificate") == 1


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")  # the case wants the old versions
def test_tc_a_06(case):
    """TLS - server-side certificate - TLS version too low (A00.FR.314, .316,
    .416, .417, .419): a server that speaks at most TLS 1.1 is refused; the
    next attempt boots; then SecurityEventNotification InvalidTLSVersion."""
    pki = Pki(case.tmp_path)
    link = _refused_then_valid(case, pki, pki.server(maximum_version=ssl.TLSVersion.TLSv1_1))
    events = case.security_events(link, "InvalidTLSVersion")
    assert events.count("InvalidTLSVersion") == 1


def test_tc_a_07(case):
    """TLS - client-side certificate - valid (security profile 3): mutual TLS,
    the client certificate's CN the station's identity, no Basic auth."""
    pki = Pki(case.tmp_path)
    pki.install_client(case.flash)
    link = case.start(ssl=pki.server(client_certificates=True), cafile=pki.ca_file, password=None,
                      install={"security_profile": 3})
    subject = dict(x[0] for x in link.peer_certificate()["subject"])
    assert subject["commonName"] == "CS001"
    assert case.octt.auth == [None]
    assert case.get(link, var("SecurityCtrlr", "SecurityProfile"))[0]["attributeValue"] == "3"


def test_tc_a_09(case):
    """Update BasicAuthPassword - Accepted (A01.FR.01-03): SetVariables
    Accepted, the station reconnects with the new password (no new boot)."""
    link = case.start(defaults=FAST)
    case.octt.password = NEW_PASSWORD  # the CSMS knows the new one from now on
    r = case.set(link, var("SecurityCtrlr", "BasicAuthPassword", NEW_PASSWORD))[0]
    assert r["attributeStatus"] == "Accepted"
    again = case.octt.link(2, 20)
    assert case.octt.auth[-1] == ("CS001", NEW_PASSWORD)
    time.sleep(0.5)
    assert "BootNotification" not in again.actions()
    case.security_events(again, "ReconfigurationOfSecurityParameters")
    assert NEW_PASSWORD not in case.station.log()


def test_tc_a_10(case):
    """Update BasicAuthPassword - Rejected (A01): a password shorter than the
    16 characters BasicAuthPassword allows is Rejected; the station stays
    connected with the password it had."""
    link = case.start(defaults=FAST)
    r = case.set(link, var("SecurityCtrlr", "BasicAuthPassword", "short-pass"))[0]
    assert r["attributeStatus"] == "Rejected"
    time.sleep(2)
    assert link.closed is None and case.octt.auth == [("CS001", PASSWORD)]


def test_tc_a_19(case):
    """Upgrade Charging Station Security Profile - Accepted (A05.FR.04-06),
    1 -> 2: the tool installs its CSMS root (InstallCertificate, the memory
    state CertificateInstalled), the profile-2 profile is Accepted, the
    priority and a reset move the station to it; there it boots over TLS,
    verified with that root. Then the tool closes that connection and listens
    only with the old profile: the station does not come back on it, and does
    come back once the profile-2 listener is up again."""
    pki = Pki(case.tmp_path)
    link = case.start()
    answer = link.call("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": pki.root_pem})
    assert answer == {"status": "Accepted"}, answer
    case.configure(link, NetworkProfileConnectionAttempts=1, RetryBackOffRepeatTimes=0, **FAST)
    secure = case.another_csms(ssl=pki.server())
    case.migrate(link, 1, case.profile(secure.url, sp=2), "1,0")
    link = secure.link(1, 30)
    assert link.expect("BootNotification", 30)["reason"] == "RemoteReset"
    assert link.expect("StatusNotification")["connectorStatus"] == "Available"
    assert link.tls() in ("TLSv1.2", "TLSv1.3")
    assert case.get(link, var("SecurityCtrlr", "SecurityProfile"))[0]["attributeValue"] == "2"
    secure.pause()
    link.close()
    time.sleep(5)  # several attempts' worth: every one at the profile-2 slot, none at the old
    assert len(case.octt.attempts) == 1 and len(case.octt.links) == 1
    secure.listen(pki.server())
    secure.link(2, 20)


def test_tc_a_20(case):
    """Upgrade Charging Station Security Profile - No valid CSMSRootCertificate
    installed (A05.FR.02): the upgrade to profile 2 is Rejected (here at
    SetNetworkProfile, reasonCode NoRootCertificate) and the station stays
    on profile 1."""
    link = case.start()
    new = case.another_csms(ssl=Pki(case.tmp_path).server())
    answer = link.call("SetNetworkProfile", {"configurationSlot": 1, "connectionData": case.profile(new.url, sp=2)})
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "NoRootCertificate"
    r = case.set(link, var("OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0"))[0]
    assert r["attributeStatus"] == "Rejected"  # slot 1 holds no profile it could use
    assert case.get(link, var("SecurityCtrlr", "SecurityProfile"))[0]["attributeValue"] == "1"
    assert link.closed is None


def test_tc_a_21(case):
    """Upgrade Charging Station Security Profile - No valid
    ChargingStationCertificate installed (A05.FR.03): with a CSMS root but no
    client certificate, profile 3 is Rejected (reasonCode NoClientCertificate)."""
    pki = Pki(case.tmp_path)
    pki.install_root(case.flash)
    link = case.start()
    new = case.another_csms(ssl=pki.server(client_certificates=True))
    answer = link.call("SetNetworkProfile", {"configurationSlot": 1, "connectionData": case.profile(new.url, sp=3)})
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "NoClientCertificate"
    assert case.get(link, var("SecurityCtrlr", "SecurityProfile"))[0]["attributeValue"] == "1"


def test_tc_a_22(case):
    """Upgrade Charging Station Security Profile - Downgrade - Rejected
    (B09.FR.04): on profile 2, a profile-1 profile for the free slot is Rejected."""
    pki = Pki(case.tmp_path)
    link = case.start(ssl=pki.server(), cafile=pki.ca_file)
    lower = case.another_csms()
    answer = link.call("SetNetworkProfile", {"configurationSlot": 1, "connectionData": case.profile(lower.url)})
    assert answer["status"] == "Rejected"
    assert link.closed is None
