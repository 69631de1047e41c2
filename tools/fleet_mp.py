"""A fleet station as a MicroPython unix-port process (--runtime micropython):
the exact memory behaviour of a board, one process per station.

The agent runs as tools/station.py runs it (.mpy, 192 KB heap, the host
board); a reset (exit status 75) starts it again on the same flash, a power
cut is SIGKILL. What it does is read from its log lines (csagent.log):
  sent CALL <action> <id> / recv RESULT <action> <id> /
  recv CALLERROR <action> <id> <code> / timeout <action> <id> /
  invalid RESULT <action> <id> ...   the calls and their latency, from the
                                     log's own timestamps
  connected ... / connect-failed ...  connections and attempts
  reconnect in <seconds>             waiting before the next attempt
  boot Accepted ...                  registered
Going offline is the host board's <flash>/link_down file, plus the fault
proxy cutting the live link; connector status and charging sessions are
its <flash>/connector_status and <flash>/charging files.
"""
import asyncio
import collections
import json
import os
import signal

import station as station_tool  # tools/station.py

RESET_EXIT = station_tool.RESET_EXIT
_COMMAND = []  # the built command, once per process


def _command(flash):
    """station.py's command for its defaults, with `flash` for the state."""
    if not _COMMAND:
        args = station_tool.parse(["--csms", "ws://127.0.0.1", "--id", "fleet", "--state", "FLASH"])
        _COMMAND.extend(station_tool.command(args))
    cmd, env = _COMMAND
    return [flash if a.endswith("FLASH") else a for a in cmd], env


class ProcessStation:
    def __init__(self, index, ident, flash, defaults, url, sink, install=None):
        self.index = index
        self.id = ident
        self.flash = os.path.abspath(flash)
        self.defaults = defaults
        self.url = url
        self.sink = sink
        self.install = install or {}
        self.state = "off"
        self.proc = None
        self.powered = asyncio.Event()
        self.powered.set()
        self.life = None
        self.log = collections.deque(maxlen=200)
        self.sent = {}  # message id -> (action, log time)
        self.status = {}  # (evse, connector) -> status
        self.charging = set()

    def start(self):
        os.makedirs(self.flash, exist_ok=True)
        if not os.path.exists(os.path.join(self.flash, "store")):
            with open(os.path.join(self.flash, "install.json"), "w") as f:
                json.dump(dict(self.install, identity=self.id, csms_url=self.url), f)
        self.life = asyncio.create_task(self._live())

    async def _live(self):
        try:
            cmd, env = _command(self.flash)
        except Exception as e:  # the build or the runner's command line: every station would fail alike
            self.sink.event("crash", self.id, "no command: %s %s" % (type(e).__name__, e))
            return
        env = dict(env, CSAGENT_DEFAULTS=self.defaults)
        while True:
            await self.powered.wait()
            self._set_state("booting")
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    *cmd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE)
            except OSError as e:
                self.sink.event("crash", self.id, "cannot start: %s" % e)
                return
            try:
                async for line in self.proc.stderr:
                    self._line(line.decode(errors="replace"))
                code = await self.proc.wait()
            except asyncio.CancelledError:
                self._kill()
                raise
            self._cut_calls()
            self._set_state("off")
            if code == RESET_EXIT:
                self.sink.event("reset", self.id)
            elif self.powered.is_set():  # not killed by us: a crash
                self.log.append("fleet: exit status %s\n" % code)
                self.sink.event("crash", self.id, "exit status %s" % code)
                await asyncio.sleep(1)

    def _kill(self):
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    def _cut_calls(self):
        for action, _ in self.sent.values():
            self.sink.call(self.id, action, 0, "cut")
        self.sent.clear()

    def power_cut(self):
        self.powered.clear()
        self._kill()
        self.sink.event("power_cut", self.id)

    def power_on(self):
        self.powered.set()

    def set_status(self, status, evse=1, connector=1, charging=None):
        self.status[(evse, connector)] = status
        lines = ["%d %d %s\n" % (e, c, v) for (e, c), v in sorted(self.status.items())]
        _write(os.path.join(self.flash, "connector_status"), lines)
        if charging is not None:
            (self.charging.add if charging else self.charging.discard)(evse)
            path = os.path.join(self.flash, "charging")
            if self.charging:
                _write(path, ["%d\n" % e for e in sorted(self.charging)])
            elif os.path.exists(path):
                os.remove(path)

    def go_offline(self):
        open(os.path.join(self.flash, "link_down"), "w").close()

    def go_online(self):
        try:
            os.remove(os.path.join(self.flash, "link_down"))
        except FileNotFoundError:
            pass

    async def stop(self):
        if self.life:
            self.life.cancel()
            await asyncio.gather(self.life, return_exceptions=True)
        if self.proc:
            await self.proc.wait()
        self._cut_calls()
        path = os.path.join(os.path.dirname(self.flash), "logs", self.id + ".log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.writelines(self.log)

    def _set_state(self, state):
        if state != self.state:
            self.state = state
            self.sink.event("state", self.id, state)

    def _line(self, text):
        self.log.append(text)
        f = text.split()
        if len(f) < 2:
            return
        try:
            t = float(f[0])
        except ValueError:
            return
        event, rest = f[1], f[2:]
        if event == "sent" and rest[:1] == ["CALL"] and len(rest) >= 3:
            self.sent[rest[2]] = (rest[1], t)
        elif event == "recv" and rest[:1] in (["RESULT"], ["CALLERROR"]) and len(rest) >= 3:
            self._answer(rest[2], t, "ok" if rest[0] == "RESULT" else "callerror")
        elif event == "invalid" and len(rest) >= 3:
            self._answer(rest[2], t, "failed")
        elif event == "timeout" and len(rest) >= 2:
            self._answer(rest[1], t, "timeout")
        elif event == "connected":
            self.sink.event("attempt", self.id)
            self.sink.event("connected", self.id)
            self._set_state("connected")
        elif event == "boot" and rest[:1] == ["Accepted"]:
            self.sink.event("registered", self.id)
            self._set_state("online")
        elif event == "connect-failed":
            self.sink.event("attempt", self.id)
        elif event in ("reconnect", "disconnected"):
            self._set_state("backoff")

    def _answer(self, msg_id, t, outcome):
        sent = self.sent.pop(msg_id, None)
        if sent:
            self.sink.call(self.id, sent[0], (t - sent[1]) * 1000, outcome)


def _write(path, lines):
    """Whole or not at all: the board may read it at any moment."""
    with open(path + ".new", "w") as f:
        f.writelines(lines)
    os.replace(path + ".new", path)
