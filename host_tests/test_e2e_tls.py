"""Issue 7, security profiles 2 and 3 on real TLS over loopback, with a test
CA made here (trustme), against the `ocpp` CSMS; agent on the unix port."""
import asyncio
import os

import trustme

from csms import server_tls
from stations import Csms, StationProcess, run

PASSWORD = "station-password-0001"


def pki(tmp_path):
    ca, stranger = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    paths = {}
    for name, blob in (("ca", ca.cert_pem), ("stranger", stranger.cert_pem),
                       ("server", server.cert_chain_pems[0]), ("server_key", server.private_key_pem)):
        paths[name] = str(tmp_path / (name + ".pem"))
        blob.write_to_path(paths[name])
    client = ca.issue_cert("CS001")
    paths["client_cert"], paths["client_key"] = client.cert_chain_pems[0], client.private_key_pem
    return paths


def install_client_cert(state, paths):
    certs = os.path.join(str(state), "certs")
    os.makedirs(certs, exist_ok=True)
    paths["client_cert"].write_to_path(os.path.join(certs, "client.pem"))
    paths["client_key"].write_to_path(os.path.join(certs, "client.key"))


def test_profile_2_tls_with_basic_auth_and_no_downgrade(tmp_path):
    async def go():
        p = pki(tmp_path)
        csms = await Csms(interval=30, quiet=True, password=PASSWORD,
                          ssl=server_tls(p["server"], p["server_key"])).start()
        url = "wss://127.0.0.1:%d" % csms.port
        station = await StationProcess(tmp_path / "flash", url, password=PASSWORD, cafile=p["ca"]).start()
        try:
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            got = await st.request("GetVariables", {"getVariableData": [
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]})
            assert got["getVariableResult"][0]["attributeValue"] == "2"
            answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": {
                "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://127.0.0.1:1",
                "messageTimeout": 5, "securityProfile": 1, "ocppInterface": "Wired0"}})
            assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "NoSecurityDowngrade"
        finally:
            assert await station.stop() == 0
            await csms.stop()
        assert csms.stations["CS001"].invalid == []
        assert PASSWORD not in station.log()
    run(go())


def test_profile_3_client_certificate(tmp_path):
    async def go():
        p = pki(tmp_path)
        csms = await Csms(interval=30, quiet=True,
                          ssl=server_tls(p["server"], p["server_key"], client_ca=p["ca"])).start()
        url = "wss://127.0.0.1:%d" % csms.port
        install_client_cert(tmp_path / "flash", p)
        station = await StationProcess(tmp_path / "flash", url, cafile=p["ca"],
                                       install={"security_profile": 3}).start()
        try:
            st = await csms.wait_station("CS001")
            await st.wait_for("StatusNotification")
            peer = st._connection.transport.get_extra_info("peercert")
            assert dict(x[0] for x in peer["subject"]).get("commonName") == "CS001" or peer["subjectAltName"]
        finally:
            assert await station.stop() == 0
            await csms.stop()
    run(go())


def test_server_certificate_that_does_not_verify_is_refused(tmp_path):
    async def go():
        p = pki(tmp_path)
        csms = await Csms(interval=30, quiet=True, password=PASSWORD,
                          ssl=server_tls(p["server"], p["server_key"])).start()
        url = "wss://127.0.0.1:%d" % csms.port
        station = await StationProcess(tmp_path / "flash", url, password=PASSWORD, cafile=p["stranger"]).start()
        try:
            for _ in range(100):
                if "connect-failed" in station.log():
                    break
                await asyncio.sleep(0.1)
        finally:
            assert await station.stop() == 0
            await csms.stop()
        log = station.log()
        assert "connect-failed" in log and "certificate" in log.lower(), log
        assert csms.connections == []
    run(go())
