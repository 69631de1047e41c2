"""Run every test_* function of one module; works on MicroPython and CPython.

Usage: micropython runner.py MODULE. Prints one line per failure and the
closing line 'N passed, N failed'; exits 1 when any failed.
"""
import sys


def main(name):
    mod = __import__(name)
    passed = failed = 0
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        try:
            getattr(mod, attr)()
            passed += 1
        except Exception as e:  # report and go on: one line per failed test
            failed += 1
            print("FAIL %s.%s: %r" % (name, attr, e))
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
    print("%d passed, %d failed" % (passed, failed))
    return failed


sys.exit(1 if main(sys.argv[1]) else 0)
