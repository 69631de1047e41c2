"""csagent.security_events on both runtimes, over the real store: the queue
survives a restart, stays bounded, keeps a repeating failure once, and an
event leaves it only when the CSMS answered."""
import asyncio
import json

from csagent.rpc import CallFailed
from csagent.security_events import SecurityEvents
from csagent.store import Store
from scratch import with_flash

NOW = 1798761600  # 2027-01-01T00:00:00Z


class Csms:
    """Agent.call for the tests: answers, or fails from call number `fail_at` on."""

    def __init__(self, fail_at=None):
        self.got = []
        self.fail_at = fail_at

    async def call(self, action, payload):
        assert action == "SecurityEventNotification"
        if self.fail_at is not None and len(self.got) >= self.fail_at:
            raise CallFailed("connection closed 1006")
        self.got.append(payload)
        return {}


def queue(flash, csms):
    return SecurityEvents(Store(flash + "/store"), csms.call, lambda: NOW)


def waiting(events):
    """The events not yet acknowledged, oldest first, as the store holds them."""
    return [json.loads(events.store.get("_sec/%d" % n)) for n in range(events.first, events.next)]


async def deliver(events):
    """Run the connection's task until it waits for new events."""
    task = asyncio.create_task(events.deliver())
    for _ in range(50):
        await asyncio.sleep(0)
    task.cancel()


@with_flash
def test_events_wait_across_a_restart_and_go_out_in_order(flash):
    events = queue(flash, Csms())
    events.record("StartupOfTheDevice", "boot reason PowerUp")
    events.record("SettingSystemTime")
    csms = Csms()
    events = queue(flash, csms)  # a reboot before the station was Accepted
    assert [e["type"] for e in waiting(events)] == ["StartupOfTheDevice", "SettingSystemTime"]
    asyncio.run(deliver(events))
    assert csms.got == [{"type": "StartupOfTheDevice", "timestamp": "2027-01-01T00:00:00Z",
                         "techInfo": "boot reason PowerUp"},
                        {"type": "SettingSystemTime", "timestamp": "2027-01-01T00:00:00Z"}]
    assert waiting(queue(flash, Csms())) == []  # acknowledged ones are gone for good


@with_flash
def test_an_unanswered_event_stays_for_the_next_connection(flash):
    csms = Csms(fail_at=1)
    events = queue(flash, csms)
    for kind in ("StartupOfTheDevice", "ResetOrReboot", "SettingSystemTime"):
        events.record(kind)
    asyncio.run(deliver(events))
    assert [e["type"] for e in csms.got] == ["StartupOfTheDevice"]
    assert [e["type"] for e in waiting(events)] == ["ResetOrReboot", "SettingSystemTime"]
    csms.fail_at = None
    asyncio.run(deliver(events))
    assert [e["type"] for e in csms.got] == ["StartupOfTheDevice", "ResetOrReboot", "SettingSystemTime"]


@with_flash
def test_a_repeating_failure_is_queued_once_and_the_queue_is_bounded(flash):
    events = queue(flash, Csms())
    for _ in range(5):  # one refused password per connection attempt
        events.record("FailedToAuthenticateAtCsms", "handshake refused: HTTP/1.1 401", repeats=True)
    assert [e["type"] for e in waiting(events)] == ["FailedToAuthenticateAtCsms"]
    for n in range(20):
        events.record("SettingSystemTime", "moved by %d s" % n)
    left = waiting(queue(flash, Csms()))
    assert len(left) == 10 and left[-1]["techInfo"] == "moved by 19 s"  # the oldest gave way
    events.record("X", "i" * 400)
    assert len(waiting(events)[-1]["techInfo"]) == 255
