# On-board entry: the board module (boards/<name>/board.py, installed beside
# the agent) knows its hardware; the agent gets it as an object.
import board
from csagent.agent import run

run(board.Board())
