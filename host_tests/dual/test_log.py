"""csagent.log on both runtimes: the time field is summed from tick
differences in integers, so it neither wraps with the board's ticks nor
loses milliseconds to a single-precision float."""
from csagent import log
from csagent.compat import ticks_ms


def lines_of(fn):
    out = []
    log.redirect(out.append)
    try:
        fn()
    finally:
        import sys
        log.redirect(sys.stderr.write)
    return out


def test_uptime_of_months_keeps_its_milliseconds():
    log._clock[0] = ticks_ms()
    log._clock[1] = 16777217 * 1000 + 7  # 194 days: a 32-bit float would say 16777216.0 seconds
    out = lines_of(lambda: log.log("event", "a", 1))
    seconds, ms = out[0].split()[0].split(".")
    assert int(seconds) == 16777217 and 7 <= int(ms) < 107, out
    assert out[0].split()[1:] == ["event", "a", "1"]


def test_time_never_goes_back():
    out = lines_of(lambda: [log.log("tick") for _ in range(20)])
    times = [int(line.split()[0].replace(".", "")) for line in out]
    assert times == sorted(times)


def test_reason_is_one_short_line():
    assert log.reason(OSError(28, "no space")) == "OSError 28 no space"
    assert len(log.reason(ValueError("x" * 500))) == 120
