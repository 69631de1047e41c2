"""Which agent runs, and the bounded trial of a new one (L01): main.py
calls prepare() at boot, before any other part of the agent is imported,
and drops this module once the agent runs, unless a new one is on trial.

<flash>/fw/ holds
  a/, b/       the two slots; firmware_update.py unpacks a bundle into the
               one not in use: csagent/*.mpy, then `version`
  state.json   {"slot": slot of the last good agent, null for the frozen
               or installed one; "trial": the slot on trial or null;
               "boots": the trial's boots so far; "id", "status": the last
               update's requestId and status, until the CSMS was told},
               written aside and renamed over: a power cut leaves the old
               state or the new one
  trial.json   optional: other bounds for a trial, {"boots": n, "seconds": s}
  download.<requestId>  the bundle being downloaded, removed once unpacked

The slot's directory goes first on the import path, so its csagent shadows
the frozen or installed one. A new agent is on trial until its first
BootNotification is Accepted (firmware_update.after_boot then makes its
slot the good one). It has TRIAL_BOOTS boots and TRIAL_SECONDS in each: a
crash loop, a hang the board's watchdog resets, an exception out of the
agent, or a station that stays unregistered for that long, and the last
good agent is put back by itself; the status "RolledBack" tells the next
Accepted agent to report the update InstallationFailed. This file is never
in a bundle's trial alone: the running one decides, and the one in the
frozen or installed agent decides at every boot.
"""
import json
import os
import sys

from .compat import ticks_diff, ticks_ms
from .store import sync

TRIAL_BOOTS = 3
TRIAL_SECONDS = 600
SLOTS = (None, "a", "b")
# statuses of an update still under way; any other is its end
RUNNING = ("DownloadScheduled", "Downloading", "Downloaded", "SignatureVerified",
           "InstallScheduled", "Installing", "InstallRebooting")


def folder(flash):
    return flash + "/fw"


def _json(path):
    """The JSON object in a file, or {} when it is missing or not one."""
    try:
        with open(path) as f:
            value = json.load(f)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def read(flash):
    """The slot state; one that is not what write() leaves (a flash gone bad)
    reads as none, so the board boots the frozen or installed agent."""
    state = _json(folder(flash) + "/state.json")
    if state.get("slot") not in SLOTS or state.get("trial") not in SLOTS \
            or not isinstance(state.get("boots", 0), int):
        return {}
    return state


def write(flash, state):
    """Replace the state whole (rename is atomic on littlefs and POSIX)."""
    path = folder(flash) + "/state.json"
    with open(path + ".new", "w") as f:
        json.dump(state, f)
        sync(f)
    os.rename(path + ".new", path)


def current(flash):
    """FirmwareStatusNotification's payload now: the update under way, or
    Idle (TriggerMessage, F06)."""
    state = read(flash)
    if state.get("status") in RUNNING and state.get("id") is not None:
        return {"status": state["status"], "requestId": state["id"]}
    return {"status": "Idle"}


def roll_back(flash, why):
    """Put the last good agent back: the next boot runs it, and it reports."""
    state = read(flash)
    if state.get("trial"):
        state["trial"] = None
        state["status"] = "RolledBack"
        write(flash, state)
        sys.stderr.write("firmware: new agent rolled back: %s\n" % why)


def _forget_agent():
    for name in list(sys.modules):
        if name == "board" or name == "csagent" or name.startswith("csagent."):
            del sys.modules[name]


def _load(flash, slot):
    """(board, run) from the slot's agent (None: the frozen or installed one)."""
    _forget_agent()
    if slot:
        sys.path.insert(0, folder(flash) + "/" + slot)
    version = None
    if slot:
        with open(folder(flash) + "/" + slot + "/version") as f:
            version = f.read()  # BootNotification reports it (boot.py)
    import board
    import csagent
    from csagent.agent import run
    if slot and not str(getattr(csagent, "__path__", "")).startswith(folder(flash) + "/" + slot):
        # CPython takes no .mpy: the agent would come from elsewhere and report the slot's version
        raise ImportError("the agent in slot %s does not load on this runtime" % slot)
    b = board.Board()  # last: a board is made once, when its agent imported
    if version:
        b.firmware_version = version
    return b, run


def prepare(flash):
    """(board, run) of the agent to start: a new one on trial (this boot
    counted), else the last good one, else the frozen or installed one."""
    state = read(flash)
    trial = state.get("trial")
    bounds = _json(folder(flash) + "/trial.json")
    boots, seconds = bounds.get("boots", TRIAL_BOOTS), bounds.get("seconds", TRIAL_SECONDS)
    if not (isinstance(boots, int) and isinstance(seconds, int)):
        boots, seconds = TRIAL_BOOTS, TRIAL_SECONDS
    if trial:
        state["boots"] = state.get("boots", 0) + 1
        write(flash, state)
        if state["boots"] > boots:
            roll_back(flash, "not Accepted within %d boots" % boots)
            trial = None
    for slot in [s for s in (trial, state.get("slot")) if s] + [None]:
        try:
            b, run = _load(flash, slot)
            break
        except Exception as e:  # noqa: BLE001 - an agent that does not even import: the next one
            if slot is None:
                raise
            sys.path.pop(0)
            if slot == trial:
                roll_back(flash, "%s %s" % (type(e).__name__, e))
                trial = None
            else:  # the good slot went bad: the frozen or installed agent from now on
                sys.stderr.write("firmware: agent in slot %s does not start: %s\n" % (slot, e))
                state = read(flash)
                state["slot"] = None
                write(flash, state)
    if read(flash).get("status") or trial:
        b.update_pending = True  # for firmware_update.after_boot, once Accepted (boot.py)
    if not trial:
        return b, run
    seconds = bounds.get("seconds", TRIAL_SECONDS)
    b.trial_since = ticks_ms()  # ticks, not the clock: the CSMS sets a board's RTC
    feed = b.feed

    def trial_feed():  # the agent feeds the board's watchdog every second
        feed()
        if b.trial_since is not None and ticks_diff(ticks_ms(), b.trial_since) > seconds * 1000:
            roll_back(flash, "not Accepted within %d s" % seconds)
            b.reset()
    b.feed = trial_feed

    def trial_run(board):
        try:
            run(board)
        except Exception as e:  # noqa: BLE001 - the new agent failed: the good one takes over
            if board.trial_since is None:
                raise
            roll_back(flash, "%s %s" % (type(e).__name__, e))
            board.reset()
    return b, trial_run
