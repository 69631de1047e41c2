"""Defects the fuzzers (fuzz/) found in the clock, the modem dialogue, the
value checks and the WebSocket reader (issue 24), each pinned down through the agent's own code
path; CPython and the MicroPython unix port. The store's are in
test_store_rot.py; every input that found one is also in fuzz/corpus/."""
import asyncio
import json

from csagent import clock
from csagent.model import DeviceModel
from csagent.store import Store
from csagent.validate import check
from csagent.ws import WebSocket, encode_header
from csagent.values import check_value, limit
from scratch import with_flash
from streams import Feed
from test_modem import FakeModem, failure, info, profile

TEN_DIGITS = "2024-01-01T00:00:00.1234567890Z"


def test_a_csms_clock_with_any_number_of_fraction_digits():
    # RFC 3339 sets no limit; a CSMS sending 10 digits must still register us.
    boot = {"currentTime": TEN_DIGITS, "interval": 300, "status": "Accepted"}
    assert check("BootNotification", boot, response=True) is None
    assert clock.parse(TEN_DIGITS) == clock.parse("2024-01-01T00:00:00Z")
    assert clock.parse("2024-01-01T00:00:00." + "9" * 40 + "Z") == clock.parse("2024-01-01T00:00:00Z")
    # a dateTime variable keeps Part 2's limit of three decimals
    assert check_value("2024-01-01T00:00:00.123Z", {"dataType": "dateTime"}) is None
    assert check_value("2024-01-01T00:00:00.1234Z", {"dataType": "dateTime"}) == "InvalidValue"


def test_registration_with_a_digit_of_another_script():
    # "²".isdigit() is True on CPython, and int("²") a ValueError
    fake = FakeModem(replies={"AT+CREG?": ["+CREG: 0,\u00b2", "OK"]})
    text = failure(fake, profile(), network_ms=30, poll_ms=10)
    assert text == "not registered within 30 ms (CREG None, CEREG None)", text


def test_identifiers_with_digits_of_another_script_are_left_out():
    odd = FakeModem(replies={"AT+CCID": ["+CCID: 8931440400001234567\u00b2", "OK"], "AT+QCCID": ["ERROR"],
                             "AT+CICCID": ["ERROR"], "AT+CIMI": ["20404361234567\u0663", "OK"]})
    assert info(odd) == {}


def test_preferred_network_with_a_digit_of_another_script():
    fake = FakeModem()
    assert failure(fake, profile(preferredNetwork="2040\u0664")) == "preferredNetwork is not MCC+MNC digits"
    assert fake.commands == []


# Past the float's range once scaled to millionths: 1e303 on a double, 1e33 on
# a single-precision board (RP2, ESP32), where 1e303 is already infinity.
HUGE = 1e303 if float("1e303") != float("inf") else 1e33


def test_huge_limits_are_exact_and_never_overflow():
    assert limit(HUGE) == int(HUGE) * 1000000 and limit(-HUGE) == -int(HUGE) * 1000000
    assert limit(2.0 ** 70) == 2 ** 70 * 1000000  # beyond 2**53, exact on every float size
    assert limit(float("inf")) is None and limit(float("nan")) is None
    assert limit(0.1234567) == 123457  # more than six places: rounded
    characteristics = {"dataType": "decimal", "minLimit": -HUGE, "maxLimit": HUGE}
    assert check_value("22000.5", characteristics) is None
    assert check_value("1" + "0" * 310, characteristics) == "ValueTooHigh"


@with_flash
def test_model_with_a_huge_limit_loads(flash):
    path = flash + "/model.jsonl"
    with open(path, "w") as f:
        f.write(json.dumps({"component": "Ctrl", "variable": "X", "dataType": "decimal", "maxLimit": HUGE,
                            "attributes": [{"value": "1.5", "mutability": "ReadWrite", "persistent": True}]}))
        f.write("\n")
    model = DeviceModel(path, Store(flash + "/store"))
    assert model.value("Ctrl", "X") == "1.5"
    model.set_value("Ctrl", "X", "12345678901234567890.5")
    assert model.value("Ctrl", "X") == "12345678901234567890.5"


def test_a_message_over_soft_limit_is_never_given_whole():
    # Under 128 bytes (ws._PREFIX) it was, not checked as UTF-8, and the RPC
    # layer (len(data) < size tells it) would have parsed it.
    payload = b'[2,"1","x",' + b"\xff" * 100 + b"]"
    sock = WebSocket(Feed(encode_header(1, len(payload)) + payload), None, 65536, 1, 0)
    sock.soft_limit = 100
    data, size = asyncio.run(sock.recv())
    assert size == len(payload) and len(data) < size and bytes(data) == payload[:len(data)]


def test_a_csms_url_port_with_a_digit_of_another_script():
    # "²".isdigit() on CPython: int() then raised ValueError, not the one-line WebSocketError
    from csagent.ws_handshake import WebSocketError, parse_url
    assert parse_url("ws://127.0.0.1:9000/ocpp") == (False, "127.0.0.1", 9000, "/ocpp")
    try:
        parse_url("ws://127.0.0.1:9\u00b2/ocpp")
    except WebSocketError as e:
        assert "port" in str(e)
    else:
        raise AssertionError("a port of other digits was taken")
    from csagent.http_get import HttpError, parse_url as parse_location
    try:
        parse_location("http://127.0.0.1:8\u00b2/fw.bin")  # the same in an UpdateFirmware location
    except HttpError:
        pass
    else:
        raise AssertionError("a location port of other digits was taken")
