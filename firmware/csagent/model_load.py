"""Loading the device model (model.py): the defaults file checked line by
line and indexed. Needed at start-up only: the model borrows it by name
(compat.borrow), gives it the file's path and gets back the two tables.
Its imports run one way, down to the model's public key functions.
"""
import json

from .compat import const
from .model import component_of, find, hash_key, key_of, plain
from .store import lines
from .values import DATA_TYPES, LISTS, check_value, limit

_SEPARATORS = const("/@:#")  # of a key (model.py)
_ATTRIBUTES = const(("Actual", "Target", "MinSet", "MaxSet"))
_MUTABILITIES = const(("ReadOnly", "WriteOnly", "ReadWrite"))


def index(path):
    """(variables, components): the tables (model.find) of the defaults file
    at `path`, streamed; ValueError names the first bad line."""
    tables = (bytearray(), bytearray())
    number = 0
    component = None
    with open(path, "rb") as f:
        for offset, line in lines(f, 128):
            number += 1
            if line.strip():
                component = _add(path, tables, line, offset, number, component)
    return tables


def _add(path, tables, line, offset, number, previous):
    """Index one line; its component key is returned, so that the next
    line of the same component needs no lookup."""
    try:
        d = json.loads(line)
    except ValueError:
        d = None
        reason = "not JSON"
    else:
        try:
            reason = _check_definition(d) if isinstance(d, dict) else "not an object"
        except (AttributeError, KeyError, TypeError):  # e.g. an attribute that is no object
            reason = "malformed definition"
    variables, components = tables
    if reason is None:
        key = key_of(d)
        if find(path, variables, key, key_of) is not None:
            reason = "defined twice"
        _record(variables, hash_key(key), offset)
    if reason:
        raise ValueError("%s line %d: %s" % (path, number, reason))
    component = component_of(d)
    if component != previous and find(path, components, component, component_of) is None:
        _record(components, hash_key(component), offset)
    return component


def _record(table, h, offset):
    table.extend(h.to_bytes(3, "big") + offset.to_bytes(3, "big"))


def _check_definition(d):
    """Reason a parsed line is not a usable definition, or None."""
    for name in ("component", "variable", "componentInstance", "variableInstance"):
        v = d.get(name)
        if v is None and name in ("component", "variable"):
            return "no " + name
        if v is not None and (not isinstance(v, str) or not plain(v)):
            return name + " must be a string without " + _SEPARATORS
    for name in ("evse", "connector"):
        v = d.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return name + " must be a number"
    if d.get("connector") is not None and d.get("evse") is None:
        return "connector without evse"
    if d.get("dataType") not in DATA_TYPES:
        return "dataType"
    for name in ("minLimit", "maxLimit"):
        if d.get(name) is not None and limit(d[name]) is None:
            return name + " must be a number or a decimal string"
    if d["dataType"] in LISTS and not d.get("valuesList"):
        return "a list type needs valuesList"
    attrs = d.get("attributes")
    if not attrs or len(attrs) > 4:
        return "1 to 4 attributes"
    seen = []
    for a in attrs:
        kind = a.get("type", "Actual")
        mutability = a.get("mutability", "ReadWrite")
        if kind not in _ATTRIBUTES or kind in seen or mutability not in _MUTABILITIES:
            return "attribute type or mutability"
        seen.append(kind)
        if mutability != "ReadOnly" and not a.get("persistent"):
            return "a writable attribute must be persistent"
        value = a.get("value", "")
        if value != "" and check_value(value, d):
            return "default value does not suit the characteristics"
    return None
