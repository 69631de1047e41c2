"""A canned stream for code that reads one (ws.WebSocket.recv): the dual
tests (test_fuzz_findings.py) and the fuzz targets (fuzz/targets.py, which
put this folder on their path) share it. CPython, the MicroPython unix port
and the emulated Pico W."""


class Feed:
    """The server's side of a stream: `data`, then EOF."""

    def __init__(self, data):
        self.data = data
        self.at = 0

    async def read(self, n):
        part = self.data[self.at:self.at + n]
        self.at += len(part)
        return part

    async def readexactly(self, n):
        part = await self.read(n)
        if len(part) < n:
            raise EOFError
        return part
