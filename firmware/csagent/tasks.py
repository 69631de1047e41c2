"""Tasks with an owner. A group starts them, logs what fails in them and
cancels them together, as mqtt_as keeps all of a session's tasks in one
list: the agent has one group for its whole run (watchdog, a scheduled
reset) and one for each connection (registration, heartbeat, connector
status, a report, the work a handler starts after its answer), which is
cancelled when that connection ends.
"""
import asyncio

from .log import log, reason


class Tasks:
    def __init__(self, failed=None):
        """failed(name, error) is awaited when a task raised."""
        self._tasks = []  # (name, task)
        self._failed = failed

    def start(self, coro, name):
        """Run coroutine `coro` as task `name` of this group."""
        self._tasks = [t for t in self._tasks if not t[1].done()]
        self._tasks.append((name, asyncio.create_task(self._run(coro, name))))

    def stop(self, name=None):
        """Cancel the tasks called `name`, or every task when name is None.
        Allocates nothing: it also runs while the process is being stopped."""
        tasks = self._tasks
        for i in range(len(tasks) - 1, -1, -1):
            if name is None or tasks[i][0] == name:
                tasks.pop(i)[1].cancel()

    async def _run(self, coro, name):
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never lost: logged, and its owner told
            log("task-failed", name, reason(e))
            if self._failed:
                await self._failed(name, e)
        finally:
            # MicroPython: a finished coroutine keeps its locals, and its task
            # stays in the list until the next start(): a report's task held
            # the report and its code (2 KB) for as long as nothing started.
            coro = None
