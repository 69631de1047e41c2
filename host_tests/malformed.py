"""Malformed OCPP 2.0.1 payloads derived from the official OCA schemas, and the
CALLERROR code the station must answer each with (the mapping documented in
firmware/csagent/validate.py).

Everything here reads the official JSON schemas, never the generated tables,
so it checks the tables instead of repeating them. Needs host_tests/conftest.py
on the path set-up (tools/ importable), as every test here has.
"""
import copy
import re

import jsonschema
from jsonschema import Draft6Validator

from gen_schemas import RECEIVED, received_schema

FORMAT = "FormatViolation"
TYPE = "TypeConstraintViolation"
OCCURRENCE = "OccurrenceConstraintViolation"
PROPERTY = "PropertyConstraintViolation"

# mutation -> the code validate.check must return for it
EXPECTED = {
    "not_an_object": FORMAT,
    "extra_property": FORMAT,
    "wrong_type": TYPE,
    "missing_required": OCCURRENCE,
    "too_few_items": OCCURRENCE,
    "too_many_items": OCCURRENCE,
    "too_long": PROPERTY,
    "below_minimum": PROPERTY,
    "above_maximum": PROPERTY,
    "not_in_enum": PROPERTY,
    "not_datetime": PROPERTY,
}

EXTRA_KEY = "notInTheSchema"
BAD_DATETIMES = ("yesterday", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z",
                 "2024-01-01T24:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.Z")
SAMPLES = {"string": "x", "integer": 7, "number": 1.5, "boolean": True,
           "object": {}, "array": [], "null": None}
_DELETE = object()

# RFC 3339 section 5.6 date-time, with ASCII digits only; jsonschema has no
# date-time checker unless rfc3339-validator is installed, so we give it this.
RFC3339 = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or RFC3339.fullmatch(v) is not None)
# The schemas declare Draft 6, where 1.0 is an integer; the station follows
# Draft 4 (as the ocpp package does) and wants a JSON integer there.
OfficialValidator = jsonschema.validators.extend(
    Draft6Validator, type_checker=Draft6Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, v: isinstance(v, int) and not isinstance(v, bool)))


def validator(name):
    """jsonschema validator for an official schema, e.g. validator('ResetRequest')."""
    return OfficialValidator(received_schema(name), format_checker=FORMATS)


def resolve(node, root):
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def sites(payload, root):
    """Every (mutation, path, replacement) a payload valid for root allows; each
    breaks exactly one constraint. path is a tuple of keys and indexes."""
    out = [("not_an_object", (), [])]
    todo = [((), payload, root)]
    while todo:
        path, value, node = todo.pop(0)
        node = resolve(node, root)
        kind = node.get("type")
        for other, sample in SAMPLES.items():
            if path and other != kind and not (kind == "number" and other == "integer"):
                out.append(("wrong_type", path, sample))
        if kind == "object":
            props = node.get("properties", {})
            if node.get("additionalProperties", True) is False:
                out.append(("extra_property", path + (EXTRA_KEY,), 1))
            for name in node.get("required", ()):
                out.append(("missing_required", path + (name,), _DELETE))
            for name, sub in props.items():
                if name in value:
                    todo.append((path + (name,), value[name], sub))
        elif kind == "array":
            if node.get("minItems"):
                out.append(("too_few_items", path, value[:node["minItems"] - 1]))
            if "maxItems" in node:
                filler = value[0] if value else full_valid(node["items"], root)
                out.append(("too_many_items", path, value + [filler] * (node["maxItems"] + 1 - len(value))))
            for i, item in enumerate(value):
                todo.append((path + (i,), item, node["items"]))
        elif "enum" in node:
            out.append(("not_in_enum", path, "NotAnEnumValue"))
        elif node.get("format") == "date-time":
            out.extend(("not_datetime", path, bad) for bad in BAD_DATETIMES)
        elif "maxLength" in node:
            out.append(("too_long", path, "x" * (node["maxLength"] + 1)))
        bound = int if kind == "integer" else float  # the schemas write integer bounds as 0.0
        if "minimum" in node:
            out.append(("below_minimum", path, bound(node["minimum"]) - 1))
        if "maximum" in node:
            out.append(("above_maximum", path, bound(node["maximum"]) + 1))
    return out


def apply(payload, path, replacement):
    """A mutated deep copy of payload."""
    if not path:
        return replacement
    out = copy.deepcopy(payload)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if replacement is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return out


def render(path):
    """A path as validate.check writes it: a.b[2].c"""
    text = ""
    for key in path:
        text += "[%d]" % key if isinstance(key, int) else ("." if text else "") + key
    return text


def full_valid(node, root):
    """A valid payload with every declared property present."""
    node = resolve(node, root)
    kind = node.get("type")
    if "enum" in node:
        return node["enum"][-1]
    if kind == "object":
        return {k: full_valid(v, root) for k, v in node.get("properties", {}).items()}
    if kind == "array":
        return [full_valid(node["items"], root)] * max(node.get("minItems", 1), 1)
    if kind == "string":
        if node.get("format") == "date-time":
            return "2024-02-29T23:59:60.5+01:00"
        return "s" * min(node.get("maxLength", 8), 8)
    if kind in ("integer", "number"):
        value = node.get("minimum", node.get("maximum", 3))
        return int(value) if kind == "integer" else value
    return kind == "boolean"


def malformed_cases(responses=False, per_kind=1):
    """[(action, payload, expected errorCode)] for every request the station
    handles (or, with responses=True, every response it reads): per action up
    to per_kind payloads for each mutation that applies, preferring sites
    outside customData and the deepest ones, deterministically."""
    suffix = "Response" if responses else "Request"
    cases = []
    for name in RECEIVED:
        if not name.endswith(suffix):
            continue
        root = received_schema(name)
        base = full_valid(root, root)
        by_kind = {}
        for mutation, path, replacement in sites(base, root):
            by_kind.setdefault(mutation, []).append((path, replacement))
        for mutation in sorted(by_kind):
            ranked = sorted(by_kind[mutation], key=lambda s: ("customData" in s[0], -len(s[0])))
            for path, replacement in ranked[:per_kind]:
                cases.append((name[:-len(suffix)], apply(base, path, replacement), EXPECTED[mutation]))
    return cases
