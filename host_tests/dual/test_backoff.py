from csagent import backoff


class Model:
    def __init__(self, **values):
        self.values = values

    def int_value(self, component, variable, default=None, **kw):
        return self.values.get(variable, default)


def test_doubles_up_to_repeat_times():
    m = Model(RetryBackOffWaitMinimum=3, RetryBackOffRepeatTimes=2, RetryBackOffRandomRange=0)
    assert [backoff.delay(m, a) for a in range(5)] == [3, 6, 12, 12, 12]


def test_jitter_stays_in_range():
    m = Model(RetryBackOffWaitMinimum=1, RetryBackOffRepeatTimes=0, RetryBackOffRandomRange=4)
    seen = set(backoff.delay(m, 0) for _ in range(200))
    assert seen <= {1, 2, 3, 4, 5} and len(seen) > 1


def test_reconnects_wait_after_every_loss_and_double_until_it_goes_well():
    m = Model(RetryBackOffWaitMinimum=2, RetryBackOffRepeatTimes=2, RetryBackOffRandomRange=0)
    r = backoff.Reconnects(m)
    assert [r.next() for _ in range(5)] == [0, 2, 4, 8, 8]  # power-up: the first attempt at once
    r.went_well()
    assert [r.next() for _ in range(3)] == [2, 4, 8]  # a lost good connection: never at once
    m.values["RetryBackOffWaitMinimum"] = 5  # read live: SetVariables acts on the next wait
    r.went_well()
    assert r.next() == 5


def test_reconnect_waits_keep_their_spread():
    m = Model(RetryBackOffWaitMinimum=1, RetryBackOffRepeatTimes=3, RetryBackOffRandomRange=3)
    r = backoff.Reconnects(m)
    r.next()
    for attempt in range(6):
        wait = r.next()
        base = 1 << min(attempt, 3)
        assert base <= wait <= base + 3, (attempt, wait)
