"""Scenarios as data: a TOML file of timed steps, each for a share of the fleet.

    name = "chaos"
    ramp = 50          # stations started per second; 0 starts all at once
    seed = 1           # which stations a share picks
    message_timeout = 30  # the stations' MessageTimeout (their first profile's)
    [model]            # device-model defaults of every station
    "OCPPCommCtrlr.RetryBackOffWaitMinimum" = 2
    [[steps]]
    at = 20            # seconds after the fleet started
    do = "status"      # what happens (STEPS below)
    share = 0.3        # of the fleet (1.0 when absent)
    status = "Occupied"

Steps that a CSMS drives (heartbeat, password, network_profile) are sent to
the station through the fault proxy as if the CSMS sent them. Every step
but status and heartbeat marks its stations as disturbed: the errors and
reconnections they then have were asked for.
"""
import asyncio
import json
import os
import random
import tomllib

from fleet_proxy import Toxic

# step -> its parameters beyond at, do and share, with their defaults
STEPS = {
    "boot_storm": {"off": 0},
    "power_cut": {"off": 5, "spread": 0},
    "status": {"status": "Occupied", "charging": None, "evse": 1, "connector": 1, "spread": 0},
    "offline": {"duration": 30, "spread": 0},
    "latency": {"duration": 30, "ms": 500},
    "jitter": {"duration": 30, "ms": 500},
    "drop": {},
    "freeze": {"duration": 10},
    "csms_restart": {"duration": 5},
    "heartbeat": {"interval": 60},
    "password": {},
    "network_profile": {"slot": 1},
}
WIRE = ("latency", "jitter", "drop", "freeze", "csms_restart", "heartbeat", "password", "network_profile")
CALM = ("status", "heartbeat")
STATUSES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "scenarios", "steady.toml")
MODEL = os.path.join(os.path.dirname(HERE), "boards", "host", "model.jsonl")


class ScenarioError(ValueError):
    pass


def load(path):
    """The scenario in `path`, checked; ScenarioError says what is wrong."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ScenarioError("%s: %s" % (path, e.strerror))
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("%s: %s" % (path, e))
    where = os.path.basename(path)
    unknown = set(data) - {"name", "ramp", "seed", "model", "steps", "message_timeout"}
    if unknown:
        raise ScenarioError("%s: unknown key %s" % (where, ", ".join(sorted(unknown))))
    ramp = data.get("ramp", 50)
    if not isinstance(ramp, (int, float)) or ramp < 0:
        raise ScenarioError("%s: ramp wants stations per second, 0 or more" % where)
    model = data.get("model", {})
    if not isinstance(model, dict) or not all(isinstance(v, (str, int, float, bool)) for v in model.values()):
        raise ScenarioError("%s: [model] wants \"Component.Variable\" = value" % where)
    timeout = data.get("message_timeout", 30)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
        raise ScenarioError("%s: message_timeout wants whole seconds, 1 or more" % where)
    steps = []
    for i, raw in enumerate(data.get("steps", [])):
        steps.append(_step(raw, "%s step %d" % (where, i + 1)))
    model = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in model.items()}
    try:
        model_lines(model)
    except ValueError as e:
        raise ScenarioError("%s: %s" % (where, e))
    return {"name": data.get("name", os.path.splitext(where)[0]), "ramp": ramp, "seed": data.get("seed", 1),
            "model": model, "install": {"message_timeout": timeout},
            "steps": sorted(steps, key=lambda s: s["at"])}


def model_lines(overrides):
    """The host board's model.jsonl lines with some values changed:
    overrides maps "Component.Variable" (or "Component.Variable.Instance")
    to the new Actual value. An unknown name is a ValueError."""
    left = dict(overrides)
    out = []
    with open(MODEL) as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            name = "%s.%s" % (d["component"], d["variable"])
            if d.get("variableInstance"):
                name += "." + d["variableInstance"]
            if name in left:
                d["attributes"][0]["value"] = left.pop(name)
            out.append(json.dumps(d) + "\n")
    if left:
        raise ValueError("model has no variable %s" % ", ".join(sorted(left)))
    return out


def write_model(path, overrides):
    """model_lines() in a file of its own, for the stations' boards."""
    with open(path, "w") as f:
        f.writelines(model_lines(overrides))
    return path


def _step(raw, where):
    do = raw.get("do")
    if do not in STEPS:
        raise ScenarioError("%s: do wants one of %s" % (where, ", ".join(STEPS)))
    step = dict(STEPS[do], do=do, at=0, share=1.0)
    unknown = set(raw) - set(step)
    if unknown:
        raise ScenarioError("%s: %s takes no %s" % (where, do, ", ".join(sorted(unknown))))
    step.update(raw)
    for key in ("at", "share", "off", "spread", "duration", "ms", "interval"):
        if key in step and (not isinstance(step[key], (int, float)) or isinstance(step[key], bool) or step[key] < 0):
            raise ScenarioError("%s: %s wants a number, 0 or more" % (where, key))
    if step["share"] > 1:
        raise ScenarioError("%s: share wants 0 to 1" % where)
    if do == "status" and step["status"] not in STATUSES:
        raise ScenarioError("%s: status wants one of %s" % (where, ", ".join(STATUSES)))
    return step


def needs_proxy(scenario, runtime="cpython"):
    """Whether the stations reach the CSMS through the fault proxy: for
    faults on the wire, and for going offline on MicroPython (a process's
    socket can only be cut from outside)."""
    wire = WIRE + (("offline",) if runtime == "micropython" else ())
    return any(s["do"] in wire for s in scenario["steps"])


def chosen(scenario, index, step, stations):
    """Indices (0-based, over the whole fleet) of the stations a step picks:
    the same in every worker process, whatever its part of the fleet."""
    k = round(step["share"] * stations)
    return set(random.Random("%s/%d" % (scenario["seed"], index)).sample(range(stations), k))


class Runner:
    """Plays a scenario's steps on the stations of one process (`fleet`:
    stations by index, proxy, sink, start time, CSMS URL for profiles)."""

    def __init__(self, scenario, fleet):
        self.scenario = scenario
        self.fleet = fleet

    async def run(self):
        await asyncio.gather(*(self._at(i, s) for i, s in enumerate(self.scenario["steps"])))

    async def _at(self, index, step):
        fleet = self.fleet
        await fleet.until(step["at"])
        picked = chosen(self.scenario, index, step, fleet.total)
        mine = [fleet.stations[i] for i in sorted(picked) if i in fleet.stations]
        if step["do"] not in CALM:
            for st in mine:
                fleet.sink.event("disturbed", st.id)
        if step["do"] == "csms_restart":
            for st in fleet.stations.values():
                fleet.sink.event("disturbed", st.id)
        await getattr(self, step["do"])(step, mine, index)

    async def _spread(self, step, stations, act):
        async def one(st):
            if step.get("spread"):
                await asyncio.sleep(random.random() * step["spread"])
            await act(st)
        await asyncio.gather(*(one(st) for st in stations))

    async def boot_storm(self, step, stations, index):
        for st in stations:
            st.power_cut()
        await asyncio.sleep(step["off"])
        for st in stations:
            st.power_on()

    async def power_cut(self, step, stations, index):
        async def act(st):
            st.power_cut()
            await asyncio.sleep(step["off"])
            st.power_on()
        await self._spread(step, stations, act)

    async def status(self, step, stations, index):
        async def act(st):
            st.set_status(step["status"], step["evse"], step["connector"], step["charging"])
        await self._spread(step, stations, act)

    async def offline(self, step, stations, index):
        async def act(st):
            st.go_offline()
            if self.fleet.proxy:
                self.fleet.proxy.drop({st.id})
            await asyncio.sleep(step["duration"])
            st.go_online()
        await self._spread(step, stations, act)

    async def _toxic(self, step, stations, index, kind):
        proxy = self.fleet.proxy
        name = "step%d" % index
        proxy.add(Toxic(name, kind, set(st.id for st in stations), step.get("ms", 0)))
        await asyncio.sleep(step["duration"])
        proxy.remove(name)

    async def latency(self, step, stations, index):
        await self._toxic(step, stations, index, "latency")

    async def jitter(self, step, stations, index):
        await self._toxic(step, stations, index, "jitter")

    async def freeze(self, step, stations, index):
        await self._toxic(step, stations, index, "freeze")

    async def drop(self, step, stations, index):
        self.fleet.proxy.drop(set(st.id for st in stations))

    async def csms_restart(self, step, stations, index):
        """The CSMS goes away: every link cut, connections refused a while."""
        proxy = self.fleet.proxy
        name = "step%d" % index
        proxy.add(Toxic(name, "refuse"))
        proxy.drop()
        await asyncio.sleep(step["duration"])
        proxy.remove(name)

    # -- what a CSMS drives --------------------------------------------------
    async def _as_csms(self, st, requests):
        """Send the station `requests` (action, payload, key of the status
        in the answer) in order, as its CSMS; stop at the first refusal."""
        for action, payload, status_of in requests:
            try:
                msg = await self.fleet.proxy.request(st.id, action, payload)
                status = status_of(msg[2]) if msg[0] == 3 else "CALLERROR-" + str(msg[2])
            except (asyncio.TimeoutError, ConnectionError) as e:
                status = "timeout" if isinstance(e, asyncio.TimeoutError) else "offline"
            self.fleet.sink.event("csms", st.id, action, status)
            if status not in ("Accepted", "RebootRequired", "Scheduled"):
                return

    async def heartbeat(self, step, stations, index):
        reqs = [_set_variable("OCPPCommCtrlr", "HeartbeatInterval", str(step["interval"]))]
        await asyncio.gather(*(self._as_csms(st, reqs) for st in stations))

    async def password(self, step, stations, index):
        await asyncio.gather(*(self._as_csms(st, [_set_variable(
            "SecurityCtrlr", "BasicAuthPassword", "fleet-" + os.urandom(8).hex())]) for st in stations))

    async def network_profile(self, step, stations, index):
        """B09/B10 migration: a profile in `slot`, the priority puts it first,
        and a reset makes the station connect through it."""
        slot = step["slot"]
        profile = {"configurationSlot": slot, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": self.fleet.csms_url,
            "messageTimeout": 30, "securityProfile": 1, "ocppInterface": "Wired0"}}
        reqs = [("SetNetworkProfile", profile, lambda p: p.get("status")),
                _set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "%d,0" % slot),
                ("Reset", {"type": "Immediate"}, lambda p: p.get("status"))]
        await asyncio.gather(*(self._as_csms(st, reqs) for st in stations))


def _set_variable(component, variable, value):
    payload = {"setVariableData": [{"component": {"name": component}, "variable": {"name": variable},
                                    "attributeValue": value}]}
    return "SetVariables", payload, lambda p: (p.get("setVariableResult") or [{}])[0].get("attributeStatus")
