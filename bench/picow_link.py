"""The Pico W image on the emulated RP2040 over a dialled cellular link
(issue 21): `tools/station.py --runtime picow` against the dev CSMS, UART0 at
115200 baud to the modem played on the host, once over ws:// and once over
wss:// (security profile 2, a test CA made here by trustme).

Emulated seconds are the board's own clock (an RP2040 at 125 MHz, from the
agent's log lines); wall seconds beside them are this machine's, taken when
each line reached the station's log (polled every 50 ms). Flash erases are
the emulator's count of the rp2 flash driver's erases (SIGUSR2 asks node).
"""
import asyncio
import os
import re
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

PASSWORD = "station-password-0001"
BOOT_S = 300
ROUND_TRIPS = 10
SETS = 5
STABLE_MS = 2000  # boards/common/mcu.py: a link must hold this long before ppp.py logs it up
GET = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}


class LogWatch:
    """(wall seconds since start, line) of each line of a growing log file."""

    def __init__(self, path):
        self.path, self.lines, self.start = path, [], time.monotonic()
        self.task = asyncio.ensure_future(self._poll())

    async def _poll(self):
        seen = 0
        while True:
            try:
                with open(self.path, errors="replace") as f:
                    text = f.read()
            except OSError:
                text = ""
            now = time.monotonic() - self.start
            for line in text.splitlines()[seen:]:
                self.lines.append((now, line))
            seen = len(text.splitlines())
            await asyncio.sleep(0.05)

    def find(self, pattern, after=0.0):
        """(wall, match) of the first line matching `pattern` at or after wall `after`."""
        for wall, line in self.lines:
            m = re.search(pattern, line)
            if m and wall >= after:
                return wall, m
        return None, None


def board_seconds(match):
    return float(match.group(1))


def boot_figures(watch, after):
    """Emulated and wall seconds of one start: the dial, PPP, BootNotification Accepted."""
    w_start, _ = watch.find(r"StartupOfTheDevice", after)
    w_dial, m_dial = watch.find(r"^[\d.]+ modem dialled in (\d+) ms", after)
    w_ppp, m_ppp = watch.find(r"^[\d.]+ ppp up in (\d+) ms", after)
    w_conn, m_conn = watch.find(r"^([\d.]+) connected ", after)
    w_boot, m_boot = watch.find(r"^([\d.]+) boot Accepted", after)
    w_ppp_host, _ = watch.find(r"^modem: PPP up", after)
    w_dialled_host, _ = watch.find(r"^modem: dialled APN", after)
    return {"dial": (int(m_dial.group(1)) / 1000, w_dialled_host - w_start),
            "ppp": ((int(m_ppp.group(1)) - STABLE_MS) / 1000, w_ppp_host - w_dialled_host),
            "connected": (board_seconds(m_conn), w_conn - after),
            "boot": (board_seconds(m_boot), w_boot - after)}


def node_of(station):
    pid = station.proc.pid
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return int(f.read().split()[0])


async def flash_counts(station, watch):
    """(erases, programs) so far, from the emulator."""
    before = len(watch.lines)
    os.kill(node_of(station), signal.SIGUSR2)
    for _ in range(100):
        for _, line in watch.lines[before:]:
            m = re.search(r"emulator: (\d+) erases, (\d+) programs$", line)
            if m:
                return int(m.group(1)), int(m.group(2))
        await asyncio.sleep(0.05)
    raise RuntimeError("the emulator did not tell its flash counts")


async def session(tls):
    import trustme
    from csms import Csms, server_tls
    from picow import PEER_HOST
    from stations import StationProcess
    folder = tempfile.mkdtemp(prefix="bench-picow-")
    ssl, cafile = None, None
    if tls:
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", PEER_HOST)
        cafile, cert, key = (os.path.join(folder, n) for n in ("ca.pem", "server.pem", "server.key"))
        for path, blob in zip((cafile, cert, key), (ca.cert_pem, server.cert_chain_pems[0], server.private_key_pem)):
            blob.write_to_path(path)
        ssl = server_tls(cert, key)
    csms = await Csms(interval=20, quiet=True, password=PASSWORD, ssl=ssl).start()
    url = "%s://127.0.0.1:%d" % ("wss" if tls else "ws", csms.port)
    station = StationProcess(os.path.join(folder, "flash"), url, runtime="picow", password=PASSWORD, cafile=cafile)
    await station.start()
    watch = LogWatch(station.log_path)
    out = {}
    try:
        st = await csms.wait_station("CS001", timeout=BOOT_S)
        await st.wait_for("StatusNotification", timeout=60)
        out["first"] = boot_figures(watch, 0.0)
        await st.wait_for("Heartbeat", timeout=60)
        await asyncio.sleep(1)
        heap = [line for _, line in watch.lines if " heap used " in line]
        out["heap"] = [int(w) for w in heap[0].split()[3:8:2]] if heap else None  # used, free, peak
        rtts = []
        for _ in range(ROUND_TRIPS):
            t = time.monotonic()
            await st.request("GetVariables", GET, timeout=60)
            rtts.append(time.monotonic() - t)
        board = []
        text = "\n".join(line for _, line in watch.lines)
        for m in re.finditer(r"^([\d.]+) recv CALL GetVariables (\S+)$", text, re.M):
            done = re.search(r"^([\d.]+) sent RESULT GetVariables %s$" % re.escape(m.group(2)), text, re.M)
            if done:
                board.append(float(done.group(1)) - float(m.group(1)))
        out["rtt"] = (min(board) if board else None, min(rtts))
        erases, _ = await flash_counts(station, watch)
        for i in range(SETS):
            await st.request("SetVariables", {"setVariableData": [dict(GET["getVariableData"][0],
                                                                        attributeValue=str(60 + i))]}, timeout=60)
        out["erases"] = ((await flash_counts(station, watch))[0] - erases) / SETS
        reset_at = time.monotonic() - watch.start
        await st.request("Reset", {"type": "Immediate"}, timeout=60)
        st2 = await csms.wait_station("CS001", connections=2, timeout=BOOT_S)
        await st2.wait_for("BootNotification", timeout=60)
        await asyncio.sleep(0.5)
        out["reset"] = boot_figures(watch, reset_at)
    finally:
        await station.stop(timeout=30)
        await csms.stop()
        await asyncio.sleep(0.2)
        watch.task.cancel()
    m = re.search(r"emulator: stopped: ([\d.]+) s run, ([\d.]+) s emulated", station.log())
    out["speed"] = float(m.group(2)) / float(m.group(1)) if m else None
    return out


def run():
    import firmware
    firmware.build("picow")
    ws, wss = asyncio.run(session(False)), asyncio.run(session(True))

    def pair(figure):
        emulated, wall = figure
        return "%.2f s | %.1f s" % (emulated, wall)

    def kb(n):
        return "%.1f KB" % (n / 1024)

    tls = (wss["first"]["connected"][0] - wss["first"]["ppp"][0] - ws["first"]["connected"][0] + ws["first"]["ppp"][0],
           wss["first"]["connected"][1] - ws["first"]["connected"][1])
    rows = [
        "| reset to BootNotification Accepted (ws://, Reset Immediate, the modem still in the call; emulated:"
        " from the board's start, wall: from the Reset request) | %s |"
        % pair(ws["reset"]["boot"]),
        "| of which the dial: +++, ATH, then AT to CONNECT | %s |" % pair(ws["reset"]["dial"]),
        "| of which PPP: LCP, PAP, IPCP (emulated: the board's figure less the 2 s a link must hold, to 0.1 s;"
        " wall: CONNECT to IPCP up at the modem) | %s |" % pair(ws["reset"]["ppp"]),
        "| first start of a new board to BootNotification Accepted (ws://) | %s |" % pair(ws["first"]["boot"]),
        "| of which the dial (a modem in command mode) | %s |" % pair(ws["first"]["dial"]),
        "| TLS handshake (wss:// connected minus ws:// connected, after PPP; wall: the same difference"
        " from each runner's start) | %.2f s | %.1f s |" % tls,
        "| smallest GetVariables round trip (board: recv to sent; wall: at the CSMS), of %d | %s | %.2f s |"
        % (ROUND_TRIPS, "%.3f s" % ws["rtt"][0] if ws["rtt"][0] is not None else "n/a", ws["rtt"][1]),
    ]
    heap_rows = []
    for label, s in (("ws://", ws), ("wss:// (TLS)", wss)):
        if s["heap"]:
            used, free, peak = s["heap"]
            heap_rows.append("| %s | %s | %s | %s |" % (label, kb(used), kb(free), kb(peak)))
    return "\n".join([
        "## The Pico W on a dialled cellular link, emulated (issue 21)",
        "",
        "The picow image (`make firmware BOARD=picow`, RPI_PICO_W with network.PPP, the agent frozen) on rp2040js"
        " via `tools/station.py --runtime picow`: UART0 at 115200 baud to the modem played on the host"
        " (tools/cellmodem.py: AT dialogue, PPP with PAP, TCP relayed to the dev CSMS on 127.0.0.1)."
        " Emulated seconds are the board's clock, an RP2040 at 125 MHz; wall seconds are this machine's.",
        "",
        "| figure | emulated | wall |",
        "|---|---:|---:|",
    ] + rows + [
        "",
        "Free heap once online (the agent's first heartbeat line: in use after a collection, free, high-water mark):",
        "",
        "| link | in use | free | peak |",
        "|---|---:|---:|---:|",
    ] + heap_rows + [
        "",
        "| figure | value |",
        "|---|---:|",
        "| flash erases per SetVariables of one value, rp2 flash driver (mean of %d) | %.1f |" % (SETS, ws["erases"]),
        "| emulator speed, emulated / wall seconds over the ws:// session (idle time capped at 1.0) | %.2f |"
        % ws["speed"],
        "| the same over the wss:// session | %.2f |" % wss["speed"],
        "",
        "Reproduce: `make bench` (this section: bench/picow_link.py; it builds the picow image first).",
    ])


if __name__ == "__main__":
    print(run())
