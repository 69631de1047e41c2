"""Connection attempts against CSMSs that accept the WebSocket upgrade and
then end the connection (issue 11), next to the OCPP-J floor.

Three stations on the MicroPython unix port, each against its own raw CSMS
(host_tests/hostile_csms.py), side by side for one minute: one CSMS closes
each connection at once, one says 1001 going away, one drops the TCP
connection. The stations keep the host board's RetryBackOffWaitMinimum
(5 s) and RetryBackOffRepeatTimes (5), with RetryBackOffRandomRange 0 so
the figures repeat. OCPP-J allows at most one attempt per
RetryBackOffWaitMinimum. Each of those connections was established, a
successful connection (OCPP-J Part 4 §5.3 as amended), so ours wait the
minimum after each: they sit on the floor. A fourth CSMS refuses the upgrade
(HTTP 503): those attempts fail, and the waits double.
"""
import asyncio
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from hostile_csms import HostileCsms, close_at_once, going_away, refuse_upgrade, tcp_close  # noqa: E402
from stations import StationProcess, defaults_with  # noqa: E402

MINUTE = 60
WAIT_MINIMUM = 5


async def attempts(behave, state):
    csms = await HostileCsms(behave).start()
    defaults = defaults_with(os.path.join(state, behave.__name__ + ".jsonl"), RetryBackOffRandomRange=0)
    station = await StationProcess(os.path.join(state, behave.__name__), "ws://127.0.0.1:%d" % csms.port,
                                   defaults=defaults).start()
    try:
        await asyncio.sleep(MINUTE)
    finally:
        await station.stop()
        await csms.stop()
    start = csms.attempts[0]
    return behave.__name__, [round(t - start, 1) for t in csms.attempts]


def run():
    state = tempfile.mkdtemp(prefix="bench-reconnect-")
    async def side_by_side():
        return await asyncio.gather(*(attempts(b, state) for b in (close_at_once, going_away, tcp_close, refuse_upgrade)))
    results = asyncio.run(side_by_side())
    rows = ["| CSMS behaviour | attempts in 60 s | attempt times (s) | OCPP-J floor: at most |", "|---|---:|---|---:|"]
    for name, times in results:
        rows.append("| %s | %d | %s | %d |" % (name.replace("_", " "), len(times), ", ".join(str(t) for t in times),
                                             MINUTE // WAIT_MINIMUM))
    return "\n".join([
        "## Reconnection attempts against a CSMS that hangs up (issue 11)", "",
        "MicroPython unix port, host board defaults (RetryBackOffWaitMinimum %d s, RetryBackOffRepeatTimes 5),"
        % WAIT_MINIMUM,
        "RetryBackOffRandomRange 0; four stations side by side for one minute, three against a raw CSMS that",
        "accepts the upgrade and then ends the connection, one against a CSMS that refuses the upgrade",
        "(HTTP 503). The floor is OCPP-J's limit of one attempt per RetryBackOffWaitMinimum. An established",
        "WebSocket is a successful connection (OCPP-J Part 4 §5.3 as amended), so after each of those the",
        "station waits the minimum again; only attempts that fail, like the refused upgrades, double it.",
        "Before issue 11 the station came back at once: 3,422 connections in 18 s were measured then.", ""]
        + rows + ["", "Reproduce: `make bench` (this section: bench/reconnect.py)."])
