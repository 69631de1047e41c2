"""csagent.log: the seconds since start stay exact to the millisecond after
months of uptime (an int, never a float); CPython and the unix port."""
from csagent import log as log_module
from csagent.compat import ticks_ms


class _Lines:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


class _Sys:
    stderr = _Lines()


def _logged(ms_since_start, *fields):
    real = log_module.sys
    log_module.sys = fake = _Sys()
    fake.stderr = _Lines()
    try:
        log_module._start[0] = ticks_ms()
        log_module._start[1] = ms_since_start
        log_module.log("recv", *fields)
    finally:
        log_module.sys = real
    return fake.stderr.text


def test_line_format():
    line = _logged(1234, "CALL", "Heartbeat", 7)
    assert line.startswith("1.23") and line.endswith(" recv CALL Heartbeat 7\n"), line


def test_milliseconds_after_months():
    # 194 days in ms: as a 32-bit float the seconds would be 16777216.0
    line = _logged(16777217 * 1000 + 5)
    assert line.startswith("16777217.00"), line
    assert int(line.split(".")[1][:3]) >= 5

