"""The dual-runtime test modules (host_tests/dual/) run on CPython through
pytest directly; here each one runs again on the MicroPython unix port,
importing the agent from .mpy as a board does."""
import os

import pytest

from conftest import ROOT, run_micropython

DUAL = os.path.join(ROOT, "host_tests", "dual")
MODULES = sorted(f[:-3] for f in os.listdir(DUAL) if f.startswith("test_") and f.endswith(".py"))


@pytest.mark.parametrize("module", MODULES)
def test_module_on_micropython(module, host_build):
    r = run_micropython([os.path.join(DUAL, "runner.py"), module], [DUAL, host_build], heap="512K")
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout
