"""Reset B11/B12 through the board's reset hook. Loaded only when a Reset
request comes (see agent.ACTIONS).

OnIdle while a charging session runs answers Scheduled and resets when the
session ends (B12); otherwise the answer goes first, then the reset. The
reset is the station's work, not the connection's: it happens even if the
link drops meanwhile, and a new Reset replaces one still scheduled, so two
OnIdle requests reset once. Before the board resets, the boot reason is
persisted (the next BootNotification says RemoteReset) and the WebSocket is
closed cleanly. The store needs no flush: every commit is durable when it
returns.
"""
import asyncio

from .boot import REASON_KEY
from .compat import const
from .log import log

_POLL = const(1)  # seconds between checks of a running session


def handle(payload, board, store, close, tasks):
    """close(code, reason) closes the live link, if any; tasks is the
    agent's own Tasks, which outlive a connection."""
    evse = payload.get("evseId")
    if evse is not None and evse not in set(e for e, _ in board.connectors):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
    idle = payload["type"] == "OnIdle" and board.charging(evse)
    if idle:
        log("reset", "scheduled", "station" if evse is None else "evse %d" % evse)

    def later():
        tasks.stop("reset")
        tasks.start(_reset(board, store, close, evse, idle), "reset")
    return {"status": "Scheduled" if idle else "Accepted"}, later


async def _reset(board, store, close, evse, idle):
    while idle and board.charging(evse):
        await asyncio.sleep(_POLL)
    if evse is not None:
        log("reset", "evse", evse)
        board.reset_evse(evse)
        return
    log("reset", "station")
    store.commit({REASON_KEY: "RemoteReset"})
    await close(1000, "reset")
    store.close()
    board.reset()
