"""The device model: components, their variables and the variables'
attributes and characteristics (OCPP 2.0.1 Part 1, 4; Part 2, 2.x).

The definitions are data, the board's defaults file: JSON Lines, one
variable a line, for example

  {"component": "EVSE", "evse": 1, "variable": "Power", "dataType": "decimal",
   "unit": "W", "maxLimit": 22000,
   "attributes": [{"type": "Actual", "value": "0", "mutability": "ReadOnly"}]}

Line keys: component, variable, dataType and attributes are required;
componentInstance, evse, connector, variableInstance, unit, minLimit,
maxLimit, valuesList and supportsMonitoring (false) are optional, as are three
of ours that are never reported: "reboot": true (SetVariables answers
RebootRequired: the value is stored and acts after a restart), "format"
(a character set, see values.FORMATS) and "integrator": true (the agent does
not act on the variable: the station's own charge-control firmware does,
through station_api; its value is stored and checked like any other). A
limit with more than 7 significant digits must be written as a string
("maxLimit": "22000.000001"): values are compared with it exactly, but a
32-bit board parses a JSON number into a single-precision float. An
attribute has type (Actual),
value (""), mutability (ReadWrite), persistent (false) and constant (false).
Every writable attribute must be persistent (Part 2, 2: "All variables that
are writable SHALL have ... persistent = true").

RAM stays small whatever the model's size: loading streams the file and
keeps only 6 bytes a variable, the hash of its key and the offset of its
line, in one bytearray (a dict took four times as much), and as many a
component; a lookup reads that one line again, unless it is the definition
asked for last, which is kept parsed: parsing a line costs more than the rest
of a request (one such definition is ~0.3 KB of a 32-bit board's heap).
The int values a request is checked against (ItemsPerMessage ...) are kept
until the next write. Values set since then override the defaults:
persistent ones in the store under "_dm/<key>", the others in RAM.
Names and instances match case-insensitively, as the Component and Variable
types define them.
"""
import json

from .compat import borrow, const
from .log import log
from .store import lines
from .values import check_value

_BASIC_AUTH_PASSWORD = const("BasicAuthPassword")
_DDC = const("DeviceDataCtrlr")
_REPORTING_VALUE_SIZE = const("ReportingValueSize")
_SEC = const("SecurityCtrlr")

_SEPARATORS = const("/@:#")  # of a key: never in a name (model_load checks)

# -- finding a definition ----------------------------------------------------
# Keys of components and variables, their 24-bit hashes, and tables of 6-byte
# (hash, line offset) records over the defaults file: what the model looks
# definitions up with, and what model_load.py builds at start-up.


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


def find(path, table, key, key_fn):
    """The parsed line of the file at `path` that `table` records under the
    hash of `key` and whose key_fn(line) is key, or None: hashes collide.
    Its offset comes with it as "at": one small int that names the line."""
    for offset in offsets(table, hash_key(key)):
        with open(path, "rb") as f:
            f.seek(offset)
            for _, line in lines(f, 128):
                d = json.loads(line)
                break
        if key_fn(d) == key:
            d["at"] = offset
            return d
    return None


_PREFIX = const("_dm/")
_CHARACTERISTICS = const(("unit", "dataType", "minLimit", "maxLimit", "valuesList"))
_INTS = const(8)  # int_value() answers kept: the limits every request is checked against


def _text(value):
    if value is True or value is False:
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


class DeviceModel:
    def __init__(self, defaults_path, store):
        """Stream the defaults file into the offset index; ValueError names
        the first bad line."""
        self.store = store
        self._path = defaults_path
        self._live = {}  # values of non-persistent attributes set since start
        self._providers = {}
        self._checks = {}
        self._watchers = []
        self._last = None  # (names asked, definition) of the last lookup that found one
        self._ints = {}  # int_value() answers since the last write
        # (hash of a variable's key, its line's offset) records, and (hash of
        # a component's key, its first line's offset) records (find)
        self._index, self._components = borrow("csagent.model_load", "index", defaults_path)

    # -- lookups -----------------------------------------------------------

    def has_component(self, name, evse=None, connector=None, comp_instance=None):
        return (plain(name, comp_instance) and find(self._path, self._components,
                                                    component_key(name, evse, connector, comp_instance),
                                                    component_of) is not None)

    def definition(self, component, variable, evse=None, connector=None, comp_instance=None,
                   var_instance=None):
        """The variable's parsed line (plus "key"), or None when unknown.
        Shared with later lookups: callers read it, never change it."""
        asked = (component, variable, evse, connector, comp_instance, var_instance)
        last = self._last
        if last and last[0] == asked:  # the names as asked: no key to build on a hit
            return last[1]
        if not plain(component, variable, comp_instance, var_instance):
            return None
        key = variable_key(component, variable, evse, connector, comp_instance, var_instance)
        d = find(self._path, self._index, key, key_of)
        if d is not None:
            d["key"] = key
            self._last = (asked, d)
        return d

    @staticmethod
    def attribute(d, attr="Actual"):
        for a in d["attributes"]:
            if a.get("type", "Actual") == attr:
                return a
        return None

    @staticmethod
    def _store_key(d, attr):
        """The store key of an attribute's value."""
        return _PREFIX + d["key"] + ("" if attr == "Actual" else "#" + attr)

    def current(self, d, attr="Actual"):
        """The attribute's value now: provider, then RAM, store, default."""
        provider = self._providers.get(d["at"]) if attr == "Actual" else None
        if provider is not None:
            return provider()
        key = self._store_key(d, attr)
        value = self._live.get(key)
        if value is None:
            value = self.store.get(key)
        if value is None:
            value = self.attribute(d, attr).get("value", "")
        return value

    def value(self, component, variable, attr="Actual", evse=None, connector=None,
              comp_instance=None, var_instance=None):
        """The value as a str ("" when unset), or None for an unknown
        variable or attribute. Reads WriteOnly values too: for the station's
        own use (Basic auth), never for a report."""
        d = self.definition(component, variable, evse, connector, comp_instance, var_instance)
        if d is None or self.attribute(d, attr) is None:
            return None
        return self.current(d, attr)

    def int_value(self, component, variable, default=None, **where):
        """The value as an int, or default. Kept until the next write: the
        limits a request is checked against are read for every request."""
        asked = (component, variable, default, where.get("evse"), where.get("connector"),
                 where.get("comp_instance"), where.get("var_instance"))
        ints = self._ints
        if asked in ints:
            return ints[asked]
        d = self.definition(component, variable, *asked[3:])
        v = None if d is None or self.attribute(d) is None else self.current(d)
        try:
            n = int(v)
        except (TypeError, ValueError):
            n = default
        if d is None or d["at"] not in self._providers:  # a provider's value moves
            if len(ints) >= _INTS:
                ints.clear()
            ints[asked] = n
        return n

    def characteristics(self, component, variable, **where):
        """VariableCharacteristics of a variable (e.g. the valuesList of
        NetworkConfigurationPriority), or None when unknown."""
        d = self.definition(component, variable, **where)
        return None if d is None else self._characteristics(d)

    @staticmethod
    def _characteristics(d):
        c = {"supportsMonitoring": d.get("supportsMonitoring", False)}
        for name in _CHARACTERISTICS:
            v = d.get(name)
            if isinstance(v, str) and name in ("minLimit", "maxLimit"):
                v = float(v) if "." in v else int(v)  # a limit written as a decimal string
            if v is not None:
                c[name] = v
        return c

    def value_limit(self, setting, ceiling):
        """The smallest of DeviceDataCtrlr.<setting>, ValueSize and the
        schema's own ceiling: how long a value may be."""
        longest = ceiling
        for name in (setting, "ValueSize"):
            n = self.int_value(_DDC, name)
            if n is not None and 0 < n < longest:
                longest = n
        return longest

    # -- changes -----------------------------------------------------------

    def _find(self, component, variable, attr, where):
        d = self.definition(component, variable, **where)
        if d is None or self.attribute(d, attr) is None:
            raise KeyError("%s.%s %s" % (component, variable, attr))
        return d

    def set_value(self, component, variable, value, attr="Actual", **where):
        """A station-internal update (ActiveNetworkProfile, MessageTimeout,
        SecurityProfile ...): no mutability check, but the value must suit
        the characteristics (ValueError). Persistent attributes go to the
        store, only when the value changed; others stay in RAM."""
        d = self._find(component, variable, attr, where)
        text = _text(value)
        reason = check_value(text, d)
        if reason:
            raise ValueError("%s.%s: %s" % (component, variable, reason))
        if self.attribute(d, attr).get("persistent"):
            self.store_batch([(d, attr, text)])
        else:
            self._ints = {}
            self._live[self._store_key(d, attr)] = text

    def store_batch(self, changes):
        """Write (definition, attr, value) changes in ONE store commit, so a
        power cut keeps all or none of them; unchanged values are skipped so
        flash only wears for real changes."""
        batch = {}
        for d, attr, value in changes:
            if self.current(d, attr) != value:
                batch[self._store_key(d, attr)] = value
        if batch:
            self._ints = {}
            self.store.commit(batch)

    def apply_install(self, settings):
        """First start, as a technician would enter them: settings["identity"]
        -> SecurityCtrlr.Identity, settings["password"] ->
        SecurityCtrlr.BasicAuthPassword, both in one commit. Other keys
        (csms_url ...) belong to the network profiles and are ignored here.
        ValueError names the key, never the value."""
        changes = []
        for name, variable in (("identity", "Identity"), ("password", _BASIC_AUTH_PASSWORD)):
            text = settings.get(name)
            if text is None:
                continue
            d = self._find(_SEC, variable, "Actual", {})
            reason = check_value(text, d) if isinstance(text, str) else "InvalidValue"
            if reason:
                raise ValueError("install setting %s: %s" % (name, reason))
            changes.append((d, "Actual", text))
        self.store_batch(changes)

    # Providers and checks are kept by their line's offset, not by a key
    # string: a string of 40-odd characters each was most of what they held.

    def provide(self, component, variable, fn, **where):
        """Let fn() give the Actual value on every read, for what changes
        by itself (ClockCtrlr.DateTime)."""
        self._ints = {}
        self._providers[self._find(component, variable, "Actual", where)["at"]] = fn

    def add_check(self, component, variable, fn, **where):
        """A rule beyond the characteristics for SetVariables: fn(value)
        returns None or a reasonCode to reject with (e.g. B10.FR.02: every
        NetworkConfigurationPriority slot must hold a valid profile)."""
        self._checks[self._find(component, variable, "Actual", where)["at"]] = fn

    def extra_check(self, d, value):
        fn = self._checks.get(d["at"])
        return fn(value) if fn else None

    def watch(self, fn):
        """fn(component, variable) runs after a SetVariables change was
        accepted and stored, so live behaviour can follow it at once."""
        self._watchers.append(fn)

    def notify(self, d):
        for fn in self._watchers:
            try:
                fn(d["component"], d["variable"])
            except Exception as e:  # the change is stored; one bad watcher must not undo the answer
                log("watch-failed", d["component"], d["variable"], type(e).__name__)

    # -- reports -----------------------------------------------------------

    def variables(self):
        """Every variable as a ReportDataType dict, in file order, streamed:
        one definition in RAM at a time. WriteOnly values are left out and
        values are cut to ReportingValueSize/ValueSize (B07, B08). Close the
        generator when stopping early, so the file is closed."""
        longest = self.value_limit(_REPORTING_VALUE_SIZE, 2500)
        self._last = None  # the lookups' caches make room for a report (~0.8 KB)
        self._ints = {}
        with open(self._path, "rb") as f:
            for at, line in lines(f, 128):
                if line.strip():  # neither the line nor the entry stays held here while it is out
                    out = [self._report(at, line, longest)]
                    line = None
                    yield out.pop()

    def _report(self, at, line, longest):
        d = json.loads(line)
        d["key"] = key_of(d)
        d["at"] = at
        component = {"name": d["component"]}
        if d.get("componentInstance"):
            component["instance"] = d["componentInstance"]
        if d.get("evse") is not None:
            component["evse"] = {"id": d["evse"]}
            if d.get("connector") is not None:
                component["evse"]["connectorId"] = d["connector"]
        variable = {"name": d["variable"]}
        if d.get("variableInstance"):
            variable["instance"] = d["variableInstance"]
        attributes = []
        for a in d["attributes"]:
            kind = a.get("type", "Actual")
            mutability = a.get("mutability", "ReadWrite")
            entry = {"type": kind, "mutability": mutability,
                     "persistent": a.get("persistent", False), "constant": a.get("constant", False)}
            if mutability != "WriteOnly":
                entry["value"] = self.current(d, kind)[:longest]
            attributes.append(entry)
        return {"component": component, "variable": variable, "variableAttribute": attributes,
                "variableCharacteristics": self._characteristics(d)}
