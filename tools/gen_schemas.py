"""Write firmware/csagent/schemas.py: validation tables for the OCPP 2.0.1 messages
the station receives, from the OCA JSON schemas shipped in the pinned `ocpp` package.

The official schemas (128 files, hundreds of KB) do not fit on a board; the
tables keep only what validation needs, with equal nodes (shared definitions,
enumerations, `customData`) stored once. The node layout and kind codes are
defined by firmware/csagent/validate.py, which reads the tables.

Usage: gen_schemas.py [--check] [--out PATH]
  --check  exit 1 when PATH (default: the checked-in module) differs from the output
"""
import argparse
import ast
import importlib.metadata
import importlib.resources
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "firmware", "csagent", "schemas.py")
VALIDATOR = os.path.join(ROOT, "firmware", "csagent", "validate.py")

# Every payload the station receives: the CSMS requests it handles and the
# responses to its own requests. Extend here, then run this tool.
RECEIVED = (
    "DeleteCertificateRequest",
    "GetBaseReportRequest",
    "GetInstalledCertificateIdsRequest",
    "GetReportRequest",
    "GetVariablesRequest",
    "InstallCertificateRequest",
    "RequestStartTransactionRequest",
    "ResetRequest",
    "SetNetworkProfileRequest",
    "SetVariablesRequest",
    "TriggerMessageRequest",
    "UpdateFirmwareRequest",
    "BootNotificationResponse",
    "FirmwareStatusNotificationResponse",
    "HeartbeatResponse",
    "NotifyReportResponse",
    "SecurityEventNotificationResponse",
    "StatusNotificationResponse",
)

# Enumerations a handler checks instead of the validator: (message, array
# property) whose items pass as any string. The OCA test case TC_B_19 sends
# a componentCriteria value outside ComponentCriterionEnumType and wants
# GetReportResponse NotSupported (B08.FR.02), not a CALLERROR
# (CONFORMANCE.md); reports.get_report answers it.
HANDLER_CHECKS_ENUM = (("GetReportRequest", "componentCriteria"),)

# How the table opens and closes in schemas.py, and how tools/build.py
# rewrites it for .mpy files (see the note generate() writes).
TABLE_OPEN, TABLE_CLOSE = "TABLE = (", ")"
LIST_DISPLAY = ("TABLE = tuple([", "])")

# Keywords validation uses, and those it may ignore (documentation, defaults,
# and additionalItems, which means nothing when items is a single schema).
USED = {"type", "properties", "required", "additionalProperties", "enum", "maxLength",
        "minimum", "maximum", "items", "minItems", "maxItems", "format", "$ref"}
IGNORED = {"$schema", "$id", "comment", "definitions", "description", "javaType", "default",
           "additionalItems"}


def schema_dir():
    return importlib.resources.files("ocpp") / "v201" / "schemas"


def load_schema(name):
    """The official schema of one message, e.g. load_schema('ResetRequest')."""
    return json.loads((schema_dir() / (name + ".json")).read_text(encoding="utf-8"))


def received_schema(name):
    """What the station checks a received payload against: the official
    schema with HANDLER_CHECKS_ENUM applied."""
    schema = load_schema(name)
    for message, prop in HANDLER_CHECKS_ENUM:
        if message == name:
            schema["properties"][prop]["items"] = {"type": "string"}
    return schema


def kind_codes():
    """The _KIND = const(N) codes validate.py defines, read without importing it."""
    with open(VALIDATOR, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    codes = {}
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                and getattr(stmt.value.func, "id", None) == "const"):
            value = stmt.value.args[0]
            if isinstance(value, ast.Constant) and type(value.value) is int:  # not its str consts
                codes[stmt.targets[0].id] = value.value
    return {k: codes["_" + k.upper()] for k in
            ("object", "array", "string", "enum", "datetime", "integer", "number", "boolean")}


def canonical(node, root, names):
    """A hashable form of node holding only what validation needs; equal
    content gives equal forms, so the layout can store it once."""
    ref = None
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/definitions/") or len(node) != 1:
            raise ValueError("unsupported $ref use: %r" % node)
        node = root["definitions"][ref[len("#/definitions/"):]]
    unknown = set(node) - USED - IGNORED
    if unknown:
        raise ValueError("keywords the validator does not implement: %s" % sorted(unknown))
    kind = node.get("type")
    form = None
    if "enum" in node:
        if kind != "string" or not all(isinstance(v, str) for v in node["enum"]) or "maxLength" in node:
            raise ValueError("only plain string enumerations are supported: %r" % node)
        form = ("enum", tuple(node["enum"]))
    elif kind == "string" and node.get("format") == "date-time" and "maxLength" not in node:
        form = ("datetime",)
    elif kind == "string" and "format" not in node:
        form = ("string", node.get("maxLength"))
    elif kind in ("integer", "number"):
        form = (kind, node.get("minimum"), node.get("maximum"))
    elif kind == "boolean":
        form = ("boolean",)
    elif kind == "array" and isinstance(node.get("items"), dict):
        form = ("array", canonical(node["items"], root, names), node.get("minItems") or None,
                node.get("maxItems"))
    elif kind == "object":
        extra = node.get("additionalProperties", True)
        required = node.get("required", ())
        props = node.get("properties", {})
        if not isinstance(extra, bool) or set(required) - set(props):
            raise ValueError("unsupported object schema: %r" % node)
        form = ("object", extra, tuple((k, canonical(v, root, names), k in required)
                                       for k, v in props.items()))
    if form is None:
        raise ValueError("unsupported schema: %r" % node)
    if ref:
        names.setdefault(form, set()).add(ref.rsplit("/", 1)[1])
    return form


def layout(roots, names):
    """Place every distinct node once, children first, in one flat list.
    Returns (rows, offsets): rows are (offset, comment, values)."""
    codes = kind_codes()
    offsets = {}
    rows = []
    size = [0]

    def place(form):
        if form in offsets:
            return offsets[form]
        kind = form[0]
        if kind == "object":
            children = [(k, place(child), req) for k, child, req in form[2]]
            values = [form[1], 0]
            for triple in children:
                values.extend(triple)
            what = "object"
        elif kind == "array":
            values = [place(form[1]), form[2], form[3]]
            what = "array of %d" % values[0] + "".join(
                " %s %s" % (k, v) for k, v in zip(("minItems", "maxItems"), form[2:]) if v is not None)
        elif kind == "enum":
            values = [len(form[1])] + list(form[1])
            what = "enum"
        else:
            values = list(form[1:])
            what = kind + "".join(" %s %s" % (k, v) for k, v in
                                  zip(("min", "max") if kind != "string" else ("maxLength",), form[1:])
                                  if v is not None)
        at = size[0]
        values = [codes[kind]] + values
        if kind == "object":
            values[2] = at + len(values)
        label = ", ".join(sorted(names.get(form, ()))) or what
        rows.append((at, "%s (%s)" % (label, what) if label != what else what, values))
        offsets[form] = at
        size[0] += len(values)
        return at

    for name, form in roots:
        place(form)
    return rows, offsets


def _lines(values, width=96):
    out, line = [], "   "
    for v in values:
        item = " %r," % (v,)
        if len(line) + len(item) > width:
            out.append(line)
            line = "   "
        line += item
    out.append(line)
    return out


def generate():
    """The text of schemas.py."""
    names = {}
    roots = []
    for name in sorted(RECEIVED):
        schema = received_schema(name)
        form = canonical(schema, schema, names)
        names.setdefault(form, set()).add(name)
        roots.append((name, form))
    rows, offsets = layout(roots, names)
    version = importlib.metadata.version("ocpp")
    out = [
        '"""Validation tables for the OCPP 2.0.1 payloads the station receives.',
        "",
        "Generated by tools/gen_schemas.py from the OCA JSON schemas in ocpp %s;" % version,
        "do not edit. The layout is described in csagent/validate.py.",
        '"""',
        "# fmt: off",
        "# A constant tuple: frozen into firmware it stays in flash. tools/build.py",
        "# compiles it for .mpy files as a list display (LIST_DISPLAY), whose",
        "# names are interned when loaded rather than made str objects.",
        TABLE_OPEN,
    ]
    for at, comment, values in rows:
        out.append("    # %d: %s" % (at, comment))
        out.extend(_lines(values))
    out.append(TABLE_CLOSE)
    for var, suffix in (("REQUESTS", "Request"), ("RESPONSES", "Response")):
        out.append("%s = {" % var)
        for name, form in roots:
            if name.endswith(suffix):
                out.append("    %r: %d," % (name[:-len(suffix)], offsets[form]))
        out.append("}")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true")
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    text = generate()
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print("%s is not what tools/gen_schemas.py generates; run it" % args.out, file=sys.stderr)
            return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
