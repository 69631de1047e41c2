"""Migrate to a new CSMS (B10): the order in which network-profile slots are
tried, and the fallback when the new one cannot be reached.

NetworkConfigurationPriority names the slots, first choice first. A new
priority is accepted only when every slot it names holds a profile the board
has the certificates for (B10.FR.02, A05.FR.02/03); it acts after a reboot
(SetVariables answers RebootRequired, B10.FR.01): the order is read at
start-up into a cursor the agent keeps. After NetworkProfileConnectionAttempts
failures in a row the cursor moves to the next slot, wrapping around, so a
station migrated to an unreachable CSMS falls back to the slot that worked
before, but never to one of a lower security profile (security_profile.py).

Loaded for a connection attempt and for a priority check only.
"""
from . import netprofiles, security_profile
from .compat import const
from .log import log

_COMM = const("OCPPCommCtrlr")


def cursor(model):
    """Where the fallback stands, kept by the agent between attempts: the
    slots in priority order as read at start-up, the index of the one
    tried, its failures in a row."""
    return {"slots": netprofiles.priority(model), "index": 0, "failures": 0}


def attempt_failed(model, store, cursor):
    """Count a failed attempt through the cursor's slot; after
    NetworkProfileConnectionAttempts of them, move to the next slot."""
    cursor["failures"] += 1
    if cursor["failures"] < model.int_value(_COMM, "NetworkProfileConnectionAttempts", 3):
        return
    slots, index = cursor["slots"], cursor["index"]
    cursor["failures"] = 0
    for _ in slots:
        index = (index + 1) % len(slots)
        profile = netprofiles.load(store, slots[index])
        if profile is not None and security_profile.allowed(model, profile["securityProfile"]):
            break
    if slots[index] != slots[cursor["index"]]:
        log("network-profile", "slot", slots[cursor["index"]], "failed; next slot", slots[index])
    cursor["index"] = index


def check_priority(value, store, board):
    """The reasonCode to reject a new NetworkConfigurationPriority with, or
    None (B10.FR.02; A05.FR.02/03)."""
    for slot in value.split(","):
        profile = netprofiles.load(store, int(slot))
        if profile is None:
            return "NoProfileInSlot"
        missing = security_profile.missing_certificate(board, profile["securityProfile"])
        if missing:
            return missing[0]
    return None
