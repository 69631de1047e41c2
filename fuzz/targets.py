"""Fuzz targets: each takes one input (bytes) and drives one part of the
agent that parses outside input with it, asserting what must hold. A defect
is an AssertionError or any other exception escaping a target.

They run on CPython and on the MicroPython unix port: fuzz/run.py drives
them with atheris (libFuzzer) on CPython, host_tests/test_fuzz_corpus.py
replays fuzz/corpus/<target>/ through them on both runtimes. Where CPython
has an independent oracle (jsonschema on the official schemas, decimal),
the target also compares against it there.

Targets (TARGETS):
  ws        the WebSocket reader (csagent.ws) on a server byte stream
  ocppj     OCPP-J frames through a real Agent on the host board
  validate  csagent.validate against jsonschema on the official schemas
  store     a program of commits, reloads, bit flips, power cuts and
            foreign lines against csagent.store
  modem     csagent.board_modem dialling and reading identifiers from a modem
            that answers with the input's lines
  values    csagent.values limits and value checks
"""
import asyncio
import binascii
import json
import os
import sys

try:  # CPython only: the oracles
    import decimal

    import jsonschema
    from gen_schemas import received_schema
    from malformed import RFC3339, OfficialValidator
except ImportError:
    decimal = OfficialValidator = None

from csagent import validate as _validate
from csagent.store import Store, StoreError
from csagent.values import DATA_TYPES, check_value, limit

_DUAL = __file__.rsplit("/", 2)[0] + "/host_tests/dual"  # the dual tests' streams.py
if _DUAL not in sys.path:
    sys.path.append(_DUAL)
from streams import Feed  # noqa: E402

CODES = ("FormatViolation", "TypeConstraintViolation", "OccurrenceConstraintViolation",
         "PropertyConstraintViolation")


_validators = {}


def _rfc3339(value):
    """RFC 3339 date-time, the day within its month (5.7), which the
    shape check of host_tests/malformed.py leaves out."""
    if not isinstance(value, str):
        return True
    if RFC3339.fullmatch(value) is None:
        return False
    y, m, d = int(value[:4]), int(value[5:7]), int(value[8:10])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    return d <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1]


def validator(name):
    """jsonschema's validator of an official schema, as the station reads it."""
    if name not in _validators:
        formats = jsonschema.FormatChecker(formats=())
        formats.checks("date-time")(_rfc3339)
        _validators[name] = OfficialValidator(received_schema(name), format_checker=formats)
    return _validators[name]


def _tmp_path(kind):
    """A fresh path, not yet created, in RAM where there is a /dev/shm."""
    try:
        os.stat("/dev/shm")
        base = "/dev/shm"
    except OSError:
        base = "/tmp"
    return base + "/csagent-fuzz-" + kind + "-" + binascii.hexlify(os.urandom(6)).decode()


def _rmtree(path):
    for name in os.listdir(path):
        child = path + "/" + name
        if os.stat(child)[0] & 0x4000:
            _rmtree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def _text(data):
    try:
        return str(data, "utf-8")
    except UnicodeError:
        return None


# --- ws: the WebSocket reader -------------------------------------------


class _Sink:
    """Where the client's frames (pongs, its close) go: nowhere."""

    def write(self, data):
        pass

    async def drain(self):
        pass

    def close(self):
        pass

    async def wait_closed(self):
        pass


def ws(data):
    """Byte 0 sets max_frame and soft_limit; the rest is what the server
    sends. Every message recv returns is whole and UTF-8, or a prefix of at
    most 128 bytes with its true size; the end is always ConnectionClosed."""
    from csagent.ws import ConnectionClosed, WebSocket
    if not data:
        return
    max_frame = (64, 1024, 65536, 16)[data[0] & 3]
    soft_limit = (0, 0, 100, 2000)[data[0] >> 2 & 3]
    sock = WebSocket(Feed(data[1:]), _Sink(), max_frame, 0.5, 0)
    sock.soft_limit = soft_limit

    async def read_all():
        while True:
            try:
                msg, size = await sock.recv()
            except ConnectionClosed as e:
                assert 1000 <= e.code < 5000, e.code
                return
            assert size <= max_frame, (size, max_frame)
            if len(msg) < size:
                assert soft_limit and size > soft_limit and len(msg) <= 128, (len(msg), size)
            else:
                assert len(msg) == size and _text(msg) is not None
    asyncio.run(read_all())


# --- ocppj: frames through a real Agent ----------------------------------

_CSMS_ANSWERS = {
    "BootNotification": {"currentTime": "2024-01-01T00:00:00Z", "interval": 300, "status": "Accepted"},
    "Heartbeat": {"currentTime": "2024-01-01T00:00:00Z"},
}
_agent = None
flash_dir = None  # the Agent's flash; fuzz/run.py sets one in build/ (libFuzzer exits without cleaning up)


class _Link:
    """The agent's WebSocket as the CSMS sees it: every message it sends
    must be JSON; its own CALLs (NotifyReport, ...) are answered at once."""

    def __init__(self, agent):
        self.agent = agent
        self.sent = []

    async def send_parts(self, parts):
        msg = json.loads("".join(parts))
        self.sent.append(msg)
        if msg[0] == 2:
            answer = json.dumps([3, msg[1], _CSMS_ANSWERS.get(msg[2], {})]).encode()
            asyncio.create_task(self.agent.rpc._frame(answer, len(answer)))

    async def close(self, code=1000, reason=""):
        pass


def _make_agent():
    from board import Board  # boards/host
    from csagent.agent import Agent

    class FuzzBoard(Board):
        def reset(self):  # the host board ends the process; here the input goes on
            pass

    flash = flash_dir or _tmp_path("flash")
    try:
        _rmtree(flash)  # what the last run left
    except OSError:
        pass
    os.mkdir(flash)
    return Agent(FuzzBoard(flash))


def ocppj(data):
    """The input's lines are OCPP-J messages from the CSMS to one Agent (made
    once per process: its store and model carry over, as on a station).
    Every message is answered, if at all, with JSON; never InternalError (a
    handler that failed); on CPython each CALLRESULT validates against the
    official response schema."""
    global _agent
    if _agent is None:
        _agent = _make_agent()
    agent = _agent

    async def session():
        link = _Link(agent)
        tasks = []
        agent.rpc.attach(link, lambda coro, name: tasks.append(asyncio.create_task(coro)))
        for line in data.split(b"\n"):
            if _text(line) is None:
                continue  # ws.recv closes with 1007 before the RPC layer sees it
            sent = len(link.sent)
            await agent.rpc._frame(line, len(line))
            for _ in range(50):  # let what the answer started (a report) run a little
                await asyncio.sleep(0)
            _check_answers(line, link.sent[sent:])
        if tasks:  # what an answer started (a report): it ends, and raises nothing
            for result in await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10):
                assert not isinstance(result, Exception), repr(result)
        for msg in link.sent:
            assert msg[0] != 4 or msg[2] != "InternalError", msg
        agent.rpc.attach(None)
    asyncio.run(session())


def _check_answers(line, sent):
    """On CPython: the CALLRESULT to a CALL validates against its official
    response schema."""
    try:
        msg = json.loads(line)
        msg_id, action = msg[1], msg[2] + "Response"
        if msg[0] != 2 or OfficialValidator is None:
            return
    except (ValueError, TypeError, KeyError, IndexError, RuntimeError):
        return
    for answer in sent:
        if answer[0] == 3 and answer[1] == msg_id:
            errors = list(validator(action).iter_errors(answer[2]))
            assert not errors, (action, answer[2], errors[0].message)


def close():
    """Remove what the targets left on disk (the Agent's flash)."""
    global _agent
    if _agent is not None:
        _rmtree(_agent.board.flash)
        _agent = None


# --- validate: against the official schemas -------------------------------


def validate(data):
    """The input is "<Action> <0 request|1 response>\n<payload as JSON>", a
    message the station receives. check() answers None or one of the four
    codes with a short description; on CPython it agrees with jsonschema
    on whether the payload is valid."""
    head, _, body = data.partition(b"\n")
    words = head.split(b" ")
    if len(words) != 2 or words[1] not in (b"0", b"1"):
        return
    action, response = _text(words[0]), words[1] == b"1"
    if action not in (_validate.RESPONSES if response else _validate.REQUESTS):
        return
    try:
        payload = json.loads(_text(body))
    except (ValueError, TypeError, RuntimeError):  # RuntimeError: CPython's recursion limit
        return
    result = _validate.check(action, payload, response)
    if result is not None:
        assert result[0] in CODES and len(result[1]) <= 255, result
    if OfficialValidator is None:
        return
    try:
        official = not list(validator(action + ("Response" if response else "Request")).iter_errors(payload))
    except RecursionError:  # jsonschema's own limit: no verdict
        return
    assert official == (result is None), (action, payload, result)


# --- store: commits, reloads, rot and power cuts --------------------------


def _files(d):
    out = {}
    for name in os.listdir(d):
        with open(d + "/" + name, "rb") as f:
            out[name] = f.read()
    return out


def _put(d, files):
    for name in os.listdir(d):
        if name not in files:
            os.remove(d + "/" + name)
    for name, content in files.items():
        with open(d + "/" + name, "wb") as f:
            f.write(content)


def _change(op, a, b):
    if op == 3:  # many keys with long values: a snapshot or fold of several records
        return dict(("Comp%d/Var/Actual" % i, ("x%d" % b) * 40) for i in range(a % 24))
    value = None if b % 5 == 0 else str(b) * (1 + b % 4)
    return {"k%d" % (a % 6): value}


def store(data):
    """The input is a program, three bytes an instruction (op, a, b):
    0-3 commit, 4 reload, 5 flip a bit of a file, 6 cut the power during
    the last commit, 7 write a foreign CRC-valid line. The store must load
    exactly what was committed when nothing was damaged; exactly the state
    before or after the commit a power cut hit; after rot, a state it held
    before (a prefix of the commits), never one it rolled back; StoreError
    is the only error, and only after damage."""
    d = _tmp_path("store")
    try:
        _store_program(d, data)
    finally:
        _rmtree(d)


def _store_program(d, data):
    s = Store(d)
    history = [{}]  # the states committed, in order, of the line of commits that counts
    damaged = False
    last = None  # (files before, files after, written) of the last commit
    for at in range(0, len(data) - 2, 3):
        op, a, b = data[at] % 8, data[at + 1], data[at + 2]
        if op < 4:
            before = _files(d)
            s.commit(_change(op, a, b))
            after = _files(d)
            written = [n for n in sorted(after) if before.get(n) != after[n]]
            last = (before, after, written) if written else None
            if written:
                history.append(dict(s.items()))
            assert dict(s.items()) == history[-1]
            continue
        if op == 6:
            if last is None:
                continue
            before, after, written = last
            last = None
            written.sort(key=lambda n: n != "base")  # the slot is written last
            cut_file = written[a % len(written)]
            files = dict(before)
            for name in written[:written.index(cut_file)]:
                files[name] = after[name]
            old = before.get(cut_file, b"")
            new = after[cut_file]
            if cut_file == "base" and not new.startswith(old):  # a new generation: torn as base.new
                files["base.new"] = new[:b * len(new) // 256]
            else:
                files[cut_file] = (old if cut_file == "base" else b"") + new[len(old) if cut_file == "base" else 0:][:b]
            _put(d, files)
            if damaged:
                continue
            try:
                s = Store(d)
            except StoreError:
                assert False, "a power cut made the store unreadable"
            state = dict(s.items())
            assert state in (history[-1], history[-2]), state
            if state != history[-1]:
                history.pop()
            continue
        last = None
        names = sorted(os.listdir(d))
        if op == 5 and names:
            name = names[a % len(names)]
            with open(d + "/" + name, "rb") as f:
                content = bytearray(f.read())
            if content:
                content[(a * 256 + b) % len(content)] ^= 1 << (b % 8)
                with open(d + "/" + name, "wb") as f:
                    f.write(content)
                damaged = True
            continue
        if op == 7:  # what another firmware or a tool might leave
            record = ({"s": b}, [b], {"s": b, "c": {"k": b}}, {"c": {"k%d" % b: "v"}, "s": "x"}, {"v": b})[a % 5]
            text = json.dumps(record)
            line = ("%08x " % binascii.crc32(text.encode())).encode() + text.encode() + b"\n"
            name = "base" if b % 2 else "j%d" % (a % 32)
            with open(d + "/" + name, "ab" if name == "base" else "wb") as f:
                f.write(line)
            try:
                state = dict(Store(d).items())
            except StoreError:
                return
            for value in state.values():
                assert isinstance(value, str), state
            return  # a forged record may be replayed as a commit: nothing left to compare
        try:
            s = Store(d)
        except StoreError:
            assert damaged, "StoreError on an undamaged store"
            return
        state = dict(s.items())
        if not damaged:
            assert state == history[-1], (state, history[-1])
            continue
        assert state in history, state
        i = len(history) - 1
        while history[i] != state:
            i -= 1
        del history[i + 1:]
        damaged = False


# --- modem: the AT dialogue -----------------------------------------------


class _ModemLines:
    """A modem that answers every command with the input's next lines."""

    def __init__(self, data):
        self.lines = [line + b"\n" for line in data.split(b"\n")]

    async def readline(self):
        return self.lines.pop(0) if self.lines else b""

    def write(self, data):
        pass

    async def drain(self):
        pass


def _ascii_digits(text):
    for c in text:
        if not "0" <= c <= "9":
            return False
    return True


def modem(data):
    """Byte 0 picks the profile; the rest are the modem's lines. Dialling
    ends in success or ModemError, and info() gives ASCII-digit identifiers
    of 6 to 20 digits."""
    from csagent.board_modem import Modem, ModemError
    if not data:
        return
    profile = {"apn": "internet", "apnAuthentication": ("NONE", "PAP", "CHAP", "AUTO")[data[0] & 3],
               "apnUserName": "u", "apnPassword": "p"}
    if data[0] & 4:
        profile["simPin"] = 1234
    if data[0] & 8:
        profile["preferredNetwork"] = "20404"
        profile["useOnlyPreferredNetwork"] = bool(data[0] & 16)
    stream = _ModemLines(data[1:])
    m = Modem(stream, stream, timeout_ms=50, network_ms=5, poll_ms=1)

    async def talk():
        try:
            await m.dial(profile)
        except ModemError:
            pass
        out = await m.info()
        for key in out:
            assert key in ("iccid", "imsi") and 6 <= len(out[key]) <= 20 and _ascii_digits(out[key]), out
    asyncio.run(talk())


# --- values: limits and value checks --------------------------------------

_REASONS = (None, "InvalidValue", "ValueTooLow", "ValueTooHigh", "TooLargeElement")


def values(data):
    """The input is JSON [dataType index, value, minLimit, maxLimit,
    valuesList, format]. limit() gives an int or None; check_value() one of
    its reason codes; on CPython a number's verdict agrees with decimal."""
    text = _text(data)
    try:
        spec = json.loads(text)
    except (ValueError, TypeError, RuntimeError):
        return
    if not isinstance(spec, list) or len(spec) != 6 or not isinstance(spec[0], int):
        return
    kind, value, low, high, values_list, fmt = spec
    for x in (low, high):
        n = limit(x)
        assert n is None or type(n) is int, (x, n)
    if not isinstance(value, str):
        return
    characteristics = {"dataType": DATA_TYPES[spec[0] % len(DATA_TYPES)]}
    for name, x in (("minLimit", low), ("maxLimit", high)):
        if limit(x) is not None:
            characteristics[name] = x
    if isinstance(values_list, str):
        characteristics["valuesList"] = values_list
    if isinstance(fmt, str):
        characteristics["format"] = fmt
    reason = check_value(value, characteristics)
    assert reason in _REASONS, reason
    kind = characteristics["dataType"]
    if decimal is None or kind not in ("integer", "decimal") or reason == "InvalidValue":
        return
    n = decimal.Decimal(value) * 1000000  # Part 2's syntax was checked: an exact decimal
    low, high = limit(characteristics.get("minLimit")), limit(characteristics.get("maxLimit"))
    expected = "ValueTooLow" if low is not None and n < low else \
        "ValueTooHigh" if high is not None and n > high else None
    assert reason == expected, (value, characteristics, reason)


TARGETS = {"ws": ws, "ocppj": ocppj, "validate": validate, "store": store, "modem": modem, "values": values}
