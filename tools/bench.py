"""Run every benchmark in bench/ and write BENCHMARKS.md (`make bench`).

Each bench/<topic>.py has run() -> a markdown section; ratios inside a
section are measured side by side in the same run.
"""
import datetime
import importlib.util
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ("agent", "roundtrip", "validate", "store", "model", "reports", "scenario", "tls", "verify", "reconnect", "fleet",
         "firmware_update", "picow_link")


def main(names):
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    sys.path.insert(0, os.path.join(ROOT, "host_tests"))
    present = [n for n in ORDER if os.path.exists(os.path.join(ROOT, "bench", n + ".py"))]
    sections = []
    for name in names or present:
        print("bench:", name, flush=True)
        spec = importlib.util.spec_from_file_location("bench_" + name, os.path.join(ROOT, "bench", name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sections.append(module.run())
    head = ["# Benchmarks", "",
            "Written by `make bench` (tools/bench.py) on %s, %s, Python %s, %d cores." % (
                datetime.date.today().isoformat(), platform.machine(), platform.python_version(), os.cpu_count()),
            "Each section says what it measures and how; this machine is shared and noisy, so",
            "compare ratios measured in one run rather than absolute times across runs.", ""]
    text = "\n".join(head) + "\n" + "\n\n".join(sections) + "\n"
    if names:  # a partial run prints instead of overwriting the report
        print(text)
    else:
        with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
            f.write(text)
        print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main(sys.argv[1:])
