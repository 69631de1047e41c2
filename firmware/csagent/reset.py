"""Reset B11/B12 through the board's reset hook. Loaded only when a Reset
request comes (see Agent.handlers).

OnIdle while a charging session runs answers Scheduled and resets when the
session ends (B12); otherwise the answer goes first, then the reset. Before
the board resets, the boot reason is persisted (the next BootNotification
says RemoteReset) and the WebSocket is closed cleanly. The store needs no
flush: every commit is durable when it returns.
"""
import asyncio

from .boot import REASON_KEY
from .compat import const
from .log import log

_POLL = const(1)  # seconds between checks of a running session


def handle(agent, payload, size):
    evse = payload.get("evseId")
    board = agent.board
    if evse is not None and evse not in set(e for e, _ in board.connectors):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
    if payload["type"] == "OnIdle" and board.charging(evse):
        log("reset", "scheduled", "station" if evse is None else "evse %d" % evse)
        return {"status": "Scheduled"}, lambda: _when_idle(agent, evse)
    return {"status": "Accepted"}, lambda: _reset(agent, evse)


async def _when_idle(agent, evse):
    while agent.board.charging(evse):
        await asyncio.sleep(_POLL)
    await _reset(agent, evse)


async def _reset(agent, evse):
    if evse is not None:
        log("reset", "evse", evse)
        agent.board.reset_evse(evse)
        return
    log("reset", "station")
    agent.store.commit({REASON_KEY: "RemoteReset"})
    if agent.ws:
        await agent.ws.close(1000, "reset")
    agent.store.close()
    agent.board.reset()
