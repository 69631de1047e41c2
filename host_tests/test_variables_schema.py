"""The B05/B06 handlers' answers and the model's report entries validate
against the official OCPP 2.0.1 JSON schemas, for requests hypothesis
draws: anything the request schemas allow (drawn by a strategy written
from them: hypothesis-jsonschema 0.23.1 cannot draw objects with the pinned
hypothesis 6.170), and the host model's own names bent in the ways a CSMS
gets them wrong (case, tier, instance, attribute, value)."""
import json
import os
import shutil
import tempfile

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from csagent.model import DeviceModel
from csagent.store import Store
from csagent.rpc import CallError
from csagent.variables import get_variables, set_variables

SCHEMAS = os.path.join(ROOT, ".venv", "lib", "python3.11", "site-packages", "ocpp", "v201", "schemas")
DEFAULTS = os.path.join(ROOT, "boards", "host", "model.jsonl")
PASSWORD = "Schema-Test-Password-0001"
SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _schema(name):
    with open(os.path.join(SCHEMAS, name + ".json")) as f:
        return json.load(f)


def _validator(name):
    schema = _schema(name)
    return jsonschema.validators.validator_for(schema)(schema)


GET_RESPONSE = _validator("GetVariablesResponse")
SET_RESPONSE = _validator("SetVariablesResponse")
NOTIFY_REPORT = _validator("NotifyReportRequest")
GET_REQUEST = _validator("GetVariablesRequest")
SET_REQUEST = _validator("SetVariablesRequest")


class Station:
    """The host model on a throw-away store, the password installed."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="csagent-schema-")
        self.model = DeviceModel(DEFAULTS, Store(os.path.join(self.dir, "store")))
        self.model.apply_install({"identity": "CS-SCHEMA", "password": PASSWORD})
        self.entries = list(self.model.variables())

    def close(self):
        shutil.rmtree(self.dir)


STATION = Station()


def teardown_module():
    STATION.close()


def _bent(draw, entry):
    """The entry's component and variable, maybe wrongly addressed."""
    component = json.loads(json.dumps(entry["component"]))
    variable = json.loads(json.dumps(entry["variable"]))
    how = draw(st.sampled_from(["as is", "case", "name", "evse", "instance", "variable"]))
    if how == "case":
        component["name"] = component["name"].upper()
        variable["name"] = variable["name"].lower()
    elif how == "name":
        component["name"] = draw(st.text(min_size=1, max_size=50))
    elif how == "evse":
        component["evse"] = {"id": draw(st.integers(0, 3))}
        if draw(st.booleans()):
            component["evse"]["connectorId"] = draw(st.integers(0, 3))
    elif how == "instance":
        variable["instance"] = draw(st.sampled_from(["", "Default", "GetVariables", "x" * 50]))
    elif how == "variable":
        variable["name"] = draw(st.text(min_size=1, max_size=50))
    return component, variable


VALUES = st.one_of(
    st.text(max_size=60),
    st.integers(-2 ** 40, 2 ** 40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["true", "false", "0", "1,0", "2,1,0", "Heartbeat", "Available", "", PASSWORD]),
    st.text(min_size=900, max_size=1000))


@st.composite
def get_requests(draw):
    items = []
    for _ in range(draw(st.integers(1, 20))):
        component, variable = _bent(draw, draw(st.sampled_from(STATION.entries)))
        item = {"component": component, "variable": variable}
        attr = draw(st.sampled_from([None, "Actual", "Target", "MinSet", "MaxSet"]))
        if attr:
            item["attributeType"] = attr
        items.append(item)
    return {"getVariableData": items}


@st.composite
def set_requests(draw):
    request = draw(get_requests())
    items = request.pop("getVariableData")
    for item in items:
        item["attributeValue"] = draw(VALUES)
    request["setVariableData"] = items
    return request


def _answer(handler, payload, validator):
    size = len(json.dumps([2, "id", "Action", payload]).encode())
    try:
        response = handler(STATION.model, payload, size)
    except CallError as e:
        assert e.args[0] in ("OccurrenceConstraintViolation", "FormatViolation")
        return None
    validator.validate(response)
    assert PASSWORD not in json.dumps(response)
    return response


@SETTINGS
@given(get_requests())
def test_get_answers_validate(payload):
    response = _answer(get_variables, payload, GET_RESPONSE)
    if response is not None:
        assert len(response["getVariableResult"]) == len(payload["getVariableData"])


@SETTINGS
@given(set_requests())
def test_set_answers_validate(payload):
    response = _answer(set_variables, payload, SET_RESPONSE)
    if response is not None:
        assert len(response["setVariableResult"]) == len(payload["setVariableData"])


NAMES = st.text(max_size=50)
CUSTOM = st.fixed_dictionaries({"vendorId": st.text(max_size=255)})


def _with_custom(strategy):
    return st.tuples(strategy, st.one_of(st.none(), CUSTOM)).map(
        lambda t: dict(t[0], customData=t[1]) if t[1] else t[0])


def _optional(required, optional):
    return _with_custom(st.fixed_dictionaries(required, optional=optional))


EVSE = _optional({"id": st.integers(-2 ** 31, 2 ** 31)}, {"connectorId": st.integers(-2 ** 31, 2 ** 31)})
COMPONENT = _optional({"name": NAMES}, {"instance": NAMES, "evse": EVSE})
VARIABLE = _optional({"name": NAMES}, {"instance": NAMES})
ATTRIBUTE = st.sampled_from(["Actual", "Target", "MinSet", "MaxSet"])
GET_DATA = _optional({"component": COMPONENT, "variable": VARIABLE}, {"attributeType": ATTRIBUTE})
SET_DATA = _optional({"component": COMPONENT, "variable": VARIABLE,
                      "attributeValue": st.text(max_size=1000)}, {"attributeType": ATTRIBUTE})


@SETTINGS
@given(_optional({"getVariableData": st.lists(GET_DATA, min_size=1, max_size=20)}, {}))
def test_get_answers_to_any_valid_request_validate(payload):
    GET_REQUEST.validate(payload)
    _answer(get_variables, payload, GET_RESPONSE)


@SETTINGS
@given(_optional({"setVariableData": st.lists(SET_DATA, min_size=1, max_size=20)}, {}))
def test_set_answers_to_any_valid_request_validate(payload):
    SET_REQUEST.validate(payload)
    _answer(set_variables, payload, SET_RESPONSE)


def test_report_entries_validate_as_notify_report_data():
    entries = list(STATION.model.variables())
    assert len(entries) == len(STATION.entries)
    NOTIFY_REPORT.validate({"requestId": 1, "generatedAt": "2026-01-01T00:00:00Z", "seqNo": 0,
                            "tbc": False, "reportData": entries})
    assert PASSWORD not in json.dumps(entries)
