"""Network connection profiles: the slots a station can connect through.

Each slot's NetworkConnectionProfile is kept in the store as JSON under
`_np/<slot>`; NetworkConfigurationPriority (OCPPCommCtrlr) orders them.
"""
import json

from .compat import const
from .log import log

_COMM = const("OCPPCommCtrlr")
_PRIORITY = const("NetworkConfigurationPriority")
_SEC = const("SecurityCtrlr")

PREFIX = "_np/"
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def priority(model):
    """Slot numbers in NetworkConfigurationPriority order."""
    text = model.value(_COMM, _PRIORITY) or ""
    return [int(s) for s in text.split(",") if s.strip().isdigit()]


def load(store, slot):
    text = store.get(PREFIX + str(slot))
    return json.loads(text) if text else None


def install_profile(settings):
    """The profile a technician's CSMS URL stands for on first start; with
    a modem, the APN (APNType: apn, apnAuthentication, apnUserName,
    apnPassword, simPin) that tools/deploy.py --apn left beside it."""
    url = settings["csms_url"]
    profile = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url,
               "messageTimeout": settings.get("message_timeout", 30),
               "securityProfile": settings.get("security_profile", 2 if url.startswith("wss:") else 1),
               "ocppInterface": settings.get("interface", "Wired0")}
    if settings.get("apn"):
        profile["apn"] = settings["apn"]
    return profile


def install(model, store, settings):
    """First start: what the technician entered (tools/deploy.py's
    install.json: id, password, CSMS URL and, with a modem, the APN) goes
    into the device model, and the CSMS URL's profile into the first slot of
    NetworkConfigurationPriority."""
    model.apply_install(settings)
    if settings.get("csms_url"):
        slot = (priority(model) or [0])[0]
        profile = install_profile(settings)
        store.commit({PREFIX + str(slot): json.dumps(profile)})
        model.set_value(_SEC, "SecurityProfile", str(profile["securityProfile"]))
    log("installed", "identity", settings.get("identity"))


def quote(text):
    """Percent-encode a station id for the URL path (OCPP-J 2.0.1, 3.1.1)."""
    out = []
    for b in text.encode():
        out.append(chr(b) if b in _SAFE else "%%%02X" % b)
    return "".join(out)


def station_url(profile, identity):
    return profile["ocppCsmsUrl"].rstrip("/") + "/" + quote(identity)
