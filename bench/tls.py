"""The heap of a wss:// session on the 32-bit build with the agent frozen
(issue 13), beside a ws:// session on the same build, in the same run.

Session: security profile 2 (TLS with a test CA made here by trustme, basic
auth) against the dev CSMS on loopback: boot, heartbeats every second and
100 GetVariables, then two more heartbeats. mbedtls takes its memory from
MicroPython's heap, so the heap figures include the TLS session.
"""
import asyncio
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

PASSWORD = "station-password-0001"
REQUESTS = 100
GET = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}


def pki(folder):
    """(CA file, server certificate file, server key file) of a fresh test CA."""
    import trustme
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    paths = [os.path.join(folder, n) for n in ("ca.pem", "server.pem", "server.key")]
    for path, blob in zip(paths, (ca.cert_pem, server.cert_chain_pems[0], server.private_key_pem)):
        blob.write_to_path(path)
    return paths


async def session(binary, heap, tls):
    """(True when the session passes with this heap, the station's log)."""
    from csms import Csms, server_tls
    from stations import StationProcess
    folder = tempfile.mkdtemp(prefix="bench-tls-")
    ca, cert, key = pki(folder)
    csms = await Csms(interval=1, quiet=True, password=PASSWORD,
                      ssl=server_tls(cert, key) if tls else None).start()
    url = "%s://127.0.0.1:%d" % ("wss" if tls else "ws", csms.port)
    station = await StationProcess(os.path.join(folder, "flash"), url, password=PASSWORD, cafile=ca if tls else None,
                                   heap=heap, micropython=binary).start()
    try:
        st = await csms.wait_station("CS001", timeout=30)
        await st.wait_for("StatusNotification", timeout=10)
        for _ in range(REQUESTS):
            answer = await st.request("GetVariables", GET, timeout=10)
            assert answer["getVariableResult"][0]["attributeValue"] == "1"
        await st.wait_for("Heartbeat", len(st.calls("Heartbeat")) + 2, timeout=10)
        await asyncio.sleep(0.2)  # its heap line follows the answer
        ok = csms.connections == ["CS001"] and not st.invalid
    except Exception:
        ok = False
    finally:
        await station.stop()
        await csms.stop()
    return ok, station.log()


def smallest_heap(binary, tls, low=16, high=160, step=4):
    """Bisect the heap (KB) between low (fails) and high (passes); None when high fails."""
    if not asyncio.run(session(binary, "%dK" % high, tls))[0]:
        return None
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if asyncio.run(session(binary, "%dK" % mid, tls))[0]:
            high = mid
        else:
            low = mid
    return high


def figures(binary, tls):
    from scenario import heap_log
    ok, log = asyncio.run(session(binary, "192K", tls))
    used = [b for _, b in heap_log(log)]
    peak = [b for _, b in heap_log(log, peak=True)]
    return {"ok": ok, "online": used[-1] if used else None, "peak": max(peak) if peak else None,
            "smallest": smallest_heap(binary, tls)}


def run():
    import firmware
    binary, _ = firmware.build("unix32")
    columns = [("ws://", figures(binary, False)), ("wss:// (TLS)", figures(binary, True))]

    def kb(n):
        return "%.1f KB" % (n / 1024) if n is not None else "n/a"

    def row(label, key, unit=kb):
        plain, tls = columns[0][1][key], columns[1][1][key]
        cost = unit(tls - plain) if plain and tls else "n/a"
        return "| %s | %s | %s | %s |" % (label, unit(plain), unit(tls), cost)

    return "\n".join([
        "## TLS session heap on the 32-bit build",
        "",
        "Agent frozen into the 32-bit unix build (`make firmware BOARD=unix32`, `tools/station.py --micropython`),"
        " against the dev CSMS on loopback, security profile 1 (ws://) and 2 (wss://, TLS by the port's"
        " mbedtls, test CA, basic auth): boot, heartbeats every second, %d GetVariables. mbedtls allocates"
        " from MicroPython's heap, so the TLS session is counted. Heap figures come from the agent's heartbeat"
        " log (in use after a collection, and its high-water mark), at a 192 KB heap." % REQUESTS,
        "",
        "| figure | ws:// | wss:// (TLS) | TLS costs |",
        "|---|---:|---:|---:|",
        row("heap in use once online", "online"),
        row("peak heap in use after a collection", "peak"),
        row("smallest heap that passes the session (bisected, 4 KB steps)", "smallest",
            lambda n: "%d KB" % n if n is not None else "n/a"),
        "| session at 192 KB | %s | %s | |" % tuple("passes" if c["ok"] else "FAILS" for _, c in columns),
        "",
        "Reproduce: `make bench` (this section: bench/tls.py).",
    ])


if __name__ == "__main__":
    print(run())
