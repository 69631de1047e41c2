"""csagent.board_base and csagent.board_mcu, the hardware-free part of the
boards, on CPython and the MicroPython unix port: first-start settings,
certificates, time over the port's epoch, the charge controller's files,
the connector status, the RTC tuple, and the wait for a link to settle."""
import asyncio
import json
import os
import time

from csagent import clock
from csagent.board_base import Board, exists
from csagent.board_mcu import boot_reason, rtc_datetime, serial_number, settle
from csagent.compat import ticks_diff, ticks_ms
from scratch import rmtree, scratch_path


def _board():
    return Board(scratch_path("board"), "model.jsonl")


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_flash_directory_is_made():
    board = _board()
    try:
        assert exists(board.flash) and board.defaults == "model.jsonl"
        assert not exists(board.flash + "/nothing")
        Board(board.flash, "model.jsonl")  # a second start on the same flash
    finally:
        rmtree(board.flash)


def test_install_file_read_once():
    board = _board()
    try:
        assert board.read_json("install.json") is None
        settings = {"identity": "CS-001", "password": "0123456789abcdef", "csms_url": "ws://h/ocpp"}
        _write(board.flash + "/install.json", json.dumps(settings))
        assert board.read_json("install.json") == settings
        board.install_done()
        assert board.read_json("install.json") is None and not exists(board.flash + "/install.json")
    finally:
        rmtree(board.flash)


def test_json_files():
    board = _board()
    try:
        assert board.read_json("network.json") is None
        _write(board.flash + "/network.json", '{"ssid": "depot", "key": "k"}')
        assert board.read_json("network.json") == {"ssid": "depot", "key": "k"}
    finally:
        rmtree(board.flash)


def test_certificates_only_when_present():
    board = _board()
    try:
        names = ("csms_root.pem", "client.pem", "client.key")
        assert [board.cert(name) for name in names] == [None, None, None]
        os.mkdir(board.flash + "/certs")
        for name in names:
            _write(board.flash + "/certs/" + name, "x")
        assert [board.cert(name) for name in names] == [board.flash + "/certs/" + name for name in names]
    finally:
        rmtree(board.flash)


def test_charging_file_and_evse_resets():
    board = _board()
    try:
        assert not board.charging() and not board.charging(1)
        _write(board.flash + "/charging", "")
        assert board.charging() and board.charging(1) and board.charging(2)
        _write(board.flash + "/charging", "2\n")
        assert board.charging() and not board.charging(1) and board.charging(2)
        board.reset_evse(1)
        board.reset_evse(2)
        with open(board.flash + "/evse_resets") as f:
            assert f.read() == "1\n2\n"
    finally:
        rmtree(board.flash)


def test_connector_status_file_and_its_changes():
    board = _board()
    board.connectors = [(1, 1), (2, 1)]

    async def changes():
        await asyncio.wait_for(board.status_changed(), 1)  # the first call returns at once
        try:
            await asyncio.wait_for(board.status_changed(), 1.5)
            raise AssertionError("no change, yet status_changed returned")
        except asyncio.TimeoutError:
            pass
        _write(board.flash + "/connector_status", "2 1 Occupied\n")
        await asyncio.wait_for(board.status_changed(), 3)
    try:
        assert board.connector_status(1, 1) == "Available"  # no file: the charge controller said nothing
        _write(board.flash + "/connector_status", "1 1 Faulted\n2 1 Charging\n1 2 Reserved\nnonsense\n")
        assert board.connector_status(1, 1) == "Faulted"
        assert board.connector_status(2, 1) == "Available"  # not a ConnectorStatusEnumType value
        _write(board.flash + "/connector_status", "")
        asyncio.run(changes())
        assert board.connector_status(2, 1) == "Occupied"
    finally:
        rmtree(board.flash)


def test_time_is_unix_seconds_whatever_the_epoch():
    board = _board()
    try:
        t = time.gmtime(time.time())  # the calendar in the port's own epoch
        now = "%04d-%02d-%02dT%02d:%02d" % (t[0], t[1], t[2], t[3], t[4])
        assert clock.iso(board.time())[:16] in (now, clock.iso(board.time() - 60)[:16])
        target = clock.parse("2031-05-06T07:08:09Z")
        board.set_time(target)
        assert 0 <= board.time() - target <= 1
    finally:
        rmtree(board.flash)


def test_rtc_datetime_tuple():
    assert rtc_datetime(clock.parse("2026-11-26T04:09:23Z")) == (2026, 11, 26, 3, 4, 9, 23, 0)
    assert rtc_datetime(clock.parse("2024-02-29T23:59:59Z")) == (2024, 2, 29, 3, 23, 59, 59, 0)
    assert rtc_datetime(clock.parse("2030-01-07T00:00:00Z"))[3] == 0  # a Monday


def test_serial_number_and_boot_reason():
    assert serial_number(b"\xe6\x61\x41\x04\x03\x2b\x7a\x2f") == "E6614104032B7A2F"
    reasons = {1: "PowerUp", 3: "Watchdog"}
    assert boot_reason(3, reasons) == "Watchdog"
    assert boot_reason(0, reasons) == "Unknown"


def test_a_board_without_hardware():
    board = _board()
    try:
        assert board.boot_reason() == "PowerUp"
        assert board.serial() is None and board.modem_info() is None
        board.feed()
        assert (board.interfaces, board.has_modem, board.connectors) == ((), False, [(1, 1)])
    finally:
        rmtree(board.flash)


def _states(*states):
    """up() answering `states` in turn, then the last one for ever."""
    left = list(states)

    def up():
        return left.pop(0) if len(left) > 1 else left[0]
    return up


def _settle(up, **options):
    start = ticks_ms()
    try:
        asyncio.run(settle(up, **options))
        error = None
    except OSError as e:
        error = e.args[0]
    return error, ticks_diff(ticks_ms(), start)


def test_settle_needs_the_link_to_hold():
    error, ms = _settle(_states(False, False, True), timeout_ms=2000, stable_ms=50, poll_ms=5)
    assert error is None and 50 <= ms < 1000


def test_settle_refuses_a_flapping_link():
    flaps = [True, False] * 100
    error, ms = _settle(_states(*flaps), timeout_ms=200, stable_ms=50, poll_ms=5)
    assert error == "link not up within 200 ms" and ms >= 200


def test_settle_stops_at_a_named_failure():
    reasons = ["", "", "WLAN: wrong password"]
    error, ms = _settle(_states(False), timeout_ms=5000, stable_ms=50, poll_ms=5,
                        failed=lambda: reasons.pop(0))
    assert error == "WLAN: wrong password" and ms < 1000
