"""Network connection profiles: the slots a station can connect through.

Each slot's NetworkConnectionProfile is kept in the store as JSON under
`_np/<slot>`; NetworkConfigurationPriority (OCPPCommCtrlr) orders them.
"""
import json

from .log import log

COMM = "OCPPCommCtrlr"
PREFIX = "_np/"
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def priority(model):
    """Slot numbers in NetworkConfigurationPriority order."""
    text = model.value(COMM, "NetworkConfigurationPriority") or ""
    return [int(s) for s in text.split(",") if s.strip().isdigit()]


def load(store, slot):
    text = store.get(PREFIX + str(slot))
    return json.loads(text) if text else None


def install_profile(settings):
    """The profile a technician's CSMS URL stands for on first start."""
    url = settings["csms_url"]
    return {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url,
            "messageTimeout": settings.get("message_timeout", 30),
            "securityProfile": settings.get("security_profile", 2 if url.startswith("wss:") else 1),
            "ocppInterface": settings.get("interface", "Wired0")}


def quote(text):
    """Percent-encode a station id for the URL path (OCPP-J 2.0.1, 3.1.1)."""
    out = []
    for b in text.encode():
        out.append(chr(b) if b in _SAFE else "%%%02X" % b)
    return "".join(out)


def station_url(profile, identity):
    return profile["ocppCsmsUrl"].rstrip("/") + "/" + quote(identity)


def _refuse(reason, info):
    return {"status": "Rejected", "statusInfo": {"reasonCode": reason, "additionalInfo": info}}


def check_profile(model, board, slot, data):
    """None when the station can use `data` in `slot`, else a Rejected answer."""
    chars = model.characteristics(COMM, "NetworkConfigurationPriority") or {}
    if str(slot) not in (chars.get("valuesList") or "").split(","):
        return _refuse("InvalidConfSlot", "slot %d is not in NetworkConfigurationPriority's valuesList" % slot)
    if data["ocppVersion"] != "OCPP20" or data["ocppTransport"] != "JSON":
        return _refuse("InvalidNetworkConf", "only OCPP20 over JSON is supported")
    sp = data["securityProfile"]
    if sp < (model.int_value("SecurityCtrlr", "SecurityProfile", 1) or 1):
        return _refuse("NoSecurityDowngrade", "securityProfile is lower than the one in use")
    url = data["ocppCsmsUrl"]
    if sp not in (1, 2, 3) or not url.startswith("wss://" if sp >= 2 else "ws://"):
        return _refuse("InvalidNetworkConf", "security profile 1 needs ws://, 2 and 3 need wss://")
    if sp == 3 and not board.client_cert():
        return _refuse("InvalidNetworkConf", "no client certificate installed for security profile 3")
    if data["ocppInterface"] not in board.interfaces:
        return _refuse("UnsupportedInterface", "this board has no %s interface" % data["ocppInterface"])
    if "apn" in data and not board.has_modem:
        return _refuse("NoModem", "an APN needs a cellular modem; this board has none")
    return None


def set_network_profile(model, store, board, payload):
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
