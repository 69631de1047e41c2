# On-board entry: the board module (boards/<name>/board.py, installed beside
# the agent) knows its hardware; the agent gets it as an object. Which agent:
# the frozen or installed one, or one a firmware update installed, on trial
# until it is Accepted (csagent/firmware_slots.py). The flash root is the
# board's: the host board's first argument, a microcontroller's root.
import sys

from csagent import firmware_slots

board, run = firmware_slots.prepare(sys.argv[1] if len(sys.argv) > 1 else "")
del firmware_slots  # its code stays only while a new agent is on trial
run(board)
