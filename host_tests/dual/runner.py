"""Run every test_* function of one module; works on MicroPython and CPython.

Usage: micropython runner.py MODULE [FUNCTION...]. Prints one line per
failure and the closing line 'N passed, N failed'; exits 1 when any failed.
The FUNCTIONs named are left out, each with a 'SKIP' line and counted in
', N skipped' (the emulated Pico W leaves out what is too slow there).
"""
import sys


def main(name, skip=()):
    mod = __import__(name)
    passed = failed = skipped = 0
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        if attr in skip:
            skipped += 1
            print("SKIP %s.%s" % (name, attr))
            continue
        try:
            getattr(mod, attr)()
            passed += 1
        except Exception as e:  # report and go on: one line per failed test
            failed += 1
            print("FAIL %s.%s: %r" % (name, attr, e))
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
    print("%d passed, %d failed" % (passed, failed) + (", %d skipped" % skipped if skipped else ""))
    return failed


sys.exit(1 if main(sys.argv[1], sys.argv[2:]) else 0)
