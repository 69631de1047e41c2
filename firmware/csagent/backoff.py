"""Reconnect and retry waits from OCPPCommCtrlr.RetryBackOff* (B04,
OCPP-J 2.0.1 Part 4, reconnecting).

The first wait is RetryBackOffWaitMinimum; each further attempt doubles it,
RetryBackOffRepeatTimes times at most; a random 0..RetryBackOffRandomRange
seconds is added each time so a fleet does not reconnect in step.
"""
import os

from .compat import const

_COMM = const("OCPPCommCtrlr")


def delay(model, attempt):
    """Seconds to wait before attempt number `attempt` (0 = first retry)."""
    wait = model.int_value(_COMM, "RetryBackOffWaitMinimum", 30)
    doublings = min(attempt, model.int_value(_COMM, "RetryBackOffRepeatTimes", 5))
    spread = model.int_value(_COMM, "RetryBackOffRandomRange", 10)
    jitter = int.from_bytes(os.urandom(2), "big") % (spread + 1) if spread > 0 else 0
    return (wait << doublings) + jitter


class Reconnects:
    """The waits before connection attempts: none before the first after
    power-up; then delay(0), delay(1) ... one attempt after another, read
    live from the model; once a WebSocket was established (a successful
    connection, OCPP-J Part 4 §5.3), from delay(0) again. So no attempt ever
    follows a lost connection without at least RetryBackOffWaitMinimum."""

    def __init__(self, model):
        self.model = model
        self.attempt = None  # None: just powered up

    def next(self):
        """Seconds to wait before the next attempt."""
        if self.attempt is None:
            self.attempt = 0
            return 0
        self.attempt += 1
        return delay(self.model, self.attempt - 1)

    def went_well(self):
        self.attempt = 0
