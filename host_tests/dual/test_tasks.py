"""csagent.tasks on both runtimes: a group cancels its tasks together and
neither loses a task's failure nor lets it stop the others."""
import asyncio

from csagent import log
from csagent.tasks import Tasks


def test_stop_cancels_every_task_of_the_group():
    ran, ticks = [], []

    async def forever(name):
        try:
            while True:
                ticks.append(name)
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            ran.append(name)
            raise

    async def ticking(name):
        del ticks[:]
        await asyncio.sleep(0.05)
        return name in ticks

    async def main():
        group = Tasks()
        group.start(forever("a"), "a")
        group.start(forever("b"), "b")
        assert await ticking("a") and await ticking("b")
        group.stop("a")
        await asyncio.sleep(0.05)
        assert ran == ["a"] and not await ticking("a") and await ticking("b")
        group.stop()
        await asyncio.sleep(0.05)
        assert sorted(ran) == ["a", "b"] and not await ticking("b")
    asyncio.run(main())


def test_a_failure_is_logged_and_told_to_the_owner():
    told, lines = [], []

    async def failed(name, error):
        told.append((name, type(error).__name__))

    async def breaks():
        await asyncio.sleep(0)
        raise MemoryError("heap")

    async def main():
        group = Tasks(failed)
        group.start(breaks(), "online")
        await asyncio.sleep(0.05)
    log.redirect(lines.append)
    try:
        asyncio.run(main())
    finally:
        import sys
        log.redirect(sys.stderr.write)
    assert told == [("online", "MemoryError")]
    assert any("task-failed online MemoryError heap" in line for line in lines), lines
