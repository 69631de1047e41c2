"""Certificate management cases (block M: M03 GetInstalledCertificateIds,
M04 DeleteCertificate, M05 InstallCertificate). The tool's roots come from
harness.Pki (trustme) and harness.expired_root; the tool computes every
certificateHashData itself, with `cryptography` (harness.hash_data). The
reusable states CertificateInstalled and GetInstalledCertificates are the
steps below of those names."""
from harness import Pki, case, expired_root, hash_data  # noqa: F401  (case: the fixture)

CSMS, MANUFACTURER = "CSMSRootCertificate", "ManufacturerRootCertificate"


def certificate_installed(link, kind, pem):
    """Reusable state CertificateInstalled: InstallCertificate Accepted."""
    answer = link.call("InstallCertificate", {"certificateType": kind, "certificate": pem})
    assert answer == {"status": "Accepted"}, answer


def installed(link, *kinds):
    """Reusable state GetInstalledCertificates: {(certificateType,
    certificateHashData as a tuple of its items)} of an Accepted answer."""
    answer = link.call("GetInstalledCertificateIds", {"certificateType": list(kinds)} if kinds else {})
    assert answer["status"] == "Accepted", answer
    return {(e["certificateType"], tuple(sorted(e["certificateHashData"].items())))
            for e in answer["certificateHashDataChain"]}


def entry(kind, pem):
    return kind, tuple(sorted(hash_data(pem).items()))


def two_roots(case):
    """A booted station with the tool's CSMS root and a manufacturer root
    (another trustme CA) installed; (link, csms pem, manufacturer pem)."""
    link = case.start()
    csms, maker = Pki(case.tmp_path).root_pem, Pki(case.tmp_path).root_pem
    certificate_installed(link, CSMS, csms)
    certificate_installed(link, MANUFACTURER, maker)
    return link, csms, maker


def test_tc_m_01(case):
    """Install CA certificate - CSMSRootCertificate (M05.FR.01, .02); it is
    then listed with the hash data the tool computes."""
    link = case.start()
    pem = Pki(case.tmp_path).root_pem
    certificate_installed(link, CSMS, pem)
    assert installed(link, CSMS) == {entry(CSMS, pem)}


def test_tc_m_02(case):
    """Install CA certificate - ManufacturerRootCertificate (M05.FR.01, .02)."""
    link = case.start()
    pem = Pki(case.tmp_path).root_pem
    certificate_installed(link, MANUFACTURER, pem)
    assert installed(link, MANUFACTURER) == {entry(MANUFACTURER, pem)}


def test_tc_m_07(case):
    """Install CA certificate - Rejected - Certificate invalid (M05.FR.07):
    an expired root is Rejected and not listed."""
    link = case.start()
    good = Pki(case.tmp_path).root_pem
    certificate_installed(link, CSMS, good)
    old = expired_root()
    answer = link.call("InstallCertificate", {"certificateType": CSMS, "certificate": old})
    assert answer["status"] == "Rejected", answer
    assert installed(link, CSMS) == {entry(CSMS, good)}


def test_tc_m_12(case):
    """Retrieve certificates from Charging Station - CSMSRootCertificate
    (M03.FR.01, .03, .04): only the CSMS root's hash data."""
    link, csms, _ = two_roots(case)
    assert installed(link, CSMS) == {entry(CSMS, csms)}


def test_tc_m_13(case):
    """Retrieve certificates from Charging Station - ManufacturerRootCertificate."""
    link, _, maker = two_roots(case)
    assert installed(link, MANUFACTURER) == {entry(MANUFACTURER, maker)}


def test_tc_m_17(case):
    """Retrieve certificates - CSMSRootCertificate & ManufacturerRootCertificate."""
    link, csms, maker = two_roots(case)
    assert installed(link, CSMS, MANUFACTURER) == {entry(CSMS, csms), entry(MANUFACTURER, maker)}


def test_tc_m_18(case):
    """Retrieve certificates - All certificateTypes (certificateType omitted)."""
    link, csms, maker = two_roots(case)
    assert installed(link) == {entry(CSMS, csms), entry(MANUFACTURER, maker)}


def test_tc_m_19(case):
    """Retrieve certificates - No matching certificate found (M03.FR.02):
    NotFound and no certificateHashDataChain."""
    link = case.start()
    assert link.call("GetInstalledCertificateIds", {"certificateType": ["MORootCertificate"]}) == \
        {"status": "NotFound"}


def test_tc_m_20(case):
    """Delete a certificate from a Charging Station - Success (M04.FR.01,
    .02): the hash data the station reported; gone afterwards."""
    link, csms, maker = two_roots(case)
    assert entry(CSMS, csms) in installed(link, CSMS)
    answer = link.call("DeleteCertificate", {"certificateHashData": hash_data(csms)})
    assert answer == {"status": "Accepted"}, answer
    assert installed(link) == {entry(MANUFACTURER, maker)}


def test_tc_m_22(case):
    """Delete a certificate - No matching certificate found (M04.FR.04)."""
    link, csms, _ = two_roots(case)
    unknown = hash_data(Pki(case.tmp_path).root_pem)
    assert link.call("DeleteCertificate", {"certificateHashData": unknown}) == {"status": "NotFound"}
    assert entry(CSMS, csms) in installed(link, CSMS)


def test_tc_m_23(case):
    """Delete a certificate - Unable to delete the Charging Station
    Certificate (M04.FR.06): the station's client certificate (the tool's
    RenewChargingStationCertificate state, put on the board here) is
    NotFound, and stays."""
    pki = Pki(case.tmp_path)
    client_pem = pki.install_client(case.flash)
    link = case.start()
    from cryptography import x509
    serial = x509.load_pem_x509_certificate(client_pem).serial_number
    target = dict(hash_data(pki.root_pem), serialNumber="%x" % serial)  # issued by the tool's root
    answer = link.call("DeleteCertificate", {"certificateHashData": target})
    assert answer["status"] in ("NotFound", "Failed"), answer
    with open(case.flash / "certs" / "client.pem", "rb") as f:
        assert f.read() == client_pem
