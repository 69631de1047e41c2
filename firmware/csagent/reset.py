"""Reset B11/B12 through the board's reset hook.

OnIdle while a charging session runs answers Scheduled and resets when the
session ends (B12); otherwise the answer goes first, then the reset. Before
the board resets, the boot reason is persisted (the next BootNotification
says RemoteReset) and the WebSocket is closed cleanly. The store needs no
flush: every commit is durable when it returns.
"""
import asyncio

from .boot import REASON_KEY
from .log import log

POLL = 1  # seconds between checks of a running session


class Resetter:
    def __init__(self, agent):
        self.agent = agent
        self.scheduled = None  # evse id (None for the station) of a Scheduled reset

    def handle(self, payload, size):
        evse = payload.get("evseId")
        board = self.agent.board
        if evse is not None and evse not in set(e for e, _ in board.connectors):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        if payload["type"] == "OnIdle" and board.charging(evse):
            self.scheduled = evse
            log("reset", "scheduled", "station" if evse is None else "evse %d" % evse)
            return {"status": "Scheduled"}, lambda: self.when_idle(evse)
        return {"status": "Accepted"}, lambda: self.reset(evse)

    async def when_idle(self, evse):
        while self.agent.board.charging(evse):
            await asyncio.sleep(POLL)
        if self.scheduled == evse:
            await self.reset(evse)

    async def reset(self, evse):
        agent = self.agent
        self.scheduled = None
        if evse is not None:
            log("reset", "evse", evse)
            agent.board.reset_evse(evse)
            return
        log("reset", "station")
        agent.store.commit({REASON_KEY: "RemoteReset"})
        ws = agent.ws
        if ws:
            await ws.close(1000, "reset")
        agent.store.close()
        agent.board.reset()
