"""GetVariables (B06) and SetVariables (B05): request items resolved in the
device model, answered item by item.

Values are never logged or echoed here: a SetVariables value may be the
BasicAuthPassword.
"""
from .log import log
from .rpc import CallError
from .values import check_value
from .compat import const

_BYTES_PER_MESSAGE = const("BytesPerMessage")
_DDC = const("DeviceDataCtrlr")
_ITEMS_PER_MESSAGE = const("ItemsPerMessage")
_REPORTING_VALUE_SIZE = const("ReportingValueSize")


def _limits(model, instance, count, size):
    """B06.FR.16/17 name CALLERRORs for a GetVariables beyond its DeviceDataCtrlr
    limits; SetVariables gets the same for the same breach of its own. One
    exception (CONFORMANCE.md): TC_B_* expects a GetVariables with too many
    items answered item by item, so for it this returns True instead of
    raising and get_variables rejects every item."""
    most = model.int_value(_DDC, _BYTES_PER_MESSAGE, var_instance=instance)
    if size is not None and most and size > most:
        raise CallError("FormatViolation", "%s of %d bytes exceeds BytesPerMessage%s %d"
                       % (instance, size, instance, most))
    most = model.int_value(_DDC, _ITEMS_PER_MESSAGE, var_instance=instance)
    if most and count > most:
        if instance == "GetVariables":
            return True
        raise CallError("OccurrenceConstraintViolation", "%d items exceed ItemsPerMessage%s %d"
                       % (count, instance, most))
    return False


def _resolve(model, item):
    """(definition, attributeType, None) or (None, attributeType, status)."""
    comp, var = item["component"], item["variable"]
    attr = item.get("attributeType", "Actual")  # B05.FR.12, B06.FR.11
    evse = comp.get("evse")
    where = {"evse": evse["id"] if evse else None,
             "connector": evse.get("connectorId") if evse else None,
             "comp_instance": comp.get("instance")}
    d = model.definition(comp["name"], var["name"], var_instance=var.get("instance"), **where)
    if d is None:  # a known variable has a known component: this test only when needed
        if not model.has_component(comp["name"], **where):
            return None, attr, "UnknownComponent"  # B05.FR.04, B06.FR.06, B06.FR.15
        return None, attr, "UnknownVariable"  # B05.FR.05, B06.FR.07, B06.FR.15
    if model.attribute(d, attr) is None:
        return None, attr, "NotSupportedAttributeType"  # B05.FR.06, B06.FR.08
    return d, attr, None


def _result(item, attr, status, reason=None):
    # B05.FR.02/03, B06.FR.02/03: the request's component, variable and type.
    r = {"attributeStatus": status, "attributeType": attr,
         "component": item["component"], "variable": item["variable"]}
    if reason:
        r["attributeStatusInfo"] = {"reasonCode": reason}
    return r


def get_variables(model, payload, size=None):
    """B06: GetVariablesRequest payload -> GetVariablesResponse payload.
    `size` is the request frame's length in bytes, checked against
    BytesPerMessageGetVariables."""
    items = payload["getVariableData"]
    if _limits(model, "GetVariables", len(items), size):
        # B06.FR.01 keeps one result per item; each is refused, none read.
        return {"getVariableResult": [_result(item, item.get("attributeType", "Actual"), "Rejected",
                                              "TooManyElements") for item in items]}
    longest = model.value_limit(_REPORTING_VALUE_SIZE, 2500)
    results = []
    for item in items:  # B06.FR.01: one result per item, in order
        d, attr, status = _resolve(model, item)
        if status:
            results.append(_result(item, attr, status))
        elif model.attribute(d, attr).get("mutability") == "WriteOnly":
            results.append(_result(item, attr, "Rejected", "WriteOnly"))  # B06.FR.09
        else:
            r = _result(item, attr, "Accepted")  # B06.FR.10; "" when unset: B06.FR.13
            r["attributeValue"] = model.current(d, attr)[:longest]
            results.append(r)
    return {"getVariableResult": results}


def _check_set(model, d, attr, value, longest):
    if model.attribute(d, attr).get("mutability") == "ReadOnly":
        return "ReadOnly"  # B05.FR.09
    if len(value) > longest:
        return "TooLargeElement"  # ConfigurationValueSize / ValueSize
    return check_value(value, d) or model.extra_check(d, value)


def set_variables(model, payload, size=None):
    """B05: SetVariablesRequest payload -> SetVariablesResponse payload.

    Atomic: every change the response accepts goes into one store commit
    before the response exists, so an Accepted value is already in flash and
    a power cut keeps all or none of one request's changes. Watchers hear of
    Accepted changes afterwards; RebootRequired ones wait for the restart."""
    items = payload["setVariableData"]
    _limits(model, "SetVariables", len(items), size)
    longest = model.value_limit("ConfigurationValueSize", 1000)
    results, changes = [], []
    for item in items:  # B05.FR.01: one result per item, in order
        d, attr, status = _resolve(model, item)
        if status:
            results.append(_result(item, attr, status))
            continue
        value = item["attributeValue"]
        reason = _check_set(model, d, attr, value, longest)
        if reason:
            results.append(_result(item, attr, "Rejected", reason))  # B05.FR.07-09
            continue
        # B05.FR.10; B10.FR.01 allows RebootRequired for what acts only after a restart
        results.append(_result(item, attr, "RebootRequired" if d.get("reboot") else "Accepted"))
        changes.append((d, attr, value, results[-1]))
    if changes:
        try:
            model.store_batch([c[:3] for c in changes])
        except Exception as e:  # whatever stopped the commit: nothing was set (B05.FR.09)
            log("store-failed", type(e).__name__)
            full = isinstance(e, OSError) and e.args and e.args[0] == 28  # ENOSPC
            reason = "OutOfStorage" if full else "InternalError"
            for c in changes:
                c[3]["attributeStatus"] = "Rejected"
                c[3]["attributeStatusInfo"] = {"reasonCode": reason}
            return {"setVariableResult": results}
        for d, attr, value, r in changes:
            if r["attributeStatus"] == "Accepted":
                model.notify(d)
    return {"setVariableResult": results}
