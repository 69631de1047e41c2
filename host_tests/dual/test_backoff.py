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
