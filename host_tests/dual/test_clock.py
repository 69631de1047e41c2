from csagent import clock


def test_epoch_round_trip():
    for s in (0, 951782400, 1764130163, 4102444800, 1709210096):
        assert clock.parse(clock.iso(s)) == s


def test_fraction_and_offsets():
    assert clock.iso(clock.parse("2026-11-26T04:09:23.123456Z")) == "2026-11-26T04:09:23Z"
    assert clock.parse("2026-11-26T05:09:23+01:00") == clock.parse("2026-11-26T04:09:23Z")
    assert clock.parse("2026-11-26T03:39:23-00:30") == clock.parse("2026-11-26T04:09:23Z")


def test_leap_day():
    assert clock.iso(clock.parse("2024-02-29T23:59:59Z") + 1) == "2024-03-01T00:00:00Z"


def test_malformed():
    for bad in ("", "2026-11-26", "2026/11/26T04:09:23Z", "2026-11-26T04:09:23", "2026-11-26T04:09:23+0100", "x" * 30):
        try:
            clock.parse(bad)
        except ValueError:
            continue
        raise AssertionError("accepted " + bad)
