"""Run one fuzz target (fuzz/targets.py) under atheris, libFuzzer's engine
for CPython, with coverage of the agent's code.

    .venv/bin/python fuzz/run.py TARGET [libFuzzer options] [CORPUS_DIR...]

`make fuzz` runs every target for FUZZ_SECONDS each, starting from the
committed corpus fuzz/corpus/TARGET and keeping what it learns in
build/fuzz/TARGET (not committed). A finding is written to
build/fuzz/TARGET-crash-*; replay it with `fuzz/run.py TARGET FILE`, and
once fixed, copy it into fuzz/corpus/TARGET so that `make test` replays it.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for sub in ("firmware", "boards/host", "tools", "host_tests", "fuzz"):
    sys.path.insert(0, os.path.join(ROOT, sub))


def main(argv):
    import atheris
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit("usage: fuzz/run.py TARGET [libFuzzer options] [CORPUS_DIR...]")
    name = argv.pop(1)
    # Kept on for the whole run: the agent drops code it loads on demand
    # (compat.unload) and imports it again, instrumented again.
    atheris.instrument_imports(include=["csagent", "board"]).__enter__()
    import targets
    from csagent import log
    log.redirect(lambda text: None)  # a line per message would slow the run down
    if name not in targets.TARGETS:
        sys.exit("no target %r; targets: %s" % (name, " ".join(sorted(targets.TARGETS))))
    target = targets.TARGETS[name]
    targets.flash_dir = os.path.join(ROOT, "build", "fuzz", name + "-flash")
    atheris.Setup(argv, target)
    atheris.Fuzz()  # never returns: libFuzzer exits


if __name__ == "__main__":
    main(sys.argv)
