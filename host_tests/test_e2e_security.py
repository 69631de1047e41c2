"""Issue 12 end to end on the MicroPython unix port against the `ocpp` CSMS:
security events (A04), TriggerMessage (F06) and the security-profile rules
of SetNetworkProfile (A05)."""
import asyncio

from stations import against_csms, defaults_with, run

QUICK = dict(RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0, RetryBackOffRepeatTimes=0)
PASSWORD = "Station-password-01"


async def with_station(tmp_path, body, boot=("Accepted",), csms_password=PASSWORD, pending_interval=1):
    return await against_csms(tmp_path / "flash", lambda csms, station, flash: body(csms, station), dict(
        boot=boot, pending_interval=pending_interval, password=csms_password),
        password=PASSWORD, defaults=defaults_with(tmp_path / "model.jsonl", **QUICK))


def kinds(st):
    return [e["type"] for e in st.calls("SecurityEventNotification")]


def test_startup_event_after_accepted_and_triggered_messages(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        event, = await st.wait_for("SecurityEventNotification")
        assert event["type"] == "StartupOfTheDevice"
        assert [a for a, _ in st.received][:2] == ["BootNotification", "StatusNotification"]
        trigger = {"requestedMessage": "Heartbeat"}
        assert (await st.request("TriggerMessage", trigger))["status"] == "Accepted"
        await st.wait_for("Heartbeat", timeout=5)  # F06.FR.04: sent now, not at the next interval
        trigger = {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}
        assert (await st.request("TriggerMessage", trigger))["status"] == "Accepted"
        await st.wait_for("StatusNotification", 2, timeout=5)
        trigger["evse"] = {"id": 7}
        assert (await st.request("TriggerMessage", trigger))["status"] == "Rejected"
        answer = await st.request("TriggerMessage", {"requestedMessage": "BootNotification"})
        assert answer["status"] == "Rejected"  # F06.FR.17: already Accepted
        answer = await st.request("TriggerMessage", {"requestedMessage": "MeterValues"})
        assert answer["status"] == "NotImplemented"
        assert len(st.calls("BootNotification")) == 1
    run(with_station(tmp_path, body))


def test_triggered_boot_while_pending_goes_at_once(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("BootNotification")  # Pending, next boot not before 60 s
        answer = await st.request("RequestStartTransaction", {"idToken": {"idToken": "A", "type": "Central"},
                                                              "remoteStartId": 1})
        assert answer["status"] == "Rejected"  # B02: no transaction while Pending
        answer = await st.request("TriggerMessage", {"requestedMessage": "BootNotification"})
        assert answer["status"] == "Accepted"
        second = (await st.wait_for("BootNotification", 2, timeout=5))[1]
        assert second["reason"] == "Triggered"
        await st.wait_for("StatusNotification")
    run(with_station(tmp_path, body, boot=("Pending", "Accepted"), pending_interval=60))


def test_a_refused_password_is_reported_once_when_accepted(tmp_path):
    async def body(csms, station):
        await asyncio.sleep(4)  # the CSMS refuses every attempt: about four of them
        assert station.log().count("connect-failed") >= 3
        csms.password = PASSWORD
        st = await csms.wait_station("CS001", timeout=10)
        await st.wait_for("SecurityEventNotification", 2)
        await asyncio.sleep(1)
        assert sorted(kinds(st)) == ["FailedToAuthenticateAtCsms", "StartupOfTheDevice"]
    run(with_station(tmp_path, body, csms_password="Another-password-99"))


def test_no_upgrade_to_a_profile_without_its_certificates(tmp_path):
    async def body(csms, station):
        st = await csms.wait_station("CS001")
        await st.wait_for("StatusNotification")
        data = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://127.0.0.1:1/",
                "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}
        answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": data})
        assert answer["status"] == "Rejected"  # A05.FR.02: no CSMS root certificate in the store
        assert answer["statusInfo"]["reasonCode"] == "NoRootCertificate"
        answer = await st.request("SetNetworkProfile", {"configurationSlot": 1, "connectionData": dict(
            data, securityProfile=3)})
        assert answer["status"] == "Rejected"
    run(with_station(tmp_path, body))
