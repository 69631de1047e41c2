"""Issue 11 end to end: every way a connection ends is followed by a wait
(B04, OCPP-J 2.0.1 Part 4 reconnecting), on the MicroPython unix port,
against a raw CSMS that misbehaves on purpose. The station runs with
RetryBackOffWaitMinimum 1 s, no random spread and two doublings. Every
CSMS here but one establishes the WebSocket and then ends it its own way:
each such connection was successful (OCPP-J Part 4 §5.3), so every wait is
the minimum, 1 s, never less. The one that refuses the upgrade makes each
attempt fail, so its waits double: at least 1, 2, 4, 4 ... seconds apart.
"""
import asyncio

from hostile_csms import (HostileCsms, answers_then_goes_away, bad_utf8, close_at_once, dead, going_away,
                          refuse_upgrade, tcp_close, too_big)
from stations import StationProcess, defaults_with, run

WAITS = (1, 2, 4, 4, 4)  # RetryBackOffWaitMinimum 1, RepeatTimes 2, RandomRange 0
WATCH = 13  # seconds each station is watched


async def watch(tmp_path, behave):
    csms = await HostileCsms(behave).start()
    name = behave.__name__
    defaults = defaults_with(tmp_path / (name + ".jsonl"), RetryBackOffWaitMinimum=1, RetryBackOffRandomRange=0,
                             RetryBackOffRepeatTimes=2, WebSocketPingInterval=1)
    station = await StationProcess(tmp_path / name, "ws://127.0.0.1:%d" % csms.port, defaults=defaults).start()
    try:
        await asyncio.sleep(WATCH)
    finally:
        await station.stop()
        await csms.stop()
    return name, csms, station.log()


def test_every_way_a_connection_ends_is_followed_by_a_wait(tmp_path):
    established = (close_at_once, going_away, tcp_close, dead, bad_utf8, too_big, answers_then_goes_away)

    async def all_at_once():
        return await asyncio.gather(*(watch(tmp_path, b) for b in established + (refuse_upgrade,)))
    results = run(all_at_once())
    for name, csms, log in results:
        gaps = [b - a for a, b in zip(csms.attempts, csms.attempts[1:])]
        assert len(gaps) >= 2, (name, gaps, log)
        waits = [line.split()[-1] for line in log.splitlines() if "reconnect in" in line]
        if name == "refuse_upgrade":
            for n, gap in enumerate(gaps):  # each failed attempt doubles the wait, two doublings at most
                assert gap >= WAITS[n] - 0.05, (name, gaps)
            assert len(gaps) <= 4, (name, gaps)  # 1 + 2 + 4 + 4 = 11 s: no more fit in 13 s
            assert "reconnect in 4" in log, (name, log)
        else:
            assert all(g >= 1 - 0.05 for g in gaps), (name, gaps)  # never at once after a loss
            assert waits and set(waits) == {"1"}, (name, waits)  # the minimum again after each success
    closes = {name: csms.closes for name, csms, _ in results}
    assert 1007 in closes["bad_utf8"] and 1009 in closes["too_big"], closes
