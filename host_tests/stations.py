"""End-to-end plumbing: the dev CSMS in the test's event loop and stations
run by tools/station.py in their own processes, as `make run` runs them."""
import asyncio
import json
import os
import signal
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
from csms import Csms  # noqa: E402,F401  (tools/csms.py)

STATION_PY = os.path.join(ROOT, "tools", "station.py")
STARTUP = 1.0  # seconds station.py may take to start its interpreter and take signals
# make firmware-test: every MicroPython station runs the agent frozen in this
# binary (the 32-bit unix build) at this heap, whatever heap or ROMFS the test
# chose for the 64-bit port's .mpy files
FIRMWARE = os.environ.get("CSAGENT_MICROPYTHON")
FIRMWARE_HEAP = os.environ.get("CSAGENT_HEAP")
if FIRMWARE and not FIRMWARE_HEAP:
    raise RuntimeError("CSAGENT_MICROPYTHON wants CSAGENT_HEAP (e.g. 48K) beside it")
# make firmware-test: CSAGENT_RUNTIME=picow runs every MicroPython station on
# the emulated Pico W over its dialled link (tools/station.py --runtime picow);
# what a board has no use for (heap, ROMFS, another unix port) is left out
RUNTIME = os.environ.get("CSAGENT_RUNTIME")


class StationProcess:
    """One station process; its stderr log goes to <state>.log."""

    def __init__(self, state, csms_url, station_id="CS001", runtime="micropython", password=None,
                 cafile=None, heap=None, install=None, romfs=False, unix_port=None, micropython=None,
                 defaults=None):
        self.state = str(state)
        self.env = dict(os.environ, CSAGENT_DEFAULTS=str(defaults)) if defaults else None
        if RUNTIME and runtime == "micropython":
            runtime, heap, romfs, unix_port, micropython = RUNTIME, None, False, None, None
        self.args = ["--csms", csms_url, "--id", station_id, "--state", self.state, "--runtime", runtime]
        if password:
            self.args += ["--password", password]
        if cafile:
            self.args += ["--cafile", cafile]
        if FIRMWARE and runtime == "micropython" and not micropython:
            heap, romfs, unix_port, micropython = FIRMWARE_HEAP, False, None, FIRMWARE
        if micropython:  # a unix-port binary with the agent frozen in it
            self.args += ["--micropython", micropython]
        if heap:
            self.args += ["--heap", str(heap)]
        if romfs:
            self.args.append("--romfs")
        if unix_port:
            self.args += ["--unix-port", unix_port]
        # extra first-start settings, beside the ones station.py writes
        self.install = dict(install, identity=station_id, password=password, csms_url=csms_url) if install else None
        self.log_path = self.state + ".log"
        self.proc = None
        self.started = 0.0

    async def start(self):
        if self.install is not None and not os.path.exists(os.path.join(self.state, "store")):
            os.makedirs(self.state, exist_ok=True)
            with open(os.path.join(self.state, "install.json"), "w") as f:
                json.dump(self.install, f)
        self._log = open(self.log_path, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, STATION_PY, *self.args, stdout=self._log, stderr=self._log,
            stdin=asyncio.subprocess.DEVNULL, env=self.env)
        self.started = asyncio.get_running_loop().time()
        return self

    async def stop(self, timeout=10):
        # station.py takes SIGTERM once its interpreter is up: a stop sent
        # sooner (a test that stops a station it has just started, on a loaded
        # machine) would kill it (-15) rather than stop it
        await asyncio.sleep(max(0, self.started + STARTUP - asyncio.get_running_loop().time()))
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def power_cut(self):
        """kill -9 the board and the runner that would start it again, as a
        power cut leaves them. The runner is frozen first: a board that has
        just reset is started again at once, and one started between reading
        the runner's children and its kill would outlive the test beside the
        next power-on, both on one flash."""
        pid = self.proc.pid
        try:
            os.kill(pid, signal.SIGSTOP)
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                board = [int(p) for p in f.read().split()]
        except OSError:  # the runner is gone already (ProcessLookupError is one)
            board = []
        for p in board + [pid]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def defaults_with(path, **values):
    """A copy of the host board's model.jsonl at `path` in which the named
    variables (any component) have other default values; for
    StationProcess(defaults=...)."""
    lines = []
    with open(os.path.join(ROOT, "boards", "host", "model.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["variable"] in values:
                d["attributes"][0]["value"] = str(values[d["variable"]])
            lines.append(json.dumps(d) + "\n")
    with open(path, "w") as f:
        f.writelines(lines)
    return path


async def against_csms(state, body, csms_kw=None, **station_kw):
    """body(csms, station, flash) with the dev CSMS and one station on flash
    directory `state`; afterwards every message the station sent must have
    passed the official schemas and the station must have stopped cleanly."""
    csms = await Csms(**dict(dict(interval=300, quiet=True), **(csms_kw or {}))).start()
    station = StationProcess(state, "ws://127.0.0.1:%d" % csms.port, **station_kw)
    await station.start()
    try:
        return await body(csms, station, str(state))
    finally:
        code = await station.stop()
        await csms.stop()
        for st in csms.stations.values():
            assert st.invalid == [], st.invalid
        assert code == 0, station.log()


def run(coro):
    """Run one end-to-end scenario with its own event loop."""
    return asyncio.run(coro)
