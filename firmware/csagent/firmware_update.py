"""UpdateFirmware: the secure firmware update of the agent (L01). Loaded for
the request, kept by its task while the update runs, and for after_boot.

The request is answered once its signing certificate was checked against
the installed ManufacturerRootCertificates (certs/manufacturer_root.pem):
InvalidCertificate and the security event InvalidFirmwareSigningCertificate
when it does not chain to one (L01.FR.02), Rejected for a request without
a certificate and signature (an unsigned update is not taken), and
AcceptedCanceled when an update was under way: that one stops, this one
starts (L01.FR.24). Then, as the station's work, not the connection's:

  DownloadScheduled until retrieveDateTime; Downloading: the bundle
  (bundle.py) streamed to <flash>/fw/download over HTTP or HTTPS
  (http_get.py; HTTPS verified against the CSMS root certificate), its
  SHA-256 computed on the way, tried 1 + retries times retryInterval apart
  (DownloadFailed after the last); Downloaded; the signature over that
  SHA-256 checked with the signing certificate's key: SignatureVerified,
  else InvalidSignature and the security event InvalidFirmwareSignature,
  and nothing is installed (L01.FR.03); InstallScheduled until
  installDateTime; Installing once no charging session runs: the bundle
  unpacked into the slot not in use, every file's hash checked
  (InstallVerificationFailed when one differs, InstallationFailed when the
  flash fails); InstallRebooting, and the board resets with the boot reason
  FirmwareUpdate. Every status goes out as FirmwareStatusNotification with
  the requestId (L01.FR.20), and is kept in <flash>/fw/state.json first.

After the reboot the new agent is on trial (firmware_slots.py). Once it is
Accepted, after_boot makes its slot the good one and sends Installed (and
the security event FirmwareUpdated); a new agent that does not get there is
rolled back by the boot code, and the old agent, once Accepted, sends
InstallationFailed: FirmwareStatusNotification has no statusInfo in 2.0.1,
and of its statuses this is the one that says the installed firmware did
not take. A power cut while an update runs is told the same way at the next
Accepted: DownloadFailed before the download was whole, InstallationFailed
after.
"""
import asyncio
import binascii
import hashlib
import os

from . import clock
from . import firmware_slots as slots
from .board_base import exists
from .boot import REASON_KEY
from .compat import const, heap, sleep, unload
from .log import log, reason
from .rpc import CallFailed

_ROOTS = const("manufacturer_root.pem")
_RETRIES = const(3)  # downloads tried again when the CSMS gives no number
_WAIT = const(30)  # seconds before the first retry when it gives no retryInterval; doubled each time
_TIMEOUT = const(15)  # seconds of silence that fail a download
_MOST = const(512 * 1024)  # the largest bundle taken
_POLL = const(5)  # seconds between checks of a charging session before installing
# code this module loads while it works, dropped when it is done
_HELPERS = const(("csagent.firmware_slots", "csagent.http_get", "csagent.tls", "csagent.bundle",
                  "csagent.cert_store", "csagent.x509", "csagent.pubkey", "csagent.der"))


def handle(payload, board, store, events, call, close, tasks):
    try:
        return _answer(payload, board, store, events, call, close, tasks)
    finally:
        unload(*_HELPERS)  # the task keeps what it uses


def _answer(payload, board, store, events, call, close, tasks):
    firmware = payload["firmware"]
    if not firmware.get("signingCertificate") or not firmware.get("signature"):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsignedFirmware",
                                                     "additionalInfo": "only signed updates are taken (L01)"}}
    if getattr(board, "trial_since", None) is not None:  # its slot is the one an update would write
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UpdateOnTrial",
                                                     "additionalInfo": "the last update is not Accepted yet"}}
    problem = check_certificate(board, firmware["signingCertificate"])
    if problem:  # L01.FR.02
        events.record("InvalidFirmwareSigningCertificate", problem)
        return {"status": "InvalidCertificate", "statusInfo": {"reasonCode": "InvalidCertificate",
                                                               "additionalInfo": problem[:512]}}
    busy = slots.read(board.flash).get("status") in slots.RUNNING
    board.update_pending = False  # this update's story replaces the last one's
    update = Update(payload, board, store, events, call, close)

    def later():
        tasks.stop("firmware")  # L01.FR.24: the update under way stops
        tasks.start(update.run(), "firmware")
    return {"status": "AcceptedCanceled" if busy else "Accepted"}, later


def check_certificate(board, pem):
    """None when the PEM's first certificate chains (through the ones after
    it) to an installed ManufacturerRootCertificate and all are valid now;
    else what is wrong, in one line."""
    from . import cert_store, x509
    now = board.time()
    try:
        chain = [x509.Certificate(der) for der in x509.pem_blocks(pem)][:4]
        if not chain:
            return "no certificate in signingCertificate"
        for cert in chain:
            if not cert.not_before <= now <= cert.not_after:
                return "signing certificate chain expired or not yet valid"
        for cert, issuer in zip(chain, chain[1:]):
            if not x509.signed_by(cert, issuer):
                return "signing certificate chain broken"
        if chain[0].key is None:
            return "signing certificate key is neither RSA nor EC P-256"
        last = chain[-1]
        for der in cert_store.read(board, _ROOTS):
            if der == last.der or x509.signed_by(last, x509.Certificate(der)):
                return None
        return "not issued by an installed ManufacturerRootCertificate"
    except ValueError as e:
        return "unreadable certificate: " + reason(e)


class Update:
    """One update under way, as a task of the agent's own (it outlives a
    connection; a new request cancels it)."""

    def __init__(self, payload, board, store, events, call, close):
        firmware = payload["firmware"]
        self.id = payload["requestId"]
        self.location = firmware["location"]
        self.certificate = firmware["signingCertificate"]
        self.signature = firmware["signature"]
        self.retrieve = clock.parse(firmware["retrieveDateTime"])
        self.install = clock.parse(firmware["installDateTime"]) if firmware.get("installDateTime") else None
        self.retries = payload.get("retries", _RETRIES)
        self.interval = payload.get("retryInterval")
        self.board, self.store, self.events, self.call, self.close = board, store, events, call, close
        self.download = "%s/download.%d" % (slots.folder(board.flash), self.id)  # one per request: a
        # cancelled update may still be removing its own while the next one writes

    async def tell(self, status, trial=False):
        """Keep the status, then send it (L01.FR.20: with the requestId).
        An end the CSMS did not get is told once the station is online again
        (after_boot, from the next registration)."""
        flash = self.board.flash
        state = slots.read(flash)
        state["id"], state["status"] = self.id, status
        if trial is not False:
            state["trial"], state["boots"] = trial, 0
        slots.write(flash, state)
        used = heap()  # after a collection: what this step holds (bench/firmware_update.py reads it)
        log("firmware", status, self.id, *(("heap", used[0], "peak", used[2]) if used else ()))
        try:
            await self.call("FirmwareStatusNotification", {"status": status, "requestId": self.id})
        except CallFailed:
            if status not in slots.RUNNING:
                self.board.update_pending = True  # the next registration tells it (after_boot)
            return
        if status not in slots.RUNNING:
            _told(flash, self.id, status)

    async def run(self):
        try:
            await self._run()
        finally:
            _remove(self.download)
            unload(*_HELPERS)

    async def _run(self):
        board = self.board
        folder = slots.folder(board.flash)
        if not exists(folder):
            os.mkdir(folder)
        for name in os.listdir(folder):  # what a power cut or a cancelled update left
            if name.startswith("download.") and folder + "/" + name != self.download:
                _remove(folder + "/" + name)
        if self.retrieve > board.time():
            await self.tell("DownloadScheduled")
            await sleep(self.retrieve - board.time())
        # the slot not in use, which no state may point to while it is written
        target = "b" if slots.read(board.flash).get("slot") == "a" else "a"
        await self.tell("Downloading", trial=None)
        digest = await self.fetch()
        if digest is None:
            return await self.tell("DownloadFailed")
        await self.tell("Downloaded")
        if not self.verified(digest):  # L01.FR.03
            self.events.record("InvalidFirmwareSignature", "bundle from " + self.location[:200])
            return await self.tell("InvalidSignature")
        await self.tell("SignatureVerified")
        if self.install and self.install > board.time():
            await self.tell("InstallScheduled")
            await sleep(self.install - board.time())
        while board.charging():  # never under a running session
            await asyncio.sleep(_POLL)
        await self.tell("Installing")
        from .bundle import BundleError, unpack
        try:
            for _ in unpack(self.download, folder + "/" + target):
                await asyncio.sleep(0)  # the connection goes on between files
        except BundleError as e:
            log("firmware", "bundle refused:", reason(e))
            return await self.tell("InstallVerificationFailed")
        except OSError as e:
            log("firmware", "install failed:", reason(e))
            return await self.tell("InstallationFailed")
        _remove(self.download)
        await self.tell("InstallRebooting", trial=target)
        self.store.commit({REASON_KEY: "FirmwareUpdate"})
        await self.close(1000, "firmware update")
        self.store.close()
        board.reset()

    async def fetch(self):
        """The bundle's SHA-256 once it is whole in flash, or None after
        the last attempt failed."""
        from . import http_get
        ssl = None
        if self.location.startswith("https://") and self.board.cert("csms_root.pem"):
            from .tls import client_context
            try:
                ssl = client_context(cafile=self.board.cert("csms_root.pem"))
            except (OSError, ValueError) as e:
                log("firmware", "no TLS context:", reason(e))
        for attempt in range(1 + max(0, self.retries)):
            if attempt:  # retryInterval as the CSMS asked, else our own doubling wait
                await sleep(self.interval if self.interval is not None else _WAIT << (attempt - 1))
            h = hashlib.sha256()
            try:
                with open(self.download, "wb") as f:
                    def sink(chunk):
                        h.update(chunk)
                        f.write(chunk)
                    size = await http_get.get(self.location, sink, ssl, _TIMEOUT, _MOST)
                log("firmware", "downloaded", size, "bytes")
                return h.digest()
            except (http_get.HttpError, OSError) as e:
                log("firmware", "download failed:", reason(e))
        return None

    def verified(self, digest):
        """The signature (base64) over the bundle's SHA-256 verifies with
        the signing certificate's key."""
        from . import pubkey, x509
        try:
            key = x509.Certificate(x509.pem_blocks(self.certificate)[0]).key
            signature = binascii.a2b_base64(self.signature)
        except (ValueError, IndexError):
            return False
        return key is not None and pubkey.verify(key, digest, signature)


async def after_boot(board, call, events):
    """Once Accepted after a boot: a new agent on trial becomes the good one,
    and the CSMS hears how the last update ended (module docstring)."""
    try:
        await _after_boot(board, call, events)
    except OSError as e:  # a flash that fails here must not cost the registration
        log("firmware", "after boot:", reason(e))
    finally:
        unload(*_HELPERS)


async def _after_boot(board, call, events):
    flash = board.flash
    state = slots.read(flash)
    status = state.get("status")
    if state.get("trial") and getattr(board, "trial_since", None) is not None:
        board.trial_since = None
        state["slot"], state["trial"], state["boots"] = state["trial"], None, 0
        status = "Installed"
        events.record("FirmwareUpdated", "version " + getattr(board, "firmware_version", "?"))
    elif status == "RolledBack":
        status = "InstallationFailed"
    elif status in ("DownloadScheduled", "Downloading"):
        status = "DownloadFailed"
    elif status in slots.RUNNING:
        status = "InstallationFailed"
    if status in ("DownloadFailed", "InstallationFailed"):  # what a cut update left
        folder = slots.folder(flash)
        for name in os.listdir(folder):
            if name.startswith("download."):
                _remove(folder + "/" + name)
    state["status"] = status
    slots.write(flash, state)
    log("firmware", "after boot:", status)
    if status and state.get("id") is not None:
        try:
            await call("FirmwareStatusNotification", {"status": status, "requestId": state["id"]})
        except CallFailed:
            return  # told at the next connection
        _told(flash, state["id"], status)
    board.update_pending = False


def _told(flash, request, status):
    """The CSMS has the update's end: forget it, unless a new one began."""
    state = slots.read(flash)
    if state.get("id") == request and state.get("status") == status:
        state.pop("id")
        state.pop("status")
        slots.write(flash, state)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
