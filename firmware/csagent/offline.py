"""Offline behaviour of an idle station (B04), and the connector status it
is about (B01): what the board says of each connector, told to the CSMS as
StatusNotification.

Back online and Accepted, the CSMS hears every connector after a boot and
after an offline period longer than OfflineThreshold (B04.FR.01); after a
shorter one only the connectors whose status changed meanwhile
(B04.FR.02); while online, every change as the board reports it. A
StatusNotification that gets no answer is sent again at the next change or
connection. The rest of B04 lives where it acts: a mere reconnect does not
boot again (boot.py), and every reconnection waits (backoff.py).
"""
from .clock import iso
from .log import log
from .rpc import CallFailed


class Connectors:
    def __init__(self, board, call):
        self.board = board
        self.call = call
        self.told = {}  # (evse, connector) -> the status the CSMS acknowledged last

    async def follow(self):
        """A connection's task from Accepted on: each change the board reports."""
        while True:
            await self.board.status_changed()
            await self.tell()

    async def back_online(self, lost, threshold):
        """B04.FR.01/02: `lost` is board.time() when the link was lost (None
        after a boot), `threshold` OfflineThreshold in seconds."""
        everything = lost is None or self.board.time() - lost > threshold
        await self.tell(self.board.connectors if everything else None)

    async def tell(self, only=None):
        """StatusNotification for each connector of `only` (a list of
        (evse, connector)), or, when None, for those whose status the CSMS
        does not know."""
        board = self.board
        for where in board.connectors if only is None else only:
            status = board.connector_status(*where)
            if only is None and self.told.get(where) == status:
                continue
            try:
                await self.call("StatusNotification", {
                    "timestamp": iso(board.time()), "connectorStatus": status,
                    "evseId": where[0], "connectorId": where[1]})
            except CallFailed as e:
                log("status", "not told:", e.args[0] if e.args else "")
                return
            self.told[where] = status
