# The 32-bit unix port with the agent frozen (make firmware BOARD=unix32,
# tools/firmware.py): the standard variant (asyncio, ssl, ...), the agent as
# every board freezes it, and this board. model.jsonl stays a file.
include("$(PORT_DIR)/variants/standard/manifest.py")
include("../common/manifest.py")
module("board.py")
