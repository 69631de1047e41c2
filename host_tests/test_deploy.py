"""tools/deploy.py without a board: the plan a dry run prints for a board
whose files are given as a listing, the listing script itself and a whole
deploy through mpremote on the MicroPython unix port's REPL, and
install.json as the agent takes it."""
import hashlib
import io
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import threading
import tty

import pytest

from conftest import MICROPYTHON, ROOT, run_micropython

import deploy  # noqa: E402  (tools/deploy.py)
from csagent import netprofiles  # noqa: E402
from csagent.model import DeviceModel  # noqa: E402
from csagent.store import Store  # noqa: E402

PASSWORD = "Pw-0123456789-abcdef"
WIFI_KEY = "wifi-secret-key"
BASE = ["--board", "esp32", "--id", "CS-001", "--csms", "wss://csms.example/ocpp", "--password", PASSWORD]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """The esp32 build the dry runs use; built once."""
    path = str(tmp_path_factory.mktemp("deploy") / "esp32")
    deploy.local_files("esp32", False, path)
    return path


def dry_run(out, *extra, listing=None, tmp_path=None):
    args = BASE + ["--dry-run", "--out", out] + list(extra)
    if listing is not None:
        path = os.path.join(str(tmp_path), "listing.json")
        with open(path, "w") as f:
            json.dump(listing, f)
        args += ["--listing", path]
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py")] + args,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    steps = [line.split(None, 2) for line in r.stdout.splitlines() if line.startswith("  ")]
    return r.stdout, [(s[0], s[1] if len(s) > 1 else "") for s in steps]


def built(out):
    files = {}
    for dirpath, _, names in os.walk(out):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, out)] = f.read()
    return files


def test_fresh_board_gets_everything_and_main_py_last(out, tmp_path):
    text, steps = dry_run(out, "--wifi-ssid", "depot", "--wifi-password", WIFI_KEY)
    files = built(out)
    copied = [path for op, path in steps if op == "copy"]
    assert sorted(copied) == sorted(files)
    assert steps[-2:] == [("copy", "main.py"), ("reset", "the")]
    assert ("mkdir", "csagent") in steps
    assert ("write", "install.json") in steps and ("write", "network.json") in steps
    assert PASSWORD not in text and WIFI_KEY not in text
    install = [line for line in text.splitlines() if "install.json" in line][0]
    assert json.loads(install.split("install.json", 1)[1]) == {
        "identity": "CS-001", "csms_url": "wss://csms.example/ocpp", "interface": "Wireless0",
        "password": deploy.MASK}
    assert "%d files to write" % (len(files) + 2) in text
    assert "note: wss:// without --cafile" in text


def test_only_changed_files_are_copied_and_stale_ones_removed(out, tmp_path):
    files = built(out)
    listing = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    listing["csagent/agent.mpy"] = "0" * 64  # changed since the last deploy
    listing["csagent/old_module.mpy"] = "1" * 64  # a module that is gone
    listing["board.py"] = "2" * 64  # source beside board.mpy: imported instead of it
    listing["notes.txt"] = "3" * 64  # not the agent's
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
    text, steps = dry_run(out, "--cafile", str(ca), listing=listing, tmp_path=tmp_path)
    assert steps[0] == ("stop", "main.py")  # main.py was there: the agent is stopped first
    assert [s for s in steps if s[0] == "copy"] == [("copy", "csagent/agent.mpy"), ("copy", "main.py")]
    assert ("remove", "csagent/old_module.mpy") in steps and ("remove", "board.py") in steps
    assert ("remove", "main.py.off") in steps
    assert not [s for s in steps if s[1] == "notes.txt"]
    assert ("mkdir", "certs") in steps and ("write", "certs/csms_root.pem") in steps
    assert ("mkdir", "csagent") not in steps
    assert "%d unchanged" % (len(files) - 2) in text
    assert "note: wss://" not in text


def test_frozen_firmware_gets_no_code(out, tmp_path):
    listing = {path: hashlib.sha256(data).hexdigest() for path, data in built(out).items()}
    text, steps = dry_run(out, "--frozen", listing=listing, tmp_path=tmp_path)
    removed = [path for op, path in steps if op == "remove"]
    assert sorted(removed) == sorted([p for p in listing if p.endswith(".mpy")] + ["main.py.off"])
    assert ("rmdir", "csagent") in steps  # an empty csagent/ would hide the frozen package
    assert [s for s in steps if s[0] == "copy"] == [("copy", "main.py")]  # model.jsonl unchanged


@pytest.mark.parametrize("args", [
    ["--board", "esp8266"],
    ["--csms", "http://csms.example/ocpp"],
    ["--csms", "ws:///ocpp"],
    ["--password", "too-short"],
    ["--password", "x" * 41],
    ["--id", "with:colon"],
    ["--id", "x" * 49],
    ["--interface", "Ethernet"],
    ["--client-cert", __file__],
    ["--wifi-password", WIFI_KEY],
    ["--cafile", "/nonexistent/ca.pem"],
    ["--listing", "/nonexistent/listing.json"],
    ["--undefined-option"],
    ["--apn", "internet"],  # no --modem
    ["--modem", "uart=1,tx=17"],
    ["--modem", "uart=1,tx=17,rx=16,parity=odd"],
    ["--modem", "uart=1,tx=17,rx=16", "--apn-user", "u"],  # no --apn
    ["--modem", "uart=1,tx=17,rx=16", "--interface", "Wireless1"],
    ["--modem", "uart=1,tx=17,rx=16", "--apn", "internet", "--apn-user", "u"],
    ["--modem", "uart=1,tx=17,rx=16", "--apn", "internet", "--sim-pin", "12"],
    ["--modem", "uart=1,tx=17,rx=16", "--apn", "internet", "--sim-pin", "12ab"],
    ["--modem", "uart=1,tx=17,rx=16", "--apn", 'in"ternet'],
    ["--modem", "uart=1,tx=17,rx=16", "--apn", "internet", "--apn-auth", "EAP"],
])
def test_bad_argument_is_one_line_and_status_2(args):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py")] + BASE + ["--dry-run"] + args,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy.py: error: "), r.stderr
    assert PASSWORD not in r.stderr


def test_no_port_without_dry_run():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py")] + BASE,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr == "deploy.py: error: --port is required (or --dry-run)\n"


def test_listing_script_on_micropython_matches_the_build(out, tmp_path):
    """The script deploy runs on the board, run on the unix port over a copy
    of the build: a second deploy then copies nothing but main.py."""
    board = tmp_path / "board"
    shutil.copytree(out, str(board))
    (board / "store").mkdir()
    (board / "store" / "base").write_bytes(b"not hashed")
    (board / "install.json").write_bytes(b"{}")
    script = tmp_path / "listing.py"
    script.write_text(deploy.LISTING % (str(board) + "/"))
    r = run_micropython([str(script)], [], heap="256K", timeout=30)
    assert r.returncode == 0, r.stderr
    remote = deploy.parse_listing(r.stdout)
    files = built(out)
    expected = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    expected["install.json"] = hashlib.sha256(b"{}").hexdigest()
    expected.update({"csagent/": "dir", "store/": "dir"})
    assert remote == expected
    steps, unchanged = deploy.plan(files, set(), remote, [])
    assert [s[:2] for s in steps if s[0] != "reset"] == [("copy", "main.py"), ("remove", "main.py.off")]
    assert unchanged == len(files) - 1


def test_install_json_is_what_the_agent_installs(tmp_path):
    args = deploy.parse(BASE + ["--dry-run", "--client-cert", __file__, "--client-key", __file__])
    path, data, shown = deploy.settings_files(args)[0]
    settings = json.loads(data)
    model = DeviceModel(os.path.join(ROOT, "boards", "esp32", "model.jsonl"), Store(str(tmp_path / "store")))
    model.apply_install(settings)
    assert model.value("SecurityCtrlr", "Identity") == "CS-001"
    assert model.value("SecurityCtrlr", "BasicAuthPassword") == PASSWORD
    profile = netprofiles.install_profile(settings)
    assert profile["ocppInterface"] == "Wireless0" and profile["securityProfile"] == 3
    assert profile["ocppCsmsUrl"] == "wss://csms.example/ocpp"


def test_modem_apn_and_pin_reach_the_first_profile_masked_in_the_plan(out, tmp_path):
    """The modem's UART goes to modem.json, the APN and SIM PIN into
    install.json, from which the agent's first start makes a Wireless1
    profile with that APN; the dry run shows neither password nor PIN."""
    apn_password, pin = "apn-Secret-77", "0042"
    extra = ["--modem", "uart=1,tx=17,rx=16,baudrate=115200,password_first=1", "--apn", "internet.test",
             "--apn-user", "station", "--apn-password", apn_password, "--sim-pin", pin]
    text, steps = dry_run(out, *extra)
    assert ("write", "modem.json") in steps and ("write", "install.json") in steps
    assert apn_password not in text and '"simPin": "********"' in text and PASSWORD not in text
    files = {path: json.loads(data) for path, data, _ in deploy.settings_files(deploy.parse(BASE + ["--dry-run"] + extra))}
    assert files["modem.json"] == {"uart": 1, "tx": 17, "rx": 16, "baudrate": 115200, "password_first": True}
    profile = netprofiles.install_profile(files["install.json"])
    assert profile["ocppInterface"] == "Wireless1"
    assert profile["apn"] == {"apn": "internet.test", "apnAuthentication": "PAP", "apnUserName": "station",
                              "apnPassword": apn_password, "simPin": 42}


class PtyBoard:
    """The MicroPython unix port on a pseudo-terminal, its REPL reachable as
    socket://127.0.0.1:<port> (a pyserial URL mpremote opens like a serial
    port): a board whose filesystem is the directory `cwd`."""

    def __init__(self, cwd):
        master, slave = pty.openpty()
        tty.setraw(slave)  # no \n -> \r\n: bytes pass as on a UART
        self.proc = subprocess.Popen([MICROPYTHON, "-X", "heapsize=256K"], stdin=slave, stdout=slave,
                                     stderr=slave, cwd=cwd, close_fds=True)
        os.close(slave)
        self.master = master
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self.server.getsockname()[1]
        threading.Thread(target=self.pump, daemon=True).start()

    def pump(self):
        """Carry bytes between the REPL and one client at a time. A client
        that goes away (deploy.py reconnects after a failed attempt) is
        dropped and the next one served, as a serial port would."""
        conn = None
        while self.proc.poll() is None:
            waiting = [self.master, self.server] + ([conn] if conn else [])
            ready, _, _ = select.select(waiting, [], [], 0.2)
            if self.server in ready and conn is None:
                conn = self.server.accept()[0]
            try:
                if self.master in ready:
                    data = os.read(self.master, 4096)
                    if conn:
                        conn.sendall(data)
                if conn and conn in ready:
                    data = conn.recv(4096)
                    if not data:
                        raise ConnectionResetError
                    os.write(self.master, data)
            except ConnectionError:
                conn.close()
                conn = None
            except OSError:  # the REPL's side of the pty is gone
                return

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.server.close()
        os.close(self.master)


def test_deploy_through_mpremote_to_a_micropython_repl(out, tmp_path):
    """The real path: mpremote's transport drives a MicroPython REPL. A first
    deploy copies everything; the next one, onto a board running an older
    main.py with a stale module, stops it, copies only what changed."""
    root = tmp_path / "board"
    root.mkdir()
    board = PtyBoard(str(root))
    try:
        # a few of the build's files: mpremote writes some 4 KB a second
        files = {p: d for p, d in built(out).items() if p in ("main.py", "board.mpy", "csagent/clock.mpy")}
        args = deploy.parse(BASE + ["--dry-run", "--wifi-ssid", "depot", "--wifi-password", WIFI_KEY])
        settings = deploy.settings_files(args)
        report = io.StringIO()
        deploy.deploy(deploy.Board(board.url, str(root) + "/"), files, set(), settings, report)
        for path, data in files.items():
            assert (root / path).read_bytes() == data, path
        assert json.loads((root / "install.json").read_text())["password"] == PASSWORD
        assert json.loads((root / "network.json").read_text()) == {"ssid": "depot", "key": WIFI_KEY}
        assert "0 files unchanged" in report.getvalue() and "100%  done" in report.getvalue()

        (root / "main.py").write_text("print('an older agent')\n")
        (root / "csagent" / "gone.py").write_text("")
        report = io.StringIO()
        deploy.deploy(deploy.Board(board.url, str(root) + "/"), files, set(), settings, report)
        lines = report.getvalue().splitlines()
        assert "%d files unchanged" % (len(files) - 1) in lines[0]
        assert [line.split("%", 1)[1].split() for line in lines[1:-1]] == [
            ["remove", "csagent/gone.py"], ["write", "install.json"], ["write", "network.json"],
            ["copy", "main.py"], ["remove", "main.py.off"], ["reset"]]
        assert (root / "main.py").read_bytes() == files["main.py"]
        assert not (root / "main.py.off").exists() and not (root / "csagent" / "gone.py").exists()
    finally:
        board.close()
