"""`make firmware-test`: build the firmware images, then run the end-to-end
suite against the 32-bit unix build with the agent frozen in it, at the
smallest heap BENCHMARKS.md reports for that build plus 8 KB of margin, and
the Pico W image on the emulated RP2040 (host_tests/test_emulated_pico.py).

  firmware_test.py [--heap BYTES] [pytest arguments...]
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
COLUMN = "32-bit frozen"  # bench/scenario.py's column for this build
ROW = "| smallest `-X heapsize`"


def smallest_heap(path=os.path.join(ROOT, "BENCHMARKS.md")):
    """The smallest heap (bytes) in BENCHMARKS.md's COLUMN, or None."""
    column = None
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if COLUMN in cells:
                column = cells.index(COLUMN)
            elif column is not None and line.startswith(ROW) and len(cells) > column:
                value = cells[column].split()
                return int(value[0]) * 1024 if value and value[0].isdigit() else None
    return None


def main(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--heap", type=heap_size, help="default: BENCHMARKS.md's smallest heap for the build + 8K")
    args, pytest_args = p.parse_known_args(argv)
    heap = args.heap
    if heap is None:
        heap = smallest_heap()
        if heap is None:
            p.error("BENCHMARKS.md has no smallest heap for the %s build: run make bench, or give --heap" % COLUMN)
        heap += MARGIN
    try:
        images = {}
        for board in ("picow", "unix32"):
            images[board], table = firmware.build(board)
            print("\n".join(table), flush=True)
    except firmware.BuildError as e:
        sys.stderr.write("firmware_test.py: error: %s\n" % e)
        return 1
    artifact = images["unix32"]
    env = dict(os.environ, CSAGENT_MICROPYTHON=artifact, CSAGENT_HEAP=str(heap), CSAGENT_PICOW=images["picow"])
    print("end-to-end suite on %s, heap %d bytes" % (os.path.relpath(artifact, ROOT), heap), flush=True)
    tests = sorted(glob.glob(os.path.join(ROOT, "host_tests", "test_e2e_*.py")))
    tests.append(os.path.join(ROOT, "host_tests", "test_firmware.py"))
    tests.append(os.path.join(ROOT, "host_tests", "test_emulated_pico.py"))
    # the report-heap probe runs .mpy files on the 64-bit port itself: not a station
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-k", "not report_heap_does_not_grow"]
                          + tests + pytest_args, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
