"""Check an OCPP 2.0.1 payload against the tables generated from the OCA schemas.

A CSMS that sends a malformed request gets the CALLERROR code OCPP-J 2.0.1
(section 4.3, RPC framework error codes) names, and no handler ever sees a
payload the schema forbids. The first violation found wins (declared
properties in schema order, depth first, then an object's undeclared ones):

  violation                                         errorCode
  ------------------------------------------------  -----------------------------
  payload is not a JSON object                      FormatViolation
  property the schema does not declare              FormatViolation
    (additionalProperties: false)
  wrong JSON type (string where integer expected;   TypeConstraintViolation
    true/false is never an integer or number;
    1.0 is not an integer, as in Draft 4)
  required property missing                         OccurrenceConstraintViolation
  array with fewer items than minItems or more      OccurrenceConstraintViolation
    than maxItems
  string longer than maxLength                      PropertyConstraintViolation
  string not in the enumeration                     PropertyConstraintViolation
  number below minimum / above maximum              PropertyConstraintViolation
  "format": "date-time" string that is not an       PropertyConstraintViolation
    RFC 3339 date-time (shape and field ranges;
    an offset, Z or +hh:mm, is required; any
    number of fraction digits)

Descriptions name the field path and the reason, never the offending value
(it may be a password), and stay within errorDescription's 255 characters.

Table layout (csagent/schemas.py, written by tools/gen_schemas.py): one flat
tuple TABLE; a node is an offset into it and TABLE[node] is its kind:
  _OBJECT   additional_allowed, end, then (name, node, required) triples up to end
  _ARRAY    item node, minItems or None, maxItems or None
  _STRING   maxLength or None
  _ENUM     count, then the allowed strings
  _DATETIME (nothing)
  _INTEGER, _NUMBER  minimum or None, maximum or None
  _BOOLEAN  (nothing)
REQUESTS and RESPONSES map an action to its root node.

The walk keeps its own stack, one reused frame per nesting level of the
schema, so depth never depends on the payload and nothing is copied.
"""
from .clock import is_datetime
from .compat import const
from .schemas import REQUESTS, RESPONSES, TABLE

_OBJECT = const(0)
_ARRAY = const(1)
_STRING = const(2)
_ENUM = const(3)
_DATETIME = const(4)
_INTEGER = const(5)
_NUMBER = const(6)
_BOOLEAN = const(7)

_FORMAT = const("FormatViolation")
_TYPE = const("TypeConstraintViolation")
_OCCURRENCE = const("OccurrenceConstraintViolation")
_PROPERTY = const("PropertyConstraintViolation")

_DESCRIPTION_MAX = const(255)  # OCPP-J CALLERROR errorDescription
_KEY_SHOWN = const(40)  # an undeclared key comes from the peer: show a prefix
_MISSING = object()
_EXPECTED = const(("object", "array", "string", "string", "string", "integer", "number", "boolean"))


def known(action, response=False):
    """True when there is a table for action's Request (or Response) payload."""
    return action in (RESPONSES if response else REQUESTS)


def check(action, payload, response=False):
    """None when payload conforms to action's Request schema (or Response schema
    when response is true), else (errorCode, errorDescription).

    An action without a table is an error of ours, said as such rather than
    raised: a handler or a CALL of ours without its schema (tools/gen_schemas.py).
    """
    node = (RESPONSES if response else REQUESTS).get(action)
    if node is None:
        return "InternalError", "no schema table for %s %s" % (action, "response" if response else "request")
    return walk(TABLE, node, payload)


def walk(t, node, payload):
    """check() against the node at offset node of table t."""
    if type(payload) is not dict:
        return _FORMAT, "payload: object expected, got " + _json_type(payload)
    frames = [[payload, node, node + 3, 0]]  # value, node, next triple or index, properties seen
    depth = 1
    while depth:
        frame = frames[depth - 1]
        value = frame[0]
        at = frame[1]
        i = frame[2]
        if t[at] == _OBJECT:
            if i == t[at + 2]:
                if not t[at + 1] and frame[3] != len(value):
                    return _FORMAT, _describe(t, frames, depth - 1, _undeclared(t, at, value), "property not allowed")
                depth -= 1
                continue
            frame[2] = i + 3
            child = value.get(t[i], _MISSING)
            if child is _MISSING:
                if t[i + 2]:
                    return _OCCURRENCE, _describe(t, frames, depth, None, "required property missing")
                continue
            frame[3] += 1
            node = t[i + 1]
        else:
            if i == len(value):
                depth -= 1
                continue
            frame[2] = i + 1
            child = value[i]
            node = t[at + 1]

        kind = t[node]
        if kind == _STRING:
            if type(child) is not str:
                return _wrong_type(t, frames, depth, kind, child)
            limit = t[node + 1]
            if limit is not None and len(child) > limit:
                return _PROPERTY, _describe(t, frames, depth, None, "longer than %d characters" % limit)
        elif kind == _OBJECT or kind == _ARRAY:
            if type(child) is not (dict if kind == _OBJECT else list):
                return _wrong_type(t, frames, depth, kind, child)
            if kind == _ARRAY:
                least = t[node + 2]
                most = t[node + 3]
                if least is not None and len(child) < least:
                    return _OCCURRENCE, _describe(t, frames, depth, None, "fewer than %d items" % least)
                if most is not None and len(child) > most:
                    return _OCCURRENCE, _describe(t, frames, depth, None, "more than %d items" % most)
            start = node + 3 if kind == _OBJECT else 0
            if depth == len(frames):
                frames.append([child, node, start, 0])
            else:
                frame = frames[depth]
                frame[0] = child
                frame[1] = node
                frame[2] = start
                frame[3] = 0
            depth += 1
        elif kind == _ENUM:
            if type(child) is not str:
                return _wrong_type(t, frames, depth, kind, child)
            if not _listed(t, node, child):
                return _PROPERTY, _describe(t, frames, depth, None, "not one of " + _choices(t, node))
        elif kind == _INTEGER or kind == _NUMBER:
            cls = type(child)
            if cls is not int and (kind == _INTEGER or cls is not float):
                return _wrong_type(t, frames, depth, kind, child)
            bound = t[node + 1]
            if bound is not None and child < bound:
                return _PROPERTY, _describe(t, frames, depth, None, "less than minimum %s" % bound)
            bound = t[node + 2]
            if bound is not None and child > bound:
                return _PROPERTY, _describe(t, frames, depth, None, "greater than maximum %s" % bound)
        elif kind == _DATETIME:
            if type(child) is not str:
                return _wrong_type(t, frames, depth, kind, child)
            if not is_datetime(child):
                return _PROPERTY, _describe(t, frames, depth, None, "not an RFC 3339 date-time")
        elif type(child) is not bool:
            return _wrong_type(t, frames, depth, kind, child)
    return None


def _listed(t, node, text):
    try:
        t.index(text, node + 2, node + 2 + t[node + 1])
        return True
    except ValueError:
        return False


def _choices(t, node):
    return "|".join(t[node + 2:node + 2 + t[node + 1]])


def _undeclared(t, at, value):
    """The smallest undeclared key, so both runtimes name the same one."""
    found = None
    for key in value:
        declared = False
        for i in range(at + 3, t[at + 2], 3):
            if t[i] == key:
                declared = True
                break
        if not declared and (found is None or key < found):
            found = key
    if len(found) > _KEY_SHOWN:
        found = found[:_KEY_SHOWN] + "..."
    return found


def _wrong_type(t, frames, depth, kind, child):
    why = _EXPECTED[kind] + " expected, got " + _json_type(child)
    return _TYPE, _describe(t, frames, depth, None, why)


def _json_type(value):
    cls = type(value)
    if cls is bool:
        return "boolean"
    if cls is int:
        return "integer"
    if cls is float:
        return "number"
    if cls is str:
        return "string"
    if cls is dict:
        return "object"
    if cls is list:
        return "array"
    if value is None:
        return "null"
    return "non-JSON value"


def _describe(t, frames, depth, last, why):
    """'path.to[3].field: why' from the keys the frames are on, cut to 255."""
    parts = []
    for d in range(depth):
        frame = frames[d]
        if t[frame[1]] == _OBJECT:
            parts.append(("." if parts else "") + t[frame[2] - 3])
        else:
            parts.append("[%d]" % (frame[2] - 1))
    if last is not None:
        parts.append(("." if parts else "") + last)
    text = "".join(parts) + ": " + why
    return text[:_DESCRIPTION_MAX]
