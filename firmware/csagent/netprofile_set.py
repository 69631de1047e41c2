"""SetNetworkProfile (B09): check a profile against what this station can
use, store it, answer. Loaded only when such a request comes (see
agent.ACTIONS); the profiles themselves are csagent.netprofiles, the
security-profile rules security_profile.py (A05).
"""
import json

from .compat import const
from .log import log
from .netprofiles import PREFIX
from .security_profile import allowed, missing_certificate

_COMM = const("OCPPCommCtrlr")
_PRIORITY = const("NetworkConfigurationPriority")


def _refuse(reason, info):
    return {"status": "Rejected", "statusInfo": {"reasonCode": reason, "additionalInfo": info}}


def check_profile(model, board, slot, data):
    """None when the station can use `data` in `slot`, else a Rejected answer."""
    chars = model.characteristics(_COMM, _PRIORITY) or {}
    if str(slot) not in (chars.get("valuesList") or "").split(","):
        return _refuse("InvalidConfSlot", "slot %d is not in NetworkConfigurationPriority's valuesList" % slot)
    if data["ocppVersion"] != "OCPP20" or data["ocppTransport"] != "JSON":
        return _refuse("InvalidNetworkConf", "only OCPP20 over JSON is supported")
    sp = data["securityProfile"]
    if not allowed(model, sp):  # B09.FR.04
        return _refuse("NoSecurityDowngrade", "securityProfile is lower than the one in use")
    url = data["ocppCsmsUrl"]
    if sp not in (1, 2, 3) or not url.startswith("wss://" if sp >= 2 else "ws://"):
        return _refuse("InvalidNetworkConf", "security profile 1 needs ws://, 2 and 3 need wss://")
    missing = missing_certificate(board, sp)
    if missing:
        return _refuse(missing[0], missing[1])
    if data["ocppInterface"] not in board.interfaces:
        return _refuse("UnsupportedInterface", "this board has no %s interface" % data["ocppInterface"])
    if "apn" in data and not board.has_modem:
        return _refuse("NoModem", "an APN needs a cellular modem; this board has none")
    return None


def handle(payload, model, board, store):
    """B09: validate, store, and only then answer Accepted (B09.FR.01)."""
    slot, data = payload["configurationSlot"], payload["connectionData"]
    refused = check_profile(model, board, slot, data)
    if refused:
        log("network-profile", "slot", slot, "rejected", refused["statusInfo"]["reasonCode"])
        return refused
    try:
        store.commit({PREFIX + str(slot): json.dumps(data)})
    except OSError as e:  # B09.FR.03: a valid profile that could not be stored
        log("network-profile", "slot", slot, "store failed", type(e).__name__)
        return {"status": "Failed"}
    log("network-profile", "slot", slot, "stored")  # never the profile: it holds secrets
    return {"status": "Accepted"}
