"""Issue 23, certificates end to end on the MicroPython unix port against the
`ocpp` CSMS: the security-profile upgrade of A05 with a CSMS root installed
over OCPP (M05), the reconnect verified against it, the root then refused
for deletion while the TLS link depends on it (M04); and the fallback when
the installed root does not verify the new CSMS."""
import asyncio

import trustme

from csms import Csms, server_tls
from stations import StationProcess, against_csms, defaults_with, run

PASSWORD = "Station-password-01"
QUICK = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0, RetryBackOffRepeatTimes=0,
             NetworkProfileConnectionAttempts=2)


def tls_csms(tmp_path, ca):
    """A CSMS on wss:// whose certificate (for 127.0.0.1) `ca` issued."""
    server = ca.issue_cert("127.0.0.1")
    cert, key = str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    server.cert_chain_pems[0].write_to_path(cert)
    server.private_key_pem.write_to_path(key)
    return Csms(interval=300, quiet=True, password=PASSWORD, ssl=server_tls(cert, key))


def profile(url, sp):
    return {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 10,
            "securityProfile": sp, "ocppInterface": "Wired0"}


async def upgrade(st, root_pem, secure):
    """A05 from the CSMS's side: the root (M05), the profile-2 profile in
    slot 1, the priority, a reset."""
    answer = await st.request("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": root_pem})
    assert answer == {"status": "Accepted"}, answer
    answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": profile(
        "wss://127.0.0.1:%d" % secure.port, 2)})
    assert answer["status"] == "Accepted", answer  # was NoRootCertificate before the install
    result = (await st.request("SetVariables", {"setVariableData": [{
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"},
        "attributeValue": "1,0"}]}))["setVariableResult"][0]
    assert result["attributeStatus"] == "RebootRequired", result
    assert (await st.request("Reset", {"type": "Immediate"}))["status"] == "Accepted"


def get(name):
    return {"getVariableData": [{"component": {"name": "SecurityCtrlr"}, "variable": {"name": name}}]}


def test_root_installed_over_ocpp_then_upgrade_to_profile_2(tmp_path):
    """MicroPython's TLS (mbedTLS built without
    MBEDTLS_SSL_KEEP_PEER_CERTIFICATE) does not keep the server's
    certificate, so there every CSMS root counts as in use on a TLS link but
    one installed over that link."""
    ca = trustme.CA()
    root_pem = ca.cert_pem.bytes().decode()

    async def body(csms, station, flash):
        secure = await tls_csms(tmp_path, ca).start()
        try:
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            await upgrade(st, root_pem, secure)
            there = await secure.wait_station("CS001", timeout=30)  # the reconnect, verified with the root
            boot, = await there.wait_for("BootNotification")
            assert boot["reason"] == "RemoteReset"
            await there.wait_for("StatusNotification")
            got = await there.request("GetVariables", get("SecurityProfile"))
            assert got["getVariableResult"][0]["attributeValue"] == "2"
            got = await there.request("GetVariables", get("CertificateEntries"))
            assert got["getVariableResult"][0]["attributeValue"] == "1"
            ids = await there.request("GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]})
            data = ids["certificateHashDataChain"][0]["certificateHashData"]
            answer = await there.request("DeleteCertificate", {"certificateHashData": data})
            assert answer["status"] == "Failed", answer  # M04: this link is verified with it
            assert answer["statusInfo"]["reasonCode"] == "CertificateInUse"
            other = trustme.CA().cert_pem.bytes().decode()  # installed after this link's handshake
            answer = await there.request("InstallCertificate", {"certificateType": "CSMSRootCertificate",
                                                                "certificate": other})
            assert answer == {"status": "Accepted"}
            ids = await there.request("GetInstalledCertificateIds", {})
            spare = [e["certificateHashData"] for e in ids["certificateHashDataChain"]
                     if e["certificateHashData"] != data]
            answer = await there.request("DeleteCertificate", {"certificateHashData": spare[0]})
            assert answer == {"status": "Accepted"}, answer
            assert csms.connections.count("CS001") == 1  # never back on profile 1
        finally:
            await secure.stop()
            for s in secure.stations.values():
                assert s.invalid == [], s.invalid
        assert PASSWORD not in station.log()
    run(against_csms(tmp_path / "flash", body, dict(password=PASSWORD), password=PASSWORD,
                     defaults=defaults_with(tmp_path / "model.jsonl", **QUICK)))


def test_the_root_in_use_is_told_by_the_server_certificate(tmp_path):
    """Where the TLS stack keeps the server's certificate (CPython's ssl),
    only the root that issued it is in use: another root goes, that one stays."""
    ca = trustme.CA()
    cafile = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(cafile)

    async def go():
        csms = await tls_csms(tmp_path, ca).start()
        station = await StationProcess(tmp_path / "flash", "wss://127.0.0.1:%d" % csms.port, password=PASSWORD,
                                       cafile=cafile, runtime="cpython").start()
        try:
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            other = trustme.CA().cert_pem.bytes().decode()
            answer = await st.request("InstallCertificate", {"certificateType": "CSMSRootCertificate",
                                                             "certificate": other})
            assert answer == {"status": "Accepted"}
            chain = (await st.request("GetInstalledCertificateIds", {}))["certificateHashDataChain"]
            used, spare = [e["certificateHashData"] for e in chain]  # the deployed root first
            answer = await st.request("DeleteCertificate", {"certificateHashData": used})
            assert answer["status"] == "Failed" and answer["statusInfo"]["reasonCode"] == "CertificateInUse"
            assert await st.request("DeleteCertificate", {"certificateHashData": spare}) == {"status": "Accepted"}
            chain = (await st.request("GetInstalledCertificateIds", {}))["certificateHashDataChain"]
            assert [e["certificateHashData"] for e in chain] == [used]
        finally:
            assert await station.stop() == 0
            await csms.stop()
        assert csms.stations["CS001"].invalid == []
    run(go())


def test_a_root_that_does_not_verify_the_new_csms_falls_back(tmp_path):
    """The root installed is not the one that issued the new CSMS's
    certificate: every attempt there fails its TLS handshake; after
    NetworkProfileConnectionAttempts the station is back on slot 0, on
    profile 1, and reports InvalidCsmsCertificate."""
    ca, stranger = trustme.CA(), trustme.CA()

    async def body(csms, station, flash):
        secure = await tls_csms(tmp_path, ca).start()
        try:
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            await upgrade(st, stranger.cert_pem.bytes().decode(), secure)
            back = await csms.wait_station("CS001", connections=2, timeout=40)
            boot, = await back.wait_for("BootNotification", timeout=20)
            assert boot["reason"] == "RemoteReset"
            for _ in range(200):
                if "InvalidCsmsCertificate" in [e["type"] for e in back.calls("SecurityEventNotification")]:
                    break
                await asyncio.sleep(0.1)
            assert "InvalidCsmsCertificate" in [e["type"] for e in back.calls("SecurityEventNotification")]
            got = await back.request("GetVariables", get("SecurityProfile"))
            assert got["getVariableResult"][0]["attributeValue"] == "1"
            assert secure.stations == {}  # no WebSocket ever came up there
        finally:
            await secure.stop()
        assert station.log().count("connect-failed") >= 2
    run(against_csms(tmp_path / "flash", body, dict(password=PASSWORD), password=PASSWORD,
                     defaults=defaults_with(tmp_path / "model.jsonl", **QUICK)))
