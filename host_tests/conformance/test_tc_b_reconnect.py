"""TC_B_57: reconnection back-off after a lost connection (B04, OCPP-J Part 4
§5.3 as amended): every wait of the case is checked from both sides. A
WebSocket that was established is a successful connection, so the next
loss waits RetryBackOffWaitMinimum again; only a failed attempt doubles it."""
import time

from harness import case  # noqa: F401  (the fixture)

WAIT = 2  # RetryBackOffWaitMinimum for the case, s; no random part
SLACK = 1.5  # s the station may take past a wait (loading the connection code, the TCP connect): < WAIT


def waited(since, until, wait):
    """The gap between a close (or a refusal) and the next attempt is `wait`."""
    assert wait - 0.05 <= until - since < wait + SLACK, (until - since, wait)


def test_tc_b_57(case):
    link = case.start()
    case.configure(link, RetryBackOffRandomRange=0, RetryBackOffWaitMinimum=WAIT, RetryBackOffRepeatTimes=2,
                   NetworkProfileConnectionAttempts=3)
    closed = time.monotonic()
    link.close()
    waited(closed, case.octt.attempt(2, 20), WAIT)  # step 2: RetryBackOffWaitMinimum
    second = case.octt.link(2)
    time.sleep(0.5)
    assert "BootNotification" not in second.actions()  # Accepted before: a reconnect does not boot
    case.octt.refuse = 1
    closed = time.monotonic()
    second.close()  # step 4: the last connection was established, so the wait starts over
    refused = case.octt.attempt(3, 20)
    waited(closed, refused, WAIT)
    waited(refused, case.octt.attempt(4, 20), 2 * WAIT)  # step 7: doubled after a failed attempt
    case.octt.link(3)
