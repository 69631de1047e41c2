"""The Agent's reactions to SetVariables changes, on CPython with the host
board: what follows a change, and what must not."""
import os
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "boards", "host"))
from board import Board  # noqa: E402  (boards/host/board.py)
from csagent.agent import Agent  # noqa: E402


def test_password_change_reconnects_only_where_a_password_is_used(tmp_path):
    agent = Agent(Board(str(tmp_path / "flash")))
    for profile, reconnects in (("1", True), ("2", True), ("3", False)):
        agent.model.set_value("SecurityCtrlr", "SecurityProfile", profile)
        agent.rpc.attach(None)
        agent.changed("SecurityCtrlr", "BasicAuthPassword")
        assert len(agent.rpc._later) == reconnects, profile  # profile 3 signs in with its certificate


def test_connector_availability_state_is_the_boards(tmp_path):
    board = Board(str(tmp_path / "flash"))
    agent = Agent(board)
    with open(os.path.join(board.flash, "connector_status"), "w") as f:
        f.write("1 1 Reserved\n")
    assert agent.model.value("Connector", "AvailabilityState", evse=1, connector=1) == "Reserved"
