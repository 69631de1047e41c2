"""compat.borrow on both runtimes: once the borrowed function returned, its
module and every module of the agent it loaded meanwhile are gone on
MicroPython (their heap is free), while what was loaded before stays;
CPython keeps them all."""
import sys

from csagent.board_base import Board
from csagent.compat import BOARD_HEAP, borrow
from scratch import with_flash
from test_model import HOST_DEFAULTS

BORROWED = "csagent.certificates"
ITS_IMPORT = "csagent.cert_store"  # imported by certificates at its top


def _agent_modules():
    return set(m for m in sys.modules if m.startswith("csagent."))


@with_flash
def test_borrow_drops_the_module_and_what_it_loaded(flash):
    board = Board(flash + "/board", HOST_DEFAULTS)
    before = _agent_modules()
    assert borrow(BORROWED, "installed", {}, board) == {"status": "NotFound"}
    after = _agent_modules()
    if BOARD_HEAP:
        assert BORROWED not in before and ITS_IMPORT not in before, before
        assert after == before, after ^ before
    else:
        assert before | {BORROWED, ITS_IMPORT} <= after, after ^ before
