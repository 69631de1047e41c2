"""Test plumbing for firmware updates (L01): a file server on loopback that
can misbehave, bundles signed by a test PKI, and a power cut for a station.

The server speaks just enough HTTP/1.1 to serve one file, and plays the
faults a download must survive: `stall` (headers, half the body, then
silence), `close` (half the body, then the connection closes), `long`
(Content-Length larger than the body, then close), `extra` (more bytes
than Content-Length), `missing` (404). It counts the requests it gets.
"""
import asyncio
import os
import ssl as ssl_module
import sys

from conftest import ROOT, free_port

sys.path.insert(0, os.path.join(ROOT, "tools"))
import bundle  # noqa: E402  (tools/bundle.py)


class FileServer:
    def __init__(self, path, fault=None, tls=None):
        self.path = path  # the file served at any URL path
        self.fault = fault
        self.tls = tls  # an ssl.SSLContext for https://
        self.requests = 0
        self.handlers = set()  # tasks serving a request (a stalled one never ends by itself)
        self.server = None
        self.port = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d/fw/bundle.bin" % ("https" if self.tls else "http", self.port)

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", free_port(), ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        for task in list(self.handlers):
            task.cancel()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        self.requests += 1
        self.handlers.add(asyncio.current_task())
        try:
            while (await reader.readline()).strip():
                pass
            with open(self.path, "rb") as f:
                body = f.read()
            half = body[:len(body) // 2]
            if self.fault == "missing":
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            elif self.fault in ("stall", "close"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + half)
                await writer.drain()
                if self.fault == "stall":
                    await asyncio.sleep(3600)
            elif self.fault == "long":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(body) + 100) + body)
            elif self.fault == "extra":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(half) + body)
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
                for at in range(0, len(body), 4096):
                    writer.write(body[at:at + 4096])
                    await writer.drain()
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError, ssl_module.SSLError):
            pass
        finally:
            self.handlers.discard(asyncio.current_task())
            writer.close()


def make_pki(directory, kind="rsa"):
    """{"root", "signing", "key"}: paths of a test manufacturer root, a
    signing certificate it issued, and that certificate's key."""
    root, signing, key = bundle.test_pki(str(directory), kind)
    return {"root": root, "signing": signing, "key": key}


def make_bundle(directory, version, pki, source=None):
    """(bundle path, base64 signature) of the agent (or of firmware tree
    `source`) reporting `version`, signed with the PKI's key."""
    out = os.path.join(str(directory), "%s.bundle" % version)
    with open(pki["key"], "rb") as f:
        signature = bundle.make_bundle(version, f.read(), out, source)
    return out, signature


def install_root(state, pki):
    """The test root as the board's ManufacturerRootCertificate (the store
    InstallCertificate fills: certs/manufacturer_root.pem)."""
    certs = os.path.join(str(state), "certs")
    os.makedirs(certs, exist_ok=True)
    with open(pki["root"], "rb") as src, open(os.path.join(certs, "manufacturer_root.pem"), "wb") as dst:
        dst.write(src.read())


def request(server_url, pki, signature, request_id=1, **firmware):
    """An UpdateFirmware payload for the served bundle."""
    with open(pki["signing"]) as f:
        cert = f.read()
    fw = dict({"location": server_url, "retrieveDateTime": "2020-01-01T00:00:00Z",
               "signingCertificate": cert, "signature": signature}, **firmware)
    retries = fw.pop("retries", None)
    interval = fw.pop("retryInterval", None)
    payload = {"requestId": request_id, "firmware": fw}
    if retries is not None:
        payload["retries"] = retries
    if interval is not None:
        payload["retryInterval"] = interval
    return payload


def statuses(st):
    """(status, requestId) of every FirmwareStatusNotification the CSMS got."""
    return [(p["status"], p.get("requestId")) for p in st.calls("FirmwareStatusNotification")]
