"""Reconnect and retry waits from OCPPCommCtrlr.RetryBackOff* (B04).

The first wait is RetryBackOffWaitMinimum; each further attempt doubles it,
RetryBackOffRepeatTimes times at most; a random 0..RetryBackOffRandomRange
seconds is added each time so a fleet does not reconnect in step.
"""
import os

COMM = "OCPPCommCtrlr"


def delay(model, attempt):
    """Seconds to wait before attempt number `attempt` (0 = first retry)."""
    wait = model.int_value(COMM, "RetryBackOffWaitMinimum", 30)
    doublings = min(attempt, model.int_value(COMM, "RetryBackOffRepeatTimes", 5))
    spread = model.int_value(COMM, "RetryBackOffRandomRange", 10)
    jitter = int.from_bytes(os.urandom(2), "big") % (spread + 1) if spread > 0 else 0
    return (wait << doublings) + jitter
