"""Fleet mode beyond one machine: a Locust user class (a locustfile).

Each Locust user is a group of stations: one fleet worker process
(tools/fleet.py --worker) running FLEET_GROUP stations (default 10) with
ids L<random>-001..., on plain asyncio outside Locust's gevent. Every CALL a
station sends becomes a Locust request event (type OCPP, name the action,
response time the latency the station measured; a CALLERROR, timeout or
failure is a failed request), so Locust's web UI, its CSV reports and its
distributed master/worker mode show the fleet's numbers. Connections are
reported as requests of type WS named "connect" (response time 0).

  master:  .venv/bin/locust -f tools/fleet_locust.py --master --host ws://CSMS:9000
  workers: .venv/bin/locust -f tools/fleet_locust.py --worker --master-host MASTER

FLEET_SCENARIO picks the scenario each group plays (default
tools/scenarios/steady.toml: its ramp paces the stations of a group,
Locust's spawn rate the groups), FLEET_STATE the directory for the
stations' flash (default state/locust).
"""
import json
import os
import secrets
import subprocess
import sys

import gevent
from locust import User, constant, task

HERE = os.path.dirname(os.path.abspath(__file__))
FLEET = os.path.join(HERE, "fleet.py")
GROUP = int(os.getenv("FLEET_GROUP", "10"))
SCENARIO = os.getenv("FLEET_SCENARIO", os.path.join(HERE, "scenarios", "steady.toml"))
STATE = os.getenv("FLEET_STATE", os.path.join(os.path.dirname(HERE), "state", "locust"))
FOREVER = 10 ** 7  # seconds: the group runs until Locust stops the user


class FleetStations(User):
    """A group of real stations; they act by themselves, the task only waits."""
    wait_time = constant(1)

    def on_start(self):
        group = "L" + secrets.token_hex(3)
        self.proc = subprocess.Popen(
            [sys.executable, FLEET, "--csms", self.host, "--stations", str(GROUP), "--duration", str(FOREVER),
             "--state", os.path.join(STATE, group), "--scenario", SCENARIO, "--id-pattern", group + "-{n:03}",
             "--worker", "0:%d" % GROUP],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.reader = gevent.spawn(self._events)

    def _events(self):
        fire = self.environment.events.request.fire
        for line in self.proc.stdout:
            d = json.loads(line)
            if "c" in d and d["o"] != "cut":
                fire(request_type="OCPP", name=d["c"], response_time=d["ms"], response_length=0,
                     exception=None if d["o"] == "ok" else RuntimeError(d["o"]), context={"station": d["s"]})
            elif d.get("e") == "connected":
                fire(request_type="WS", name="connect", response_time=0, response_length=0, exception=None,
                     context={"station": d["s"]})

    @task
    def stations_at_work(self):
        """Nothing to do here: the group's process does the work."""

    def on_stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.reader.join(timeout=5)
