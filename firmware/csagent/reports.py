"""GetBaseReport (B07) and GetReport (B08): the device model streamed to the
CSMS as NotifyReport CALLs.

The answer goes first (B07.FR.01, B08.FR.01); the NotifyReport messages
follow once it is sent (B07.FR.03, B08.FR.03): the request's requestId
(B07.FR.04), seqNo 0, 1, 2 ..., tbc true on all but the last, generatedAt
the time the message was made. A message holds at most
ItemsPerMessageGetReport entries and at most BytesPerMessageGetReport bytes,
counted over the whole OCPP-J frame [2, "<id>", "NotifyReport", {...}] as
sent (UTF-8), the message id taken at its 36-character maximum. Entries come
from DeviceModel.variables(): every supported attribute, even unset
(B07.FR.11), WriteOnly values left out, values cut to ReportingValueSize.

Report bases (B07): ConfigurationInventory (B07.FR.07) is every variable
with a ReadWrite or WriteOnly attribute, FullInventory (B07.FR.08) every
variable, SummaryInventory (B07.FR.09) the variables named in SUMMARY.

Memory: the model streams its defaults file line by line; this module holds
the JSON text of one entry at a time (its dict goes once it is text), never
the message or the report, so the heap a report needs does not grow with the
model (bench/reports.py measures it). An entry's text is four pieces, one a
field: no allocation needs more contiguous heap than one field's text (a
whole entry's 0.5 KB was what a fragmented 32 KB heap refused).

What a CSMS can rely on:
- One report at a time. A request while a report is being sent, or waits for
  the connection to restart, is answered Rejected (reasonCode Unspecified,
  additionalInfo naming the running requestId); ask again once it is done.
- An entry that alone is larger than BytesPerMessageGetReport goes in a
  message of its own: the limit gives way rather than the data.
- A report that fails part-way starts over from seqNo 0, same requestId, new
  generatedAt: so seqNo 0 arriving again means "drop the parts you have".
  When the connection drops, it starts over once the station is Accepted
  on a new one (Agent.online), however often that happens. When a NotifyReport
  gets a CALLERROR, a bad answer or none within MessageTimeout while the
  link stays up, it starts over at once, up to ATTEMPTS tries in all; then
  the report is given up. A report in progress does not survive a reboot.
- If the matching set has become empty by the time a report starts over,
  one NotifyReport without reportData (seqNo 0, tbc false) closes it.

GetReport filters (B08):
- componentCriteria (B08.FR.07-10): Active, Available and Enabled keep a
  component whose variable of that name is true or that has no such
  variable; Problem keeps one whose Problem is true. Several criteria keep a
  component that meets any of them.
- componentVariable: a field left out matches anything. So a component
  alone gives all its variables; no variable instance gives every instance;
  no component instance gives every instance; an evse without connectorId
  gives that EVSE's component and the same component on its connectors; no
  evse gives the component wherever it is. Names match case-insensitively.
- A criterion outside ComponentCriterionEnumType gets NotSupported (B08.FR.02,
  TC_B_19): the schema check lets it through for this answer.
- Both given: an entry must pass both. Nothing passes: EmptyResultSet and
  no NotifyReport.
- More componentVariable items than ItemsPerMessageGetReport get CALLERROR
  OccurrenceConstraintViolation (B08.FR.17), a request larger than
  BytesPerMessageGetReport CALLERROR FormatViolation (B08.FR.18).
"""
import asyncio
import json

from . import clock
from .compat import collect, const
from .log import log
from .rpc import CallError, CallFailed
from .ws import ConnectionClosed

_AVAILABILITY_STATE = const("AvailabilityState")
_BYTES_PER_MESSAGE = const("BytesPerMessage")
_DDC = const("DeviceDataCtrlr")
_ITEMS_PER_MESSAGE = const("ItemsPerMessage")

ATTEMPTS = 3
BASES = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
CRITERIA = ("Active", "Available", "Enabled", "Problem")  # ComponentCriterionEnumType
# B07.FR.09: the availability and condition of the station, its EVSEs and
# connectors (and of any component that has these standardized variables).
SUMMARY = (_AVAILABILITY_STATE, "Available", "Enabled", "Active", "Problem", "Tripped",
           "Overload", "Fallback")
_COMPACT = const((",", ":"))  # JSON without blanks: each entry's text is ~10% shorter
_FIELDS = const(("component", "variable", "variableAttribute", "variableCharacteristics"))
_HEADS = const(('{"component":', ',"variable":', ',"variableAttribute":', ',"variableCharacteristics":'))
_ENTRY = len('{"component":,"variable":,"variableAttribute":,"variableCharacteristics":}')
# '[2,"<id>","NotifyReport",' and the closing ']' of a frame, the message id
# at its OCPP-J maximum of 36 characters
_FRAME = len('[2,"","NotifyReport",]') + 36


def _size(text):
    """Bytes of `text` as sent."""
    try:
        return len(memoryview(text))  # MicroPython: the str's own UTF-8 bytes, no copy
    except TypeError:
        return len(text.encode())


def _entry_size(text):
    """Bytes of an entry as sent, given its text's pieces (Reports._select)."""
    n = _ENTRY
    for part in text:
        n += _size(part)
    return n


def _next(texts):
    try:
        return next(texts)
    except StopIteration:
        return None


def _configurable(entry):
    """B07.FR.07: what an operator can set."""
    for a in entry["variableAttribute"]:
        if a["mutability"] != "ReadOnly":
            return True
    return False


def _same(wanted, have):
    return have is not None and wanted.lower() == have.lower()


def _matches(item, entry):
    """Does one componentVariable item ask for this entry? Absent fields match anything."""
    want, have = item["component"], entry["component"]
    if not _same(want["name"], have["name"]):
        return False
    if "instance" in want and not _same(want["instance"], have.get("instance")):
        return False
    if "evse" in want:
        evse = have.get("evse")
        if evse is None or evse["id"] != want["evse"]["id"]:
            return False
        if "connectorId" in want["evse"] and evse.get("connectorId") != want["evse"]["connectorId"]:
            return False
    want = item.get("variable")
    if want is None:
        return True
    have = entry["variable"]
    if not _same(want["name"], have["name"]):
        return False
    return "instance" not in want or _same(want["instance"], have.get("instance"))


class _Job:
    """A report under way: what it selects, and how often sending it failed."""

    def __init__(self, request_id, base, criteria=(), items=()):
        self.request_id = request_id
        self.base = base  # GetBaseReport's reportBase; None for GetReport
        self.criteria = criteria  # GetReport's componentCriteria and componentVariable
        self.items = items
        self.failures = 0


def get_base_report(payload, reports):
    """B07, for the action table: `reports` is the agent's Reports."""
    return reports.get_base_report(payload)


def get_report(payload, size, reports):
    """B08, for the action table: `reports` is the agent's Reports."""
    return reports.get_report(payload, size)


class Reports:
    def __init__(self, model, call, now, done=None):
        """call(action, payload) is Agent.call; now() gives Unix seconds;
        done() is called when the report under way has ended."""
        self.model = model
        self.call = call
        self.now = now
        self.done = done
        self._job = None  # the _Job under way
        self._running = False
        self._up = True  # made when a request comes, so over a live link

    # -- requests ----------------------------------------------------------

    def get_base_report(self, payload, size=None):
        """B07: GetBaseReportRequest -> GetBaseReportResponse, NotifyReports after."""
        base = payload["reportBase"]
        if base not in BASES:
            return {"status": "NotSupported"}  # B07.FR.02
        return self._start(_Job(payload["requestId"], base))

    def get_report(self, payload, size=None):
        """B08: GetReportRequest -> GetReportResponse, NotifyReports after."""
        items = payload.get("componentVariable") or ()
        most = self.model.int_value(_DDC, _ITEMS_PER_MESSAGE, var_instance="GetReport")
        if most and len(items) > most:  # B08.FR.17
            raise CallError("OccurrenceConstraintViolation",
                            "%d componentVariable items exceed ItemsPerMessageGetReport %d" % (len(items), most))
        most = self.model.int_value(_DDC, _BYTES_PER_MESSAGE, var_instance="GetReport")
        if size is not None and most and size > most:  # B08.FR.18
            raise CallError("FormatViolation",
                            "request of %d bytes exceeds BytesPerMessageGetReport %d" % (size, most))
        criteria = payload.get("componentCriteria") or ()
        for name in criteria:  # B08.FR.02, TC_B_19: the schema check lets any string through
            if name not in CRITERIA:
                return {"status": "NotSupported", "statusInfo": {
                    "reasonCode": "UnsupportedParam", "additionalInfo": "componentCriteria " + name[:40]}}
        return self._start(_Job(payload["requestId"], None, criteria, items))

    def _start(self, job):
        if self._job is not None:
            return {"status": "Rejected", "statusInfo": {
                "reasonCode": "Unspecified", "additionalInfo": "report %d is in progress" % self._job.request_id}}
        limits = self._limits()  # read before the entries' file is open: one file at a time
        texts = self._select(job)
        text = _next(texts)
        if text is None:
            return {"status": "EmptyResultSet"}
        self._job = job
        log("report", job.request_id, job.base or "custom")
        return {"status": "Accepted"}, lambda: self._run(limits, texts, text)

    # -- connection --------------------------------------------------------

    def waiting(self):
        """A lost link broke a report off: it waits to start over."""
        return self._job is not None and not self._running

    def resume(self):
        """The coroutine that starts the waiting report over; the agent runs
        it once the station is Accepted again (Agent.online)."""
        self._up = True
        return self._run()

    def offline(self):
        self._up = False

    # -- selection ---------------------------------------------------------

    def _select(self, job):
        """The JSON text of each entry the job asks for, in file order, as the
        texts of its _FIELDS; close() when stopping early."""
        keep = self._filter(job)
        entries = self.model.variables()
        try:
            for entry in entries:
                if keep(entry):
                    text = []
                    for field in _FIELDS:
                        text.append(json.dumps(entry[field], separators=_COMPACT))
                    entry = None  # only its text is held while it is out
                    yield text
        finally:
            entries.close()

    def _filter(self, job):
        if job.base == "ConfigurationInventory":
            return _configurable
        if job.base == "SummaryInventory":
            return lambda entry: entry["variable"]["name"] in SUMMARY
        if job.base:
            return lambda entry: True
        criteria, items = job.criteria, job.items
        last = [None, False]  # component dict seen last and its verdict: lines come grouped

        def keep(entry):
            component = entry["component"]
            if criteria:
                if component != last[0]:
                    last[0], last[1] = component, self._meets(component, criteria)
                if not last[1]:
                    return False
            if not items:
                return True
            for item in items:
                if _matches(item, entry):
                    return True
            return False
        return keep

    def _meets(self, component, criteria):
        """B08.FR.07-10 for one component; any criterion met is enough."""
        evse = component.get("evse") or {}
        for name in criteria:
            value = self.model.value(component["name"], name, evse=evse.get("id"),
                                     connector=evse.get("connectorId"), comp_instance=component.get("instance"))
            if value == "true" or (value is None and name != "Problem"):
                return True
        return False

    # -- sending -----------------------------------------------------------

    async def _run(self, limits=None, texts=None, text=None):
        """Send the report under way, starting over on a failure (module doc)."""
        job = self._job
        self._running = True
        paused = False
        try:
            while True:
                if texts is None:
                    limits = self._limits()
                    texts = self._select(job)
                    text = _next(texts)
                ahead, text = [text], None  # the next entry's text, held in one place
                try:
                    await self._stream(job.request_id, limits, texts, ahead)
                    log("report-done", job.request_id)
                    return
                except (CallFailed, ConnectionClosed) as e:
                    if isinstance(e, ConnectionClosed) or not self._up:
                        self._up = False
                        paused = True
                        log("report-paused", job.request_id, "starts over when online")
                        return
                    job.failures += 1
                    if job.failures >= ATTEMPTS:
                        log("report-given-up", job.request_id, "after", job.failures, "failures")
                        return
                    log("report-retry", job.request_id, e.args[0] if e.args else "")
                finally:
                    texts.close()
                    texts = None
        except asyncio.CancelledError:  # its connection ended: start over on the next
            paused = True
            log("report-paused", job.request_id, "starts over when online")
            raise
        except Exception as e:  # e.g. MemoryError: give the report up, keep the agent
            log("report-error", job.request_id, type(e).__name__)
        finally:
            self._running = False
            if not paused:
                self._job = None
                if self.done:
                    self.done()

    def busy(self):
        """A report is under way or waits to start over."""
        return self._job is not None

    def _limits(self):
        """(most entries, most bytes, 0: no limit) of one NotifyReport."""
        return (max(1, self.model.int_value(_DDC, _ITEMS_PER_MESSAGE, 1, var_instance="GetReport")),
                self.model.int_value(_DDC, _BYTES_PER_MESSAGE, 0, var_instance="GetReport"))

    async def _stream(self, request_id, limits, texts, ahead):
        """Send the entries as NotifyReports, each streamed into the WebSocket
        piece by piece: one entry's JSON text is in memory at a time, so the
        heap a report needs does not grow with the message or the model."""
        most_items, most_bytes = limits
        seq = 0
        while True:
            more = [False]
            # Between parts, the last one's garbage goes, and the high-water
            # mark sees what a report holds (a collection costs far less
            # than the part's round trip).
            collect()
            await self.call("NotifyReport", self._pieces(request_id, seq, texts, ahead, more,
                                                          most_items, most_bytes))
            if not more[0]:
                return
            seq += 1

    def _pieces(self, request_id, seq, texts, ahead, more, most_items, most_bytes):
        """The JSON text of one NotifyReport payload, piece by piece. "tbc"
        comes last, when it is known whether entries are left (more[0])."""
        head = '{"requestId":%d,"generatedAt":"%s","seqNo":%d' % (request_id, clock.iso(self.now()), seq)
        if ahead[0] is None:  # nothing (left) to report: reportData has minItems 1
            yield head + ',"tbc":false}'
            return
        yield head + ',"reportData":['
        size = _FRAME + _size(head) + 29  # ',"reportData":[' and '],"tbc":false}'
        count = 0
        while ahead[0] is not None:
            text = ahead[0]
            n = _entry_size(text) + (1 if count else 0)
            if count and (count >= most_items or (most_bytes and size + n > most_bytes)):
                more[0] = True
                break
            if count:
                yield ","
            for i in range(4):
                yield _HEADS[i]
                yield text[i]
            yield "}"
            size += n
            count += 1
            ahead[0] = text = None  # not held while the next entry's text is made
            ahead[0] = _next(texts)
        yield '],"tbc":%s}' % ("true" if more[0] else "false")
