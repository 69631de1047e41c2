"""`make run`: the dev CSMS and one station on the MicroPython unix port,
showing the provisioning flow as it happens. Ctrl-C stops both.

After the scripted steps the CSMS console stays open: type
`Action {json payload}` to send the station any request.
"""
import asyncio
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from csms import Csms, console  # noqa: E402

STATE = os.path.join(os.path.dirname(HERE), "state", "demo")


def var(component, variable, value=None):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if value is not None:
        d["attributeValue"] = value
    return d


def steps(url):
    """The provisioning flow a CSMS runs on a new station."""
    return [
        ("GetBaseReport", {"requestId": 1, "reportBase": "SummaryInventory"}),
        ("GetVariables", {"getVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval"),
                                              var("ChargingStation", "Model"),
                                              var("SecurityCtrlr", "BasicAuthPassword")]}),
        ("SetVariables", {"setVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval", "15")]}),
        ("SetNetworkProfile", {"configurationSlot": 1, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 30,
            "securityProfile": 1, "ocppInterface": "Wired0"}}),
        ("SetVariables", {"setVariableData": [var("OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")]}),
        ("Reset", {"type": "OnIdle"}),
    ]


async def main():
    csms = await Csms(interval=30, password="demo-password-0123").start()
    url = "ws://127.0.0.1:%d" % csms.port
    print("CSMS listening on %s; station state in %s" % (url, STATE), flush=True)
    station = await asyncio.create_subprocess_exec(
        sys.executable, os.path.join(HERE, "station.py"), "--csms", url, "--id", "DEMO-001",
        "--state", STATE, "--password", "demo-password-0123", stdin=asyncio.subprocess.DEVNULL)
    try:
        st = await csms.wait_station("DEMO-001", timeout=60)
        await st.wait_for("StatusNotification", timeout=60)
        connections = len(csms.connections)
        for action, payload in steps(url):
            await st.request(action, payload)
            await asyncio.sleep(0.5)  # let the station's own messages (NotifyReport) show
        # After the reset the station comes back through slot 1, as B10 migrates a station.
        st = await csms.wait_station("DEMO-001", connections=connections + 1, timeout=60)
        await st.wait_for("StatusNotification", timeout=60)
        await st.request("GetVariables", {"getVariableData": [var("OCPPCommCtrlr", "ActiveNetworkProfile")]})
        print("Scripted steps done. Type `Action {json}` to send more; Ctrl-C to stop.", flush=True)
        await console(csms)
        await station.wait()
    finally:
        if station.returncode is None:
            station.send_signal(signal.SIGTERM)
            await station.wait()
        await csms.stop()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("stopped", flush=True)
