"""The AT sequence the dialer sends a cellular modem for an OCPP APN profile,
pinned down against a fake modem (host_tests/fake_modem.py); CPython and the
MicroPython unix port."""
import asyncio
import sys

from csagent.board_modem import Modem, ModemError

HOST_TESTS = __file__.rsplit("/", 2)[0]
if HOST_TESTS not in sys.path:
    sys.path.append(HOST_TESTS)

from fake_modem import PPP_START, FakeModem  # noqa: E402

PASSWORD = "s3cr3t-pw"
PIN = 4711
START = ["AT", "ATE0", "AT+CPIN?"]


def profile(auth="PAP", **extra):
    p = {"apn": "iot.example.net", "apnAuthentication": auth,
         "apnUserName": "station", "apnPassword": PASSWORD}
    p.update(extra)
    return p


def dial(fake, apn, **options):
    """Dial on `fake`; the modem, and the bytes waiting after CONNECT."""
    options.setdefault("timeout_ms", 200)
    options.setdefault("poll_ms", 1)
    modem = Modem(fake.reader, fake.writer, **options)

    async def go():
        await modem.dial(apn)
        return await fake.reader.read(len(PPP_START))
    return asyncio.run(go())


def failure(fake, apn, **options):
    """The ModemError text of a dial that must fail; checks it has no secret."""
    try:
        dial(fake, apn, **options)
    except ModemError as e:
        text = str(e)
        assert PASSWORD not in text and str(PIN) not in text, text
        return text
    raise AssertionError("dialled")


def test_pap_sequence_and_ppp_after_connect():
    fake = FakeModem(creg=(2, 2, 1), credentials=("station", PASSWORD))
    assert dial(fake, profile("PAP")) == PPP_START
    assert fake.commands == START + [
        "AT+COPS=0", 'AT+CGDCONT=1,"IP","iot.example.net"', 'AT+CGAUTH=1,1,"station","s3cr3t-pw"',
        "AT+CREG?", "AT+CEREG?", "AT+CREG?", "AT+CEREG?", "AT+CREG?", "ATD*99***1#"]
    assert not fake.echo and fake.online


def test_chap_on_another_context():
    fake = FakeModem(network_auth=(2,))
    modem = Modem(fake.reader, fake.writer, timeout_ms=200)
    asyncio.run(modem.dial(profile("CHAP"), cid=3))
    assert fake.commands[3:] == [
        "AT+COPS=0", 'AT+CGDCONT=3,"IP","iot.example.net"', 'AT+CGAUTH=3,2,"station","s3cr3t-pw"',
        "AT+CREG?", "ATD*99***3#"]


def test_none_sends_no_credentials():
    fake = FakeModem(network_auth=(0,))
    dial(fake, {"apn": "internet", "apnAuthentication": "NONE"})
    assert fake.commands[3:] == [
        "AT+COPS=0", 'AT+CGDCONT=1,"IP","internet"', "AT+CGAUTH=1,0", "AT+CREG?", "ATD*99***1#"]


def test_auto_falls_back_when_the_modem_refuses_chap():
    fake = FakeModem(refuse_auth=(2,))
    dial(fake, profile("AUTO"))
    assert fake.commands[4:] == [
        'AT+CGDCONT=1,"IP","iot.example.net"', 'AT+CGAUTH=1,2,"station","s3cr3t-pw"',
        'AT+CGAUTH=1,1,"station","s3cr3t-pw"', "AT+CREG?", "ATD*99***1#"]


def test_auto_falls_back_when_the_network_refuses_the_call():
    fake = FakeModem(network_auth=(0,))
    dial(fake, profile("AUTO"))
    assert fake.commands[5:] == [
        'AT+CGAUTH=1,2,"station","s3cr3t-pw"', "AT+CREG?", "ATD*99***1#",
        'AT+CGAUTH=1,1,"station","s3cr3t-pw"', "ATD*99***1#", "AT+CGAUTH=1,0", "ATD*99***1#"]


def test_auto_fails_after_none():
    fake = FakeModem(network_auth=())
    assert failure(fake, profile("AUTO")) == "ATD*99***1#: NO CARRIER"
    assert fake.commands.count("ATD*99***1#") == 3


def test_sim_pin_given_when_asked():
    fake = FakeModem(pin="4711")
    dial(fake, profile(simPin=PIN))
    assert fake.commands[:5] == START + ['AT+CPIN="4711"', "AT+COPS=0"]


def test_sim_pin_not_sent_when_not_asked():
    fake = FakeModem()
    dial(fake, profile(simPin=PIN))
    assert not [c for c in fake.commands if c.startswith("AT+CPIN=")]


def test_sim_pin_keeps_leading_zeros():
    fake = FakeModem(pin="0042")
    dial(fake, profile(simPin=42))
    assert 'AT+CPIN="0042"' in fake.commands


def test_sim_pin_missing():
    fake = FakeModem(pin="4711")
    assert "PIN" in failure(fake, profile())
    assert fake.commands == START


def test_wrong_pin_is_tried_once():
    fake = FakeModem(pin="1234")
    assert failure(fake, profile(simPin=PIN)) == "AT+CPIN: +CME ERROR: 16"
    assert fake.commands == START + ['AT+CPIN="4711"'] and fake.pin_tries == 2


def test_puk_locked_sim_gets_no_pin():
    fake = FakeModem(pin="1234")
    fake.sim = "SIM PUK"
    assert failure(fake, profile(simPin=PIN)) == "SIM not usable: SIM PUK"
    assert fake.commands == START


def test_preferred_network_only():
    fake = FakeModem()
    dial(fake, profile(preferredNetwork="20404", useOnlyPreferredNetwork=True))
    assert fake.commands[3] == 'AT+COPS=1,2,"20404"'
    fake = FakeModem(networks=("26201",))
    assert failure(fake, profile(preferredNetwork="20404", useOnlyPreferredNetwork=True)) == \
        "AT+COPS: +CME ERROR: 30"
    assert fake.commands[-1] == 'AT+COPS=1,2,"20404"'


def test_preferred_network_with_automatic_fallback():
    fake = FakeModem(networks=("26201",))
    dial(fake, profile(preferredNetwork="20404", useOnlyPreferredNetwork=False))
    assert fake.commands[3] == 'AT+COPS=4,2,"20404"'
    fake = FakeModem()
    dial(fake, profile(preferredNetwork="310260"))
    assert fake.commands[3] == 'AT+COPS=4,2,"310260"'


def test_lte_only_modem_registers_on_eps():
    fake = FakeModem(creg=(0,), cereg=(2, 5))
    dial(fake, profile())
    assert fake.commands[6:] == ["AT+CREG?", "AT+CEREG?", "AT+CREG?", "AT+CEREG?", "ATD*99***1#"]


def test_registration_never_comes():
    fake = FakeModem(creg=(2,), cereg=(3,))
    text = failure(fake, profile(), network_ms=60, poll_ms=10)
    assert text == "not registered within 60 ms (CREG 2, CEREG 3)", text
    polls = fake.commands.count("AT+CREG?")
    assert 2 <= polls <= 10, polls
    assert "ATD*99***1#" not in fake.commands


def test_unsafe_characters_are_refused_before_anything_is_sent():
    for field, value in (("apn", 'a"b'), ("apn", "a\rATH"), ("apn", "a\nb"), ("apn", "a\x01"),
                         ("apn", "a\\22"), ("apn", "caf\xe9"), ("apnUserName", 'x"'),
                         ("apnPassword", PASSWORD + '"'), ("apnPassword", PASSWORD + "\r")):
        fake = FakeModem()
        text = failure(fake, profile(**{field: value}))
        assert text == field + " has a character an AT string cannot carry", text
        assert fake.commands == []


def test_malformed_profiles_are_refused():
    for extra, text in (({"apnAuthentication": "MSCHAP"}, "apnAuthentication is not CHAP, PAP, NONE or AUTO"),
                        ({"preferredNetwork": "2040A"}, "preferredNetwork is not MCC+MNC digits"),
                        ({"preferredNetwork": "2040"}, "preferredNetwork is not MCC+MNC digits"),
                        ({"simPin": -1}, "simPin is not 4 to 8 digits"),
                        ({"apn": 5}, "apn is not a string")):
        fake = FakeModem()
        assert failure(fake, profile(**extra)) == text
        assert fake.commands == []


def test_simcom_password_first_order():
    fake = FakeModem(credentials=(PASSWORD, "station"))
    dial(fake, profile("CHAP"), password_first=True)
    assert 'AT+CGAUTH=1,2,"s3cr3t-pw","station"' in fake.commands


def test_sync_retries_a_booting_modem():
    fake = FakeModem(deaf=2)
    dial(fake, profile(), timeout_ms=30)
    assert fake.commands[:4] == ["AT", "AT", "AT", "ATE0"]
    fake = FakeModem(deaf=99)
    assert failure(fake, profile(), timeout_ms=30) == "modem does not answer AT"
    assert fake.commands == ["AT", "AT", "AT"]


def test_command_answers_and_errors():
    fake = FakeModem(replies={"AT+CSQ": ["+CSQ: 21,99", "OK"], "AT+X": ["+CME ERROR: 4"], "AT+Q": []})
    modem = Modem(fake.reader, fake.writer, timeout_ms=30)

    async def go():
        out = [await modem.command("AT+CSQ")]
        for cmd in ("AT+X", "AT+Q", "AT+NOPE"):
            try:
                await modem.command(cmd)
            except ModemError as e:
                out.append(str(e))
        return out
    assert asyncio.run(go()) == [["+CSQ: 21,99"], "AT+X: +CME ERROR: 4", "AT+Q: no answer", "AT+NOPE: ERROR"]


def info(fake):
    return asyncio.run(Modem(fake.reader, fake.writer, timeout_ms=30).info())


def test_info_answer_shapes():
    assert info(FakeModem()) == {"iccid": "89314404000012345678", "imsi": "204043612345678"}
    quectel = FakeModem(replies={"AT+CCID": ["ERROR"], "AT+QCCID": ["+QCCID: 8931440400001234567", "OK"]})
    assert info(quectel)["iccid"] == "8931440400001234567"
    assert quectel.commands == ["AT+CCID", "AT+QCCID", "AT+CIMI"]
    simcom = FakeModem(replies={"AT+CCID": ["ERROR"], "AT+CICCID": ["+ICCID: 8901260487759545390F", "OK"]})
    assert info(simcom)["iccid"] == "8901260487759545390"
    bare = FakeModem(replies={"AT+CCID": ["89860012345678901234", "OK"], "AT+CIMI": ['"460001234567890"', "OK"]})
    assert info(bare) == {"iccid": "89860012345678901234", "imsi": "460001234567890"}
    long = FakeModem(replies={"AT+CCID": ["+CCID: 8986001234567890123456", "OK"]})
    assert info(long)["iccid"] == "89860012345678901234"


def test_info_leaves_out_what_the_modem_does_not_tell():
    locked = FakeModem(pin="1234")  # ICCID readable, IMSI needs the PIN
    assert info(locked) == {"iccid": "89314404000012345678"}
    silent = FakeModem(replies={"AT+CCID": ["ERROR"], "AT+QCCID": ["ERROR"], "AT+CICCID": ["OK"],
                                "AT+CIMI": []})
    assert info(silent) == {}
