"""TC_B_57: reconnection back-off after a lost connection (B04, OCPP-J Part 4)."""
import time

from harness import case  # noqa: F401  (the fixture)

WAIT = 1  # RetryBackOffWaitMinimum for the case, s


def test_tc_b_57(case):
    link = case.start()
    case.configure(link, RetryBackOffRandomRange=0, RetryBackOffWaitMinimum=WAIT, RetryBackOffRepeatTimes=2,
                   NetworkProfileConnectionAttempts=3)
    closed = time.monotonic()
    link.close()
    again = case.octt.attempt(2, 20)
    assert again - closed >= WAIT - 0.05  # step 2: not before RetryBackOffWaitMinimum
    second = case.octt.link(2)
    time.sleep(0.5)
    assert "BootNotification" not in second.actions()  # Accepted before: a reconnect does not boot
    case.octt.refuse = 1
    closed = time.monotonic()
    second.close()
    refused = case.octt.attempt(3, 20)
    assert refused - closed >= WAIT - 0.05
    accepted = case.octt.attempt(4, 20)
    assert accepted - refused >= 2 * WAIT - 0.05  # step 7: the wait doubled after a failed attempt
    case.octt.link(3)
