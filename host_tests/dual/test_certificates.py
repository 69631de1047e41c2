"""csagent.certificates (M03-M05) and the board's certificate bundles on
every runtime, with certificates `cryptography` made (crypto_vectors.py):
what is installed, refused, listed with the hash data cryptography's reading
gives, deleted; the CertificateEntries limit; a failed or cut write leaves
the bundle as it was."""
import binascii
import hashlib
import os

import crypto_vectors as v
from csagent import cert_store, certificates, tls
from csagent.board_base import Board
from scratch import with_flash
from test_model import HOST_DEFAULTS, open_model

NOW = 1798761600  # 2027-01-01T00:00:00Z: inside every vector's validity
CSMS, MANUFACTURER = "CSMSRootCertificate", "ManufacturerRootCertificate"


def pem(der):
    body = binascii.b2a_base64(der).decode().replace("\n", "")
    lines = [body[at:at + 64] for at in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def station(flash, defaults=HOST_DEFAULTS):
    board = Board(flash + "/board", defaults)
    board.set_time(NOW)
    return board, open_model(flash, defaults)


def install(board, model, kind, der_or_text, link=None):
    text = der_or_text if isinstance(der_or_text, str) else pem(der_or_text)
    return certificates.install({"certificateType": kind, "certificate": text}, model, board, link)


def expected_hash(name):
    """certificateHashData as cryptography reads the root: its own name and key."""
    facts = getattr(v, name + "_FACTS")
    hexa = lambda data: binascii.hexlify(data).decode()  # noqa: E731
    return {"hashAlgorithm": "SHA256", "issuerNameHash": hexa(hashlib.sha256(facts["issuer"]).digest()),
            "issuerKeyHash": hexa(hashlib.sha256(facts["key_bits"]).digest()),
            "serialNumber": hexa(facts["serial"]).lstrip("0")}


def listed(board, *kinds):
    return certificates.installed({"certificateType": list(kinds)} if kinds else {}, board)


@with_flash
def test_install_list_and_trust(flash):
    board, model = station(flash)
    assert listed(board) == {"status": "NotFound"}  # M03.FR.02: no chain
    assert install(board, model, CSMS, v.RSA_ROOT) == {"status": "Accepted"}
    assert install(board, model, MANUFACTURER, v.EC_ROOT) == {"status": "Accepted"}
    assert install(board, model, CSMS, v.RSA_ROOT) == {"status": "Accepted"}  # again: kept once
    assert cert_store.count(board) == 2
    both = listed(board)
    assert both == {"status": "Accepted", "certificateHashDataChain": [
        {"certificateType": CSMS, "certificateHashData": expected_hash("RSA_ROOT")},
        {"certificateType": MANUFACTURER, "certificateHashData": expected_hash("EC_ROOT")}]}
    assert listed(board, MANUFACTURER)["certificateHashDataChain"] == both["certificateHashDataChain"][1:]
    assert listed(board, "MORootCertificate", "V2GCertificateChain") == {"status": "NotFound"}
    # what TLS is given: the bundle's DER (tls.client_context reads it so)
    with open(board.cert("csms_root.pem"), "rb") as f:
        assert tls.pem_to_der(f.read()) == [v.RSA_ROOT]
    assert list(cert_store.read(board, "manufacturer_root.pem")) == [v.EC_ROOT]


@with_flash
def test_what_is_not_a_valid_root_is_rejected(flash):
    board, model = station(flash)
    at = v.RSA_ROOT.find(b"RSA root")
    forged = v.RSA_ROOT[:at] + b"RSA ruut" + v.RSA_ROOT[at + 8:]  # parses; its signature fails
    cut = pem(v.RSA_ROOT)[:-40]
    for kind, text in ((CSMS, "not a certificate"), (CSMS, cut), (CSMS, pem(v.RSA_ROOT) + pem(v.EC_ROOT)),
                       (CSMS, pem(v.RSA_ROOT[:-1])), (CSMS, pem(forged)),
                       (CSMS, pem(v.RSA_LEAF)), (MANUFACTURER, pem(v.EC_UNDER_RSA))):
        answer = install(board, model, kind, text)
        assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "InvalidCertificate", \
            (text[:60], answer)
    answer = install(board, model, "V2GRootCertificate", v.RSA_ROOT)  # no ISO 15118 here
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "UnsupportedCertType"
    board.set_time(v.RSA_ROOT_FACTS["not_after"] + 1)  # TC_M_07: expired
    assert install(board, model, CSMS, v.RSA_ROOT)["statusInfo"]["additionalInfo"] == "expired"
    board.set_time(v.RSA_ROOT_FACTS["not_before"] - 1)
    assert install(board, model, CSMS, v.RSA_ROOT)["statusInfo"]["additionalInfo"] == "not valid yet"
    assert cert_store.count(board) == 0 and board.cert("csms_root.pem") is None


@with_flash
def test_certificate_entries_limit(flash):
    """M05.FR.06: CertificateEntries' maxLimit counts the certificates of every bundle."""
    with open(HOST_DEFAULTS) as f:
        text = f.read().replace('"CertificateEntries", "dataType": "integer", "maxLimit": 8',
                                '"CertificateEntries", "dataType": "integer", "maxLimit": 1')
    defaults = flash + "/model.jsonl"
    with open(defaults, "w") as f:
        f.write(text)
    board, model = station(flash, defaults)
    assert install(board, model, MANUFACTURER, v.EC_ROOT) == {"status": "Accepted"}
    answer = install(board, model, CSMS, v.RSA_ROOT)
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "CertificateEntries"
    assert install(board, model, MANUFACTURER, v.EC_ROOT) == {"status": "Accepted"}  # the same one: no new entry
    assert cert_store.count(board) == 1


@with_flash
def test_delete(flash):
    board, model = station(flash)
    install(board, model, CSMS, v.RSA_ROOT)
    install(board, model, CSMS, v.EC_ROOT)
    install(board, model, MANUFACTURER, v.EC_ROOT)
    rsa = expected_hash("RSA_ROOT")
    other = dict(rsa, hashAlgorithm="SHA384")  # M04.FR.07: we report SHA256 only
    assert certificates.delete({"certificateHashData": other}, model, board, None) == {"status": "NotFound"}
    shouting = dict(rsa, issuerNameHash=rsa["issuerNameHash"].upper(), serialNumber="00" + rsa["serialNumber"])
    assert certificates.delete({"certificateHashData": shouting}, model, board, None) == {"status": "Accepted"}
    assert certificates.delete({"certificateHashData": rsa}, model, board, None) == {"status": "NotFound"}
    assert [e["certificateHashData"] for e in listed(board, CSMS)["certificateHashDataChain"]] == \
        [expected_hash("EC_ROOT")]
    ec = expected_hash("EC_ROOT")  # in both bundles: the CSMS one goes first, then the other
    assert certificates.delete({"certificateHashData": ec}, model, board, None) == {"status": "Accepted"}
    assert board.cert("csms_root.pem") is None  # the last one: the bundle goes
    assert listed(board) == {"status": "Accepted", "certificateHashDataChain": [
        {"certificateType": MANUFACTURER, "certificateHashData": ec}]}
    assert certificates.delete({"certificateHashData": ec}, model, board, None) == {"status": "Accepted"}
    assert cert_store.count(board) == 0


class Link:
    """A live WebSocket as far as certificates is concerned: one whose TLS
    stack keeps no server certificate, as MicroPython's."""


@with_flash
def test_on_tls_without_the_server_certificate_only_roots_installed_over_the_link_go(flash):
    """M04: on security profile 2 or 3 the root the connection depends on is
    not deleted; where the server's certificate cannot be read, that is any
    root but one installed over this link, after its handshake."""
    board, model = station(flash)
    install(board, model, CSMS, v.RSA_ROOT)  # before this link: it may have verified it
    link = Link()
    model.set_value("SecurityCtrlr", "SecurityProfile", "2")
    assert install(board, model, CSMS, v.EC_ROOT, link) == {"status": "Accepted"}
    answer = certificates.delete({"certificateHashData": expected_hash("RSA_ROOT")}, model, board, link)
    assert answer["status"] == "Failed" and answer["statusInfo"]["reasonCode"] == "CertificateInUse"
    answer = certificates.delete({"certificateHashData": expected_hash("EC_ROOT")}, model, board, link)
    assert answer == {"status": "Accepted"}
    install(board, model, CSMS, v.EC_ROOT, link)
    again = Link()  # the next connection's handshake had it: it may depend on it
    answer = certificates.delete({"certificateHashData": expected_hash("EC_ROOT")}, model, board, again)
    assert answer["status"] == "Failed"
    model.set_value("SecurityCtrlr", "SecurityProfile", "1")  # ws://: no root in use
    answer = certificates.delete({"certificateHashData": expected_hash("RSA_ROOT")}, model, board, again)
    assert answer == {"status": "Accepted"}


@with_flash
def test_a_failed_write_is_failed_and_keeps_the_bundle(flash):
    board, model = station(flash)
    install(board, model, CSMS, v.RSA_ROOT)

    def torn():
        yield v.EC_ROOT
        raise OSError(28)  # ENOSPC after one certificate went out

    try:
        cert_store.write(board, "csms_root.pem", torn())
        assert False, "the error must reach the caller"
    except OSError:
        pass
    assert list(cert_store.read(board, "csms_root.pem")) == [v.RSA_ROOT]  # untouched
    os.mkdir(board.flash + "/certs/manufacturer_root.pem.new")  # the temp name is taken: the write fails
    answer = install(board, model, MANUFACTURER, v.EC_ROOT)
    assert answer["status"] == "Failed" and answer["statusInfo"]["reasonCode"] == "WriteFailed"  # M05.FR.03
    assert board.cert("manufacturer_root.pem") is None


@with_flash
def test_mangled_certificates_get_an_answer(flash):
    """Fuzz: the PEM text of a root with characters changed, cut or doubled
    anywhere is answered (Accepted only when it is still that root), never
    an exception."""
    board, model = station(flash)
    text = pem(v.EC_ROOT)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-\n "
    for round in range(150):
        noise = os.urandom(6)
        at = noise[0] << 8 | noise[1]
        at %= len(text)
        kind = noise[2] % 3
        if kind == 0:
            mangled = text[:at] + alphabet[noise[3] % len(alphabet)] + text[at + 1:]
        elif kind == 1:
            mangled = text[:at] + text[at + 1 + noise[3] % 40:]
        else:
            mangled = text[:at] + text[at - noise[3] % 40:]
        answer = install(board, model, MANUFACTURER, mangled)
        assert answer["status"] in ("Accepted", "Rejected"), (mangled, answer)
        if answer["status"] == "Accepted":
            assert list(cert_store.read(board, "manufacturer_root.pem")) == [v.EC_ROOT], mangled
    for round in range(50):
        noise = binascii.hexlify(os.urandom(40)).decode()
        data = {"hashAlgorithm": "SHA256", "issuerNameHash": noise[:64], "issuerKeyHash": noise[16:80],
                "serialNumber": noise[:round % 41]}
        assert certificates.delete({"certificateHashData": data}, model, board, None) == {"status": "NotFound"}
