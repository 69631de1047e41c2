"""csagent.connection through the agent, on both runtimes: its code (and
netprofiles') is loaded for a connection attempt and dropped after it on
MicroPython, and the slot cursor the agent keeps between attempts moves to
the next slot after NetworkProfileConnectionAttempts failures (B10). The
attempts go to closed ports on 127.0.0.1: each is refused at once."""
import asyncio
import json
import sys

from csagent.agent import Agent
from csagent.board_base import Board
from csagent.compat import BOARD_HEAP
from test_model import COMM
from scratch import with_flash

HOST_DEFAULTS = __file__.rsplit("/", 3)[0] + "/boards/host/model.jsonl"
PRIORITY = "NetworkConfigurationPriority"
LINK_CODE = ("csagent.connection", "csagent.migration", "csagent.netprofiles", "csagent.security_profile",
             "csagent.ws_handshake")


class WiredBoard(Board):
    interfaces = ("Wired0",)

    async def bring_up(self, profile):
        pass


def _agent(flash):
    board = WiredBoard(flash, HOST_DEFAULTS)
    with open(flash + "/install.json", "w") as f:
        json.dump({"identity": "CS1", "password": "0123456789abcdef", "csms_url": "ws://127.0.0.1:1"}, f)
    return Agent(board)


def _resident():
    return [name for name in LINK_CODE if name in sys.modules] if BOARD_HEAP else []


def _attempt(agent):
    try:
        asyncio.run(agent.connect())
    except Exception as e:  # the class of a module loaded for the attempt only: by its name
        assert type(e).__name__ == "WebSocketError", e
        return "refused"
    return "connected"


@with_flash
def test_link_code_is_loaded_only_for_an_attempt(flash):
    agent = _agent(flash)
    assert _resident() == []
    assert agent.slots == {"slots": [0], "index": 0, "failures": 0}
    assert _attempt(agent) == "refused"
    assert _resident() == [] and agent.slots["failures"] == 1


@with_flash
def test_cursor_moves_to_the_next_slot_after_the_attempts(flash):
    agent = _agent(flash)
    profile = json.loads(agent.store.get("_np/0"))
    profile["ocppCsmsUrl"] = "ws://127.0.0.1:2"
    agent.store.commit({"_np/1": json.dumps(profile)})
    agent.model.set_value(COMM, PRIORITY, "0,1")
    agent = Agent(agent.board)  # the priority acts after a reboot (B10)
    tries = agent.model.int_value(COMM, "NetworkProfileConnectionAttempts")
    for n in range(tries):
        assert agent.slots["index"] == 0 and agent.slots["failures"] == n
        assert _attempt(agent) == "refused"
    assert agent.slots == {"slots": [0, 1], "index": 1, "failures": 0}
    assert _resident() == []
