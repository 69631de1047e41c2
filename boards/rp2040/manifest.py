# Freeze the agent into a custom MicroPython firmware for this board:
#   cd micropython/ports/rp2
#   make BOARD=RPI_PICO_W FROZEN_MANIFEST=$(pwd)/../../../<this repo>/boards/rp2040/manifest.py
# Frozen bytecode is executed from flash, so the code needs no heap; only
# main.py, model.jsonl and the settings stay on the filesystem
# (tools/deploy.py --frozen copies just those). Paths are relative to this file.
# The Pico W's own manifest: the port's, plus the networking bundle.
include("$(PORT_DIR)/boards/RPI_PICO_W/manifest.py")
include("../common/manifest.py")  # the agent, as unix32 freezes it
module("mcu.py", base_path="../common")
module("ppp.py", base_path="../common")
module("board.py")
