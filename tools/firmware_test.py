"""`make firmware-test`: build the firmware images, then run the end-to-end
suite with every station on the 32-bit unix build, the agent frozen in it,
at the smallest heaps BENCHMARKS.md reports for that build plus a margin:
the ws:// tests at the whole scenario's, the wss:// tests at a TLS session's;
then the Pico W image on the emulated RP2040 (host_tests/test_emulated_pico.py)
and as a station on a dialled cellular link (host_tests/test_picow_station.py,
test_picow_firmware_update.py, and test_e2e_variables.py unchanged through
tools/station.py --runtime picow). The dual x509 and pubkey tests also run
on the stock 32-bit port it builds (a board's 32-bit long-int digits): make
test, which comes first in CI, has no such port yet and skips them.

  firmware_test.py [--heap BYTES] [--tls-heap BYTES] [pytest arguments...]

The margin is 8 KB. The suite's largest requests, 16- and 17-item
GetVariables of about 2.3 KB, arrive right after a report has left the heap
fragmented; each is one contiguous buffer, parsed from its bytes (no second
copy as text since issue 22). test_e2e_variables and test_e2e_reports passed
8 of 8 runs at 32 + 8 KB; with the text copy they had needed 12 KB.
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import firmware  # noqa: E402
from cli import OneLineParser  # noqa: E402
from station import heap_size  # noqa: E402

MARGIN = 8 * 1024
# (column, first words of the row) of BENCHMARKS.md's tables: bench/scenario.py, bench/tls.py
SCENARIO = ("32-bit frozen", "smallest `-X heapsize`")
TLS = ("wss:// (TLS)", "smallest heap that passes the session")


def smallest_heap(column, row, path=os.path.join(ROOT, "BENCHMARKS.md")):
    """The heap (bytes) in a row and column of BENCHMARKS.md, or None."""
    index = None
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if column in cells:
                index = cells.index(column)
            elif index is not None and cells[0].startswith(row) and len(cells) > index:
                value = cells[index].split()
                return int(value[0]) * 1024 if value and value[0].isdigit() else None
    return None


def main(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--heap", type=heap_size, help="for the ws:// tests; default: BENCHMARKS.md's + 8K")
    p.add_argument("--tls-heap", type=heap_size, help="for the wss:// tests; default: BENCHMARKS.md's + 8K")
    args, pytest_args = p.parse_known_args(argv)
    heaps = []
    for given, (column, row) in ((args.heap, SCENARIO), (args.tls_heap, TLS)):
        heap = given or smallest_heap(column, row)
        if heap is None:
            p.error("BENCHMARKS.md has no '%s' for '%s': run make bench, or give the heap" % (row, column))
        heaps.append(heap if given else heap + MARGIN)
    try:
        images = {}
        for board in ("picow", "unix32"):
            images[board], table = firmware.build(board)
            print("\n".join(table), flush=True)
    except firmware.BuildError as e:
        sys.stderr.write("firmware_test.py: error: %s\n" % e)
        return 1
    # the suites whose stations go on TLS (security profile 2) run at a TLS session's heap
    tls = [os.path.join(ROOT, "host_tests", t) for t in ("test_e2e_tls.py", "test_e2e_certificates.py")]
    plain = [t for t in sorted(glob.glob(os.path.join(ROOT, "host_tests", "test_e2e_*.py"))) if t not in tls]
    plain.append(os.path.join(ROOT, "host_tests", "test_firmware.py"))
    code = 0
    for tests, heap in ((plain, heaps[0]), (tls, heaps[1])):
        print("end-to-end on %s, heap %d KB: %s" % (os.path.relpath(images["unix32"], ROOT), heap // 1024,
                                                   " ".join(os.path.basename(t) for t in tests)), flush=True)
        env = dict(os.environ, CSAGENT_MICROPYTHON=images["unix32"], CSAGENT_HEAP=str(heap))
        # the report-heap probe runs .mpy files on the 64-bit port itself: not a station
        code |= subprocess.run([sys.executable, "-m", "pytest", "-q", "-k", "not report_heap_does_not_grow"]
                               + tests + pytest_args, cwd=ROOT, env=env).returncode
    print("x509 and pubkey on the stock 32-bit port", flush=True)
    code |= subprocess.run([sys.executable, "-m", "pytest", "-q", "-k", "unix32",
                            os.path.join(ROOT, "host_tests", "test_crypto_interop.py")] + pytest_args,
                           cwd=ROOT).returncode
    print("the Pico W image on the emulated RP2040, and as a station over a dialled cellular link", flush=True)
    env = dict(os.environ, CSAGENT_PICOW=images["picow"])
    code |= subprocess.run([sys.executable, "-m", "pytest", "-q"] + [
        os.path.join(ROOT, "host_tests", t) for t in ("test_emulated_pico.py", "test_picow_station.py",
                                                      "test_picow_firmware_update.py")]
        + pytest_args, cwd=ROOT, env=env).returncode
    # A suite written against tools/station.py's contract, unchanged, with every station on the board
    print("test_e2e_variables.py with tools/station.py --runtime picow", flush=True)
    env = dict(os.environ, CSAGENT_RUNTIME="picow")
    code |= subprocess.run([sys.executable, "-m", "pytest", "-q", os.path.join(ROOT, "host_tests",
                            "test_e2e_variables.py")] + pytest_args, cwd=ROOT, env=env).returncode
    return code


if __name__ == "__main__":
    sys.exit(main())
