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


def test_timestamps_stay_exact_integers():
    # 2026+ in seconds is above 2**24: a 32-bit float would lose whole minutes.
    t = clock.parse("2026-11-26T04:09:23.999Z")
    assert t == 1795666163 and type(t) is int
    assert clock.parse("2026-11-26T04:09:24.001Z") == t + 1
    assert clock.iso(t + 1) == "2026-11-26T04:09:24Z"
    assert clock.parse("2106-02-07T06:28:16Z") == 2 ** 32  # past 32 bits
    assert clock.iso(2 ** 32 + 59) == "2106-02-07T06:29:15Z"
