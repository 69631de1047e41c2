"""What the station's own charge-control firmware uses of the device model.

The CSMS reads and writes variables the agent does not act on itself
(TxCtrlr, AuthCtrlr, SampledDataCtrlr ...: "integrator": true in the board's
model.jsonl). A real station acts on them in its charge controller; this is
its door to them, built on DeviceModel's public methods:

    api = StationApi(agent.model)
    api.read("TxCtrlr", "EVConnectionTimeOut")           # "120"
    api.watch("TxCtrlr", "TxStartPoint", on_start_point)  # on_start_point("EVConnected")
    api.set_actual("EVSE", "Power", "7400", evse=1)       # ValueError if unsuitable

Values are strings, as OCPP carries them. A watcher runs after the CSMS's
change is stored and answered Accepted (not for RebootRequired ones, which
act after the restart), on the agent's event loop: keep it short.
"""


class StationApi:
    def __init__(self, model):
        self._model = model
        self._watchers = {}  # "component:variable" (lower case) -> [fn]
        model.watch(self._changed)

    def read(self, component, variable, **where):
        """The Actual value (str, "" when unset), or None for an unknown
        variable. where: evse, connector, comp_instance, var_instance."""
        return self._model.value(component, variable, **where)

    def set_actual(self, component, variable, value, **where):
        """Set the Actual value from the station's side (a measurement, a
        state). It must suit the variable's characteristics (ValueError);
        persistent values are written to flash only when they change."""
        self._model.set_value(component, variable, value, **where)

    def watch(self, component, variable, fn):
        """fn(value) after each accepted change of that variable by the CSMS."""
        self._watchers.setdefault((component + ":" + variable).lower(), []).append(fn)

    def _changed(self, component, variable):
        fns = self._watchers.get((component + ":" + variable).lower())
        if fns:
            value = self._model.value(component, variable)
            for fn in fns:
                fn(value)
