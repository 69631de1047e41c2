"""RequestStartTransaction (F01, F02) as this agent answers it: loaded for
the request only. This agent starts no transaction: the charge controller
that would is not this agent's. Before the station is Accepted the answer
is Rejected (B02: nothing while Pending, TC_B_02); after, NotSupported.
"""
from .rpc import CallError


def handle(payload, registration):
    if registration.status != "Accepted":
        return {"status": "Rejected"}
    raise CallError("NotSupported", "RequestStartTransaction is not supported")
