"""`make fleet`: 100 stations against the dev CSMS (tools/csms.py, its own
process, heartbeat every 30 s) for a minute, then the fleet's summary.
Extra arguments go to tools/fleet.py (e.g. --scenario tools/scenarios/chaos.toml
--duration 180)."""
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(extra):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    csms = subprocess.Popen([sys.executable, os.path.join(HERE, "csms.py"), "--port", str(port), "--interval", "30",
                             "--quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        print(csms.stdout.readline().decode().strip(), flush=True)
        return subprocess.call([sys.executable, os.path.join(HERE, "fleet.py"), "--csms", "ws://127.0.0.1:%d" % port,
                                "--stations", "100", "--duration", "60"] + extra)
    finally:
        csms.terminate()
        csms.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
