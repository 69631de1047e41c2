"""How the device model finds a definition in its defaults file
(model.jsonl) without keeping it in RAM: the keys of components and
variables, their 24-bit hashes, and tables of 6-byte (hash, line offset)
records. Shared by the model (model.py) and its loading (model_load.py).
"""
import json

from .compat import const
from .store_files import lines

_SEPARATORS = const("/@:#")  # of a key: never in a name (model_load checks)


def component_key(name, evse=None, connector=None, instance=None):
    """'evse@1.1' style key of a component: name/instance@evse.connector."""
    k = name
    if instance:
        k += "/" + instance
    if evse is not None:
        k += "@%d" % evse
        if connector is not None:
            k += ".%d" % connector
    return k.lower()


def variable_key(component, variable, evse=None, connector=None, comp_instance=None, var_instance=None):
    k = component_key(component, evse, connector, comp_instance) + ":" + variable
    if var_instance:
        k += "/" + var_instance
    return k.lower()


def plain(*names):
    """Whether no name holds a key separator: a request's "EVSE@1" must not
    reach the EVSE on tier 1."""
    for name in names:
        if name and any(c in name for c in _SEPARATORS):
            return False
    return True


def component_of(d):
    return component_key(d["component"], d.get("evse"), d.get("connector"), d.get("componentInstance"))


def key_of(d):
    return variable_key(d["component"], d["variable"], d.get("evse"), d.get("connector"),
                        d.get("componentInstance"), d.get("variableInstance"))


def hash_key(text):
    # djb2 kept to 24 bits: every step stays a small int on a 32-bit board.
    h = 5381
    for b in text.encode():
        h = (h * 33 + b) & 0xFFFFFF
    return h


def offsets(table, h):
    """The line offsets recorded under hash h in a table of 6-byte
    (hash, offset) records, both big-endian: a search in C, and no object
    kept per entry."""
    probe = h.to_bytes(3, "big")
    found = []
    at = table.find(probe)
    while at >= 0:
        if at % 6 == 0:
            found.append(table[at + 3] << 16 | table[at + 4] << 8 | table[at + 5])
        at = table.find(probe, at + 1)
    return found


def record(table, h, offset):
    """Add a (hash, offset) record to a table."""
    table.extend(h.to_bytes(3, "big") + offset.to_bytes(3, "big"))


def find(path, table, key, key_fn):
    """The parsed line of the file at `path` that `table` records under the
    hash of `key` and whose key_fn(line) is key, or None: hashes collide."""
    for offset in offsets(table, hash_key(key)):
        with open(path, "rb") as f:
            f.seek(offset)
            for _, line in lines(f, 128):
                d = json.loads(line)
                break
        if key_fn(d) == key:
            return d
    return None
