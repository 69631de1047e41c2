"""One simulated station of the fleet: the real agent on CPython asyncio.

This is the only module that couples the fleet to the agent's internals, so
that a change there is mended here alone. What it relies on:
  - csagent.agent.Agent(board), `await agent.run()`; a power cut cancels
    every task the station started and builds a new Agent on the same flash;
  - board hooks: bring_up(profile) starts each connection attempt, reset()
    is the agent's Reset, connector_status(evse, connector) and
    status_changed() give connector status, charging(evse) a session;
  - csagent.rpc.Rpc.call(action, payload, timeout) for every CALL the
    station sends (its time is the latency the report gives), failing with
    CallFailed("timeout") or CallFailed("CALLERROR <code>"), and
    Rpc.attach(ws, ...) / attach(None) when a connection starts and ends;
  - csagent.log.redirect(write): one line per event, "<t> <event> ...";
    the event "reconnect" means the station waits before its next attempt,
    "task-failed <name>" that one of its tasks raised;
  - the agent opens its sockets with asyncio.open_connection.

Each station's tasks run in their own contextvars context, so log lines,
sockets, tasks and calls are told apart per station without touching the
agent: its log lines go to a ring buffer written to <state>/logs/<id>.log.
"""
import asyncio
import collections
import contextvars
import json
import os
import sys
import time
import weakref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "boards", "host"), os.path.join(ROOT, "firmware")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import csagent.log  # noqa: E402
from board import Board as HostBoard  # noqa: E402  (boards/host/board.py)
from csagent.agent import Agent  # noqa: E402
from csagent.board_base import Board as BaseBoard  # noqa: E402
from csagent.rpc import CallFailed, Rpc  # noqa: E402

CURRENT = contextvars.ContextVar("fleet_station", default=None)
LOG_LINES = 200  # per station, the newest kept


class BoardReset(BaseException):
    """Ends the task that called board.reset(), like the host board's exit;
    a BaseException so that no `except Exception` in the agent keeps it."""


class FleetBoard(HostBoard):
    """The host board with the station's state in memory instead of files."""

    def __init__(self, station):
        BaseBoard.__init__(self, station.flash, station.defaults)
        self.station = station

    async def bring_up(self, profile):
        self.station.attempt()
        if self.station.link_down:
            raise OSError("link down")
        await HostBoard.bring_up(self, profile)

    def reset(self):
        self.station.reset_requested()
        raise BoardReset()

    def charging(self, evse=None):
        c = self.station.charging
        return bool(c) and (evse is None or evse in c)

    def connector_status(self, evse, connector):
        return self.station.status.get((evse, connector), "Available")

    async def status_changed(self):
        event = self.station.status_event
        await event.wait()
        event.clear()


class Station:
    """A station's life: agents built and run one after another on the same
    flash (a power cut or a reset ends one), events sent to `sink`."""

    def __init__(self, index, ident, flash, defaults, url, sink, install=None):
        self.index = index
        self.id = ident
        self.flash = flash
        self.defaults = defaults
        self.url = url
        self.install = install or {}  # more first-start settings (message_timeout)
        self.sink = sink
        self.state = "off"
        self.link_down = False
        self.charging = set()  # EVSE ids with a session
        self.status = {}  # (evse, connector) -> status, "Available" when absent
        self.status_event = asyncio.Event()
        self.tasks = set()
        self.sockets = weakref.WeakSet()
        self.log = collections.deque(maxlen=LOG_LINES)
        self.powered = asyncio.Event()
        self.powered.set()
        self.agent_task = None
        self.end = asyncio.Event()  # set to end the agent's run (power cut, reset)
        self.life = None
        self.reset = False

    # -- life ---------------------------------------------------------------
    def start(self):
        os.makedirs(self.flash, exist_ok=True)
        if not os.path.exists(os.path.join(self.flash, "store")):
            with open(os.path.join(self.flash, "install.json"), "w") as f:
                json.dump(dict(self.install, identity=self.id, csms_url=self.url), f)
        self.life = asyncio.create_task(self._live(), context=contextvars.Context())

    async def _live(self):
        while True:
            await self.powered.wait()
            ctx = contextvars.copy_context()
            ctx.run(CURRENT.set, self)
            self._set_state("booting")
            self.end.clear()
            try:
                agent = ctx.run(Agent, FleetBoard(self))
                self.agent_task = asyncio.create_task(agent.run(), context=ctx)
                ender = asyncio.create_task(self.end.wait())
                await asyncio.wait({self.agent_task, ender}, return_when=asyncio.FIRST_COMPLETED)
                ender.cancel()
                await _end(self.agent_task)
            except asyncio.CancelledError:
                if self.agent_task:
                    await asyncio.shield(_end(self.agent_task))
                self._cut()
                raise
            except Exception as e:  # the agent could not start: a board's watchdog would reset
                self.crashed("start", e)
                await asyncio.sleep(1)
                continue
            task, self.agent_task = self.agent_task, None
            if not task.cancelled() and task.exception() is not None:
                self.crashed("run", task.exception())
            self._cut()
            if self.reset:
                self.reset = False
                self.sink.event("reset", self.id)

    def _cut(self):
        """Power gone: every task of this station stops, its sockets close."""
        for t in list(self.tasks):
            t.cancel()
        for w in list(self.sockets):
            w.transport.abort()
        self._set_state("off")

    def power_cut(self):
        self.powered.clear()
        self.end.set()
        self.sink.event("power_cut", self.id)

    def power_on(self):
        self.powered.set()

    def reset_requested(self):
        """The agent reset its board: end this run, start again at once."""
        self.reset = True
        self.end.set()

    async def stop(self):
        self.life.cancel()
        await asyncio.gather(self.life, return_exceptions=True)
        self.write_log()

    def crashed(self, where, error):
        text = "%s: %s %s" % (where, type(error).__name__, str(error)[:200])
        self.log.append("fleet crash %s\n" % text)
        self.sink.event("crash", self.id, text)

    # -- what the scenario changes -----------------------------------------
    def set_status(self, status, evse=1, connector=1, charging=None):
        self.status[(evse, connector)] = status
        if charging is not None:
            (self.charging.add if charging else self.charging.discard)(evse)
        self.status_event.set()

    def go_offline(self):
        self.link_down = True
        for w in list(self.sockets):
            w.transport.abort()

    def go_online(self):
        self.link_down = False

    # -- what the agent tells ------------------------------------------------
    def _set_state(self, state):
        if state != self.state:
            self.state = state
            self.sink.event("state", self.id, state)

    def attempt(self):
        self.sink.event("attempt", self.id)
        self._set_state("connecting")

    def linked(self, up):
        if up:
            self.sink.event("connected", self.id)
            self._set_state("connected")
        elif self.state != "off":
            self._set_state("backoff")

    def called(self, action, ms, outcome, result):
        self.sink.call(self.id, action, ms, outcome)
        if action == "BootNotification" and outcome == "ok" and result.get("status") == "Accepted":
            self.sink.event("registered", self.id)
            self._set_state("online")

    def logged(self, text):
        self.log.append(text)
        words = text.split(" ", 3)
        if words[1:2] == ["reconnect"]:
            self._set_state("backoff")
        elif words[1:2] == ["task-failed"]:  # the agent's own report of a task that raised
            self.sink.event("task_error", self.id, words[2] if len(words) > 2 else "?")

    def write_log(self):
        os.makedirs(os.path.dirname(self.log_path()), exist_ok=True)
        with open(self.log_path(), "w") as f:
            f.writelines(self.log)

    def log_path(self):
        return os.path.join(os.path.dirname(self.flash), "logs", self.id + ".log")


async def _end(task):
    """Cancel until it ends: on CPython 3.11 asyncio.wait_for can swallow a
    cancel that comes as its inner wait completes (fixed in 3.12)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


def _log_line(text):
    """The agent's log lines: a station's go to that station."""
    station = CURRENT.get()
    if station is None:
        sys.stderr.write(text)
    else:
        station.logged(text)


def _task_done(station, task):
    """Forget a finished task. Its exception is marked retrieved: a
    BoardReset ends the reset task by design, and the agent's task groups
    log any other failure themselves (task-failed, counted in logged())."""
    station.tasks.discard(task)
    if not task.cancelled():
        task.exception()


def _task_factory(loop, coro, context=None):
    task = asyncio.Task(coro, loop=loop, context=context)
    station = (context or contextvars.copy_context()).get(CURRENT)
    if station is not None:
        station.tasks.add(task)
        task.add_done_callback(lambda t: _task_done(station, t))
    return task


_rpc_call = Rpc.call
_rpc_attach = Rpc.attach
_open_connection = asyncio.open_connection


async def _timed_call(self, action, payload, timeout):
    station = CURRENT.get()
    if station is None:
        return await _rpc_call(self, action, payload, timeout)
    t = time.monotonic()
    try:
        result = await _rpc_call(self, action, payload, timeout)
    except asyncio.CancelledError:  # the fleet stopped or the power went: sent, never answered
        station.called(action, (time.monotonic() - t) * 1000, "cut", None)
        raise
    except CallFailed as e:
        text = str(e.args[0]) if e.args else ""
        outcome = "timeout" if text == "timeout" else "callerror" if text.startswith("CALLERROR") else "failed"
        station.called(action, (time.monotonic() - t) * 1000, outcome, None)
        raise
    station.called(action, (time.monotonic() - t) * 1000, "ok", result)
    return result


def _attach(self, ws, *rest):
    _rpc_attach(self, ws, *rest)
    station = CURRENT.get()
    if station is not None:
        station.linked(ws is not None)


async def _tracked_open(*args, **kwargs):
    reader, writer = await _open_connection(*args, **kwargs)
    station = CURRENT.get()
    if station is not None:
        station.sockets.add(writer)
    return reader, writer


def install(loop):
    """Route the agent's logs, tasks, calls and sockets to their stations."""
    csagent.log.redirect(_log_line)
    Rpc.call = _timed_call
    Rpc.attach = _attach
    asyncio.open_connection = _tracked_open
    loop.set_task_factory(_task_factory)
