"""Put the agent on a connected board with mpremote: copy the built files
that changed, leave the first-start settings, reset.

  deploy.py --board esp32|rp2040 --port /dev/ttyUSB0 --id ID --csms URL
            [--password P] [--cafile F] [--client-cert F --client-key F]
            [--wifi-ssid S [--wifi-password K] [--wifi-country CC]]
            [--modem uart=N,tx=PIN,rx=PIN[,baudrate=B][,password_first=1]
             --apn NAME [--apn-user U --apn-password P] [--apn-auth NONE|PAP|CHAP|AUTO]
             [--sim-pin PIN]]
            [--interface NAME] [--frozen] [--out DIR] [--dry-run [--listing FILE]]

The station id, CSMS URL and password go into install.json; on its first
start the agent moves them into its device model (SecurityCtrlr.Identity,
BasicAuthPassword, a network profile) and deletes the file. Certificates go
to certs/, the WLAN to network.json, the cellular modem's UART to modem.json;
the APN and SIM PIN go into install.json beside the CSMS URL, and the first
profile is then the modem's (Wireless1). Secrets are masked in the plan. --frozen: the firmware has the agent
frozen in (boards/<board>/manifest.py), so only main.py and model.jsonl are
copied. --dry-run prints the plan without touching a board; --listing is the
board's files as JSON {path: sha256 hex} (else the board counts as empty).
"""
import argparse
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "firmware"))

import build  # noqa: E402
from csagent.board_modem import ModemError, at_string  # noqa: E402
from csagent.variables import check_value  # noqa: E402

BOARDS = ("esp32", "rp2040")
INTERFACES = ("Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1", "Wireless2", "Wireless3")
MASK = "********"
START = "main.py"  # runs the agent at boot: written last, so a cut-short deploy never starts half of it
STOPPED = "main.py.off"

# Run on the board: "sha256 path" for every top-level file and everything
# under csagent/ (the store and certificates are not the deploy's business),
# "dir path/" for each directory.
LISTING = """import os, hashlib, binascii
R = %r
def _h(p):
    s = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            s.update(m[:n])
    return binascii.hexlify(s.digest()).decode()
def _walk(rel, deep):
    for e in os.ilistdir(R + rel):
        p = rel + e[0]
        if e[1] == 0x4000:
            print('dir', p + '/')
            if deep or p == 'csagent':
                _walk(p + '/', True)
        else:
            print(_h(R + p), p)
_walk('', False)
"""
# Run on the board before anything else: a running agent may have started
# the watchdog, which nothing feeds once mpremote stopped the agent.
STOP = """import os
try:
    os.stat('main.py')
except OSError:
    print('absent')
else:
    try:
        os.remove('main.py.off')
    except OSError:
        pass
    os.rename('main.py', 'main.py.off')
    print('stopped')
"""
RESET = "import machine\nmachine.reset()\n"


class Usage(Exception):
    """A bad argument: one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def parse(argv):
    p = OneLineParser(prog="deploy.py", description="Put the agent on a connected board.")
    p.add_argument("--board", required=True, choices=BOARDS)
    p.add_argument("--port", help="the board's serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--id", required=True, help="station id (SecurityCtrlr.Identity)")
    p.add_argument("--csms", required=True, help="CSMS URL, ws://... or wss://...")
    p.add_argument("--password", help="BasicAuthPassword, 16 to 40 characters")
    p.add_argument("--cafile", help="CA certificate(s) of the CSMS, PEM (security profiles 2, 3)")
    p.add_argument("--client-cert", help="client certificate, PEM (security profile 3)")
    p.add_argument("--client-key", help="its private key, PEM")
    p.add_argument("--wifi-ssid")
    p.add_argument("--wifi-password")
    p.add_argument("--wifi-country", help="two-letter country code for the WLAN channels")
    p.add_argument("--modem", type=modem_uart, help="the cellular modem's UART: uart=N,tx=PIN,rx=PIN"
                   "[,baudrate=B][,password_first=1] (SIMCom modems take the password first)")
    p.add_argument("--apn", help="the first profile's APN (the modem dials it)")
    p.add_argument("--apn-user")
    p.add_argument("--apn-password")
    p.add_argument("--apn-auth", choices=("NONE", "PAP", "CHAP", "AUTO"),
                   help="default: PAP with --apn-user, else NONE")
    p.add_argument("--sim-pin", help="the SIM's PIN, 4 to 8 digits, if it has one")
    p.add_argument("--interface", choices=INTERFACES,
                   help="OCPPInterface of the first network profile (default Wireless1 with --apn, "
                        "else Wireless0: the WLAN)")
    p.add_argument("--frozen", action="store_true", help="the firmware has the agent frozen in")
    p.add_argument("--out", help="build directory (default build/<board>)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, touch no board")
    p.add_argument("--listing", help="with --dry-run: the board's files, JSON {path: sha256 hex}")
    args = p.parse_args(argv)
    if not args.dry_run and not args.port:
        p.error("--port is required (or --dry-run)")
    if args.listing and not args.dry_run:
        p.error("--listing goes with --dry-run")
    if not (args.csms.startswith("ws://") or args.csms.startswith("wss://")) or not args.csms.split("/", 3)[2]:
        p.error("--csms wants ws://host[:port][/path] or wss://...")
    if bool(args.client_cert) != bool(args.client_key):
        p.error("--client-cert and --client-key go together")
    if args.client_cert and not args.csms.startswith("wss://"):
        p.error("a client certificate (security profile 3) needs a wss:// CSMS")
    if args.wifi_password and not args.wifi_ssid:
        p.error("--wifi-password without --wifi-ssid")
    check_apn(p, args)
    for name in ("cafile", "client_cert", "client_key", "listing"):
        path = getattr(args, name)
        if path and not os.path.isfile(path):
            p.error("--%s %s: no such file" % (name.replace("_", "-"), path))
    check_settings(args)
    return args


MODEM_KEYS = {"uart": int, "tx": int, "rx": int, "baudrate": int, "password_first": lambda v: bool(int(v))}


def modem_uart(text):
    """--modem uart=0,tx=0,rx=1[,baudrate=115200][,password_first=1] -> modem.json's dict."""
    config = {}
    try:
        for item in text.split(","):
            key, value = item.split("=", 1)
            config[key.strip()] = MODEM_KEYS[key.strip()](value)
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError("wants uart=N,tx=PIN,rx=PIN[,baudrate=B][,password_first=1]")
    if not {"uart", "tx", "rx"} <= set(config):
        raise argparse.ArgumentTypeError("wants uart=N,tx=PIN,rx=PIN at least")
    return config


def check_apn(p, args):
    """The APN options as the agent's dialer takes them (csagent.board_modem):
    refused here rather than at every dial on the board."""
    apn_given = [o for o in ("apn_user", "apn_password", "apn_auth", "sim_pin") if getattr(args, o) is not None]
    if apn_given and not args.apn:
        p.error("--%s goes with --apn" % apn_given[0].replace("_", "-"))
    if args.apn and not args.modem:
        p.error("--apn needs --modem (the modem's UART)")
    if args.interface is None:
        args.interface = "Wireless1" if args.apn else "Wireless0"
    if args.interface == "Wireless1" and not args.apn:
        p.error("--interface Wireless1 is the cellular modem: it needs --apn and --modem")
    if bool(args.apn_user) != bool(args.apn_password):
        p.error("--apn-user and --apn-password go together")
    if args.sim_pin is not None and not (args.sim_pin.isdigit() and 4 <= len(args.sim_pin) <= 8):
        p.error("--sim-pin wants 4 to 8 digits")
    for option in ("apn", "apn_user", "apn_password"):
        try:
            at_string("--" + option.replace("_", "-"), getattr(args, option))
        except ModemError as e:
            p.error(str(e))


_REASONS = {"ValueTooLow": "too short", "TooLargeElement": "too long", "InvalidValue": "a character it cannot hold"}


def check_settings(args):
    """The rules the agent applies on the board (model.jsonl's definitions):
    a value it would refuse must not reach install.json, where it would stop
    the agent at every start."""
    definitions = {}
    with open(os.path.join(ROOT, "boards", args.board, "model.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["component"] == "SecurityCtrlr":
                definitions[d["variable"]] = d
    for option, variable, value in (("--id", "Identity", args.id), ("--password", "BasicAuthPassword", args.password)):
        if value is None:
            continue
        d = definitions[variable]
        reason = check_value(value, d) if value else "ValueTooLow"
        if reason:
            raise Usage("%s: %s: %d to %d characters of A-Z a-z 0-9 *-_=:+|@.%s" % (
                option, _REASONS.get(reason, reason), d.get("minLimit", 1), d["maxLimit"],
                " but no ':'" if variable == "Identity" else ""))


def local_files(board, frozen, out=None):
    """{path on the board: bytes} of the build; with frozen firmware only
    what is not frozen. Also the set of every path the agent's code can
    take on the board (.py or .mpy), frozen or not."""
    out = build.build(board, out)
    files = {}
    for dirpath, _, names in os.walk(out):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, out).replace(os.sep, "/")] = f.read()
    code = set()
    for path in files:
        if path.endswith(".mpy"):
            code.update((path, path[:-4] + ".py"))
    if frozen:
        files = {p: data for p, data in files.items() if not p.endswith(".mpy")}
    return files, code


def settings_files(args):
    """[(path, bytes, what the plan shows)]: no secret is ever shown."""
    install = {"identity": args.id, "csms_url": args.csms, "interface": args.interface}
    if args.password:
        install["password"] = args.password
    if args.client_cert:
        install["security_profile"] = 3
    shown = dict(install, password=MASK) if args.password else dict(install)
    if args.apn:  # APNType (OCPP 2.0.1)
        apn = {"apn": args.apn, "apnAuthentication": args.apn_auth or ("PAP" if args.apn_user else "NONE")}
        if args.apn_user:
            apn.update(apnUserName=args.apn_user, apnPassword=args.apn_password)
        if args.sim_pin:
            apn["simPin"] = int(args.sim_pin)
        install["apn"] = apn
        shown["apn"] = dict(apn, **{k: MASK for k in ("apnPassword", "simPin") if k in apn})
    out = [("install.json", json.dumps(install).encode(), json.dumps(shown))]
    if args.modem:
        out.append(("modem.json", json.dumps(args.modem).encode(), json.dumps(args.modem)))
    if args.wifi_ssid:
        wifi = {"ssid": args.wifi_ssid}
        if args.wifi_password:
            wifi["key"] = args.wifi_password
        if args.wifi_country:
            wifi["country"] = args.wifi_country
        out.append(("network.json", json.dumps(wifi).encode(),
                    json.dumps(dict(wifi, key=MASK) if args.wifi_password else wifi)))
    for option, name in ((args.cafile, "csms_root.pem"), (args.client_cert, "client.pem"), (args.client_key, "client.key")):
        if option:
            with open(option, "rb") as f:
                data = f.read()
            out.append(("certs/" + name, data, "%d B from %s" % (len(data), option)))
    return out


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def plan(local, code, remote, settings):
    """The steps, in order, as (op, path, data, note). local: {path: bytes}
    to install; code: every path the agent's code may take on a board;
    remote: {path: sha256 hex, or "dir" for "path/"} on the board;
    settings: settings_files()."""
    steps = []
    files = [p for p in sorted(remote) if not p.endswith("/")]
    for path in files:
        if path not in local and (path.startswith("csagent/") or path in code):
            steps.append(("remove", path, None, "stale: it would shadow the agent's code"))
    have = set(p for p in remote if p.endswith("/")) | set(p.rsplit("/", 1)[0] + "/" for p in files if "/" in p)
    wanted = set(p.rsplit("/", 1)[0] + "/" for p in list(local) + [s[0] for s in settings] if "/" in p)
    for d in sorted(have, reverse=True):  # a package directory left empty would hide the frozen one
        if d.startswith("csagent/") and not any(w.startswith(d) for w in wanted):
            steps.append(("rmdir", d[:-1], None, "the frozen package is used instead"))
    steps.extend(("mkdir", d[:-1], None, "") for d in sorted(wanted - have))
    unchanged = 0
    for path in sorted(local):
        if path == START:
            continue
        if remote.get(path) == sha256(local[path]):
            unchanged += 1
        else:
            steps.append(("copy", path, local[path], "%d B" % len(local[path])))
    steps.extend(("write", path, data, shown) for path, data, shown in settings)
    steps.append(("copy", START, local[START], "%d B, last: it starts the agent" % len(local[START])))
    if START in remote or STOPPED in remote:
        steps.append(("remove", STOPPED, None, "left by stop()"))
    steps.append(("reset", "", None, "the agent starts and applies install.json"))
    return steps, unchanged


def describe(remote, steps, unchanged):
    lines = []
    if START in remote:
        lines.append("  %-7s %-26s %s" % ("stop", START, "renamed to %s, board reset: the agent stops" % STOPPED))
    lines.extend(("  %-7s %-26s %s" % (op, path, note)).rstrip() for op, path, _, note in steps)
    copied = [s for s in steps if s[0] in ("copy", "write")]
    lines.append("%d files to write (%d B), %d unchanged" % (
        len(copied), sum(len(s[2]) for s in copied), unchanged))
    return lines


def parse_listing(text):
    """{path: sha256 hex, or "dir" for "path/"} from the LISTING script's output."""
    out = {}
    for line in text.splitlines():
        if line.strip():
            digest, path = line.split(" ", 1)
            out[path] = digest
    return out


class Board:
    """A board on a serial port, through mpremote's transport."""

    def __init__(self, port, root="/"):
        self.port = port  # a device, or any pyserial URL (socket://host:port)
        self.root = root  # the filesystem the agent runs from, as the board names it
        self.link = None
        self.connect(0)

    def connect(self, wait):
        """Open the port and stop what runs; after a reset the USB serial
        port of a Pico W comes back only after a moment."""
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        deadline = time.monotonic() + wait
        while True:
            try:
                self.link = SerialTransport(self.port, baudrate=115200)
                self.link.enter_raw_repl(soft_reset=False)  # Ctrl-C stops the agent; stop() resets
                return
            except (OSError, TransportError) as e:
                if self.link:
                    self.link.close()
                    self.link = None
                if time.monotonic() >= deadline:
                    raise OSError("%s: %s" % (self.port, e))
                time.sleep(0.5)

    def run(self, script):
        return self.link.exec(script).decode()

    def stop(self):
        """Keep the agent from starting and reset when it may have run: its
        watchdog, which nothing feeds now, would reset the board mid-copy."""
        if self.run(STOP).strip() == "stopped":
            self.reset(reconnect=True)

    def reset(self, reconnect):
        self.link.exec_raw_no_follow(RESET)
        self.link.close()
        self.link = None
        if reconnect:
            time.sleep(1.5)
            self.connect(15)


def execute(board, steps, out=sys.stdout):
    """Carry the steps out on `board`, one progress line each."""
    total = sum(len(s[2]) for s in steps if s[2] is not None) or 1
    done = 0
    for i, (op, path, data, _) in enumerate(steps, 1):
        out.write("[%2d/%d] %3d%%  %-6s %s\n" % (i, len(steps), 100 * done // total, op, path))
        out.flush()
        if op in ("copy", "write"):
            board.link.fs_writefile(path, data)
            done += len(data)
        elif op == "mkdir":
            board.link.fs_mkdir(path)
        elif op == "remove":
            board.link.fs_rmfile(path)
        elif op == "rmdir":
            board.link.fs_rmdir(path)
        elif op == "reset":
            board.reset(reconnect=False)
    out.write("[%d/%d] 100%%  done\n" % (len(steps), len(steps)))


def deploy(board, local, code, settings, out=sys.stdout):
    """Stop the agent, compare, copy, write the settings, reset."""
    board.stop()
    remote = parse_listing(board.run(LISTING % board.root))
    steps, unchanged = plan(local, code, remote, settings)
    out.write("deploy to %s: %d files unchanged\n" % (board.port, unchanged))
    execute(board, steps, out)


def main(argv=None):
    try:
        args = parse(argv)
        if args.listing:
            with open(args.listing) as f:
                remote = json.load(f)
            if not isinstance(remote, dict):
                raise Usage("--listing %s: not a JSON object {path: sha256 hex}" % args.listing)
        else:
            remote = {}
        settings = settings_files(args)
    except Usage as e:
        sys.stderr.write("deploy.py: error: %s\n" % e)
        return 2
    except ValueError as e:  # a --listing that is no JSON
        sys.stderr.write("deploy.py: error: --listing: %s\n" % e)
        return 2
    local, code = local_files(args.board, args.frozen, args.out)
    if args.csms.startswith("wss://") and not args.cafile:
        print("note: wss:// without --cafile: the board must hold certs/csms_root.pem already")
    if args.dry_run:
        steps, unchanged = plan(local, code, remote, settings)
        print("deploy %s to %s (dry run: nothing is written)" % (args.board, args.port or "a board"))
        print("\n".join(describe(remote, steps, unchanged)))
        return 0
    try:
        deploy(Board(args.port), local, code, settings)
    except Exception as e:  # the port, mpremote or the board: one line, no traceback
        sys.stderr.write("deploy.py: error: %s\n" % (" ".join(str(a) for a in e.args) or type(e).__name__))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
