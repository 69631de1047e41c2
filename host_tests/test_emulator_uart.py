"""The emulated Pico W's UART (tools/emulator/uart.mjs) on its own: its node
tests (uart.test.mjs) on a real rp2040js RP2040 and simulation clock."""
import os
import shutil
import subprocess

import pytest

import picow


@pytest.mark.skipif(not shutil.which("node") or not os.path.isdir(os.path.join(picow.EMULATOR, "node_modules",
                                                                               "rp2040js")),
                    reason="needs node and rp2040js (make emulator)")
def test_uart_bridge():
    r = subprocess.run(["node", "--test", "uart.test.mjs"], cwd=picow.EMULATOR, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout and "# pass 4" in r.stdout
