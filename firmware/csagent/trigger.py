"""TriggerMessage (F06), as far as this agent sends the messages: loaded
only when such a request comes (see agent.ACTIONS).

The answer goes first, then the message (F06.FR.04). BootNotification is
Rejected once the station is Accepted (F06.FR.17) and otherwise sent at
once, reason Triggered, even before a Pending interval has run out.
StatusNotification goes for the connectors of the given EVSE (or the one
connector named), or for all of them without an EVSE; an EVSE or connector
the station lacks is Rejected. A message this agent never sends is
NotImplemented (F06.FR.08). While the station is Rejected the request gets
SecurityError before it reaches here (B03). FirmwareStatusNotification
tells the firmware update under way (status and requestId), or Idle.
"""
from .compat import borrow
from .rpc import CallFailed


def _boot_now(registration):
    """Boot again now, reason Triggered, whatever the interval says."""
    registration.reason = "Triggered"
    registration.not_before = None
    registration.wake.set()


def handle(payload, registration, connectors):
    what = payload["requestedMessage"]
    if what == "BootNotification":
        if registration.status == "Accepted":
            return {"status": "Rejected"}
        return {"status": "Accepted"}, lambda: _boot_now(registration)
    if what == "Heartbeat":
        return {"status": "Accepted"}, registration.beat
    if what == "StatusNotification":
        evse = payload.get("evse")
        where = [c for c in connectors.board.connectors
                 if evse is None or (c[0] == evse["id"] and evse.get("connectorId", c[1]) == c[1])]
        if not where:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        return {"status": "Accepted"}, lambda: connectors.tell(where)
    if what == "FirmwareStatusNotification":  # L01: the update under way, or Idle
        status = borrow("csagent.firmware_slots", "current", registration.board.flash)
        return {"status": "Accepted"}, lambda: _send(registration, "FirmwareStatusNotification", status)
    return {"status": "NotImplemented"}


async def _send(registration, action, payload):
    try:
        await registration.call(action, payload)
    except CallFailed:
        pass
