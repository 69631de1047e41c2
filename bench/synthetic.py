"""Made-up device-model lines for the model and report benchmarks: shaped
like the host board's (characteristics, one or two attributes)."""
import json

KINDS = (("integer", {"unit": "s", "minLimit": 0, "maxLimit": 86400}, "300"),
         ("string", {"maxLimit": 64}, "Example value of some length"),
         ("OptionList", {"valuesList": "Available,Occupied,Reserved,Unavailable,Faulted"}, "Available"),
         ("boolean", {}, "true"))


def lines(count):
    """`count` JSON lines over up to 50 components."""
    for i in range(count):
        data_type, extra, value = KINDS[i % len(KINDS)]
        d = {"component": "Ctrl%d" % (i % 50), "variable": "Var%d" % i, "dataType": data_type}
        d.update(extra)
        d["attributes"] = [{"value": value, "mutability": "ReadWrite", "persistent": True}]
        if i % 5 == 0:
            d["attributes"].append({"type": "Target", "mutability": "ReadWrite", "persistent": True})
        yield json.dumps(d) + "\n"
