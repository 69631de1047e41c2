"""The cases' shared steps (imported by every test module: its `case`
fixture): a station on the unix port against the tool's
CSMS (octt.py), brought to the "Booted" state of Part 6, and helpers for the
requests most cases send."""
import pytest

from octt import Octt
from stations import StationProcess

PASSWORD = "conformance-pass-0001"
CONNECTORS = 1  # boards/host: EVSE 1, connector 1


def var(component, variable, value=None, evse=None, **kw):
    d = {"component": {"name": component}, "variable": {"name": variable}}
    if evse is not None:
        d["component"]["evse"] = {"id": evse}
    d.update(kw)
    if value is not None:
        d["attributeValue"] = value
    return d


class Case:
    """One case's tool and station."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.octt = None
        self.station = None

    def start(self, boot=("Accepted",), interval=300, boot_interval=None, booted=True, **station):
        self.octt = Octt(boot, interval, boot_interval, password=PASSWORD)
        self.station = StationProcess(self.tmp_path / "flash", self.octt.url, password=PASSWORD, **station)
        self.octt.run(self.station.start())
        if booted:
            return self.booted()
        return None

    def booted(self, n=1, timeout=30):
        """Reusable state Booted: BootNotification Accepted, then the state of
        every connector (StatusNotification Available)."""
        link = self.octt.link(n, timeout)
        link.expect("BootNotification", timeout)
        for _ in range(CONNECTORS):
            assert link.expect("StatusNotification", timeout)["connectorStatus"] == "Available"
        return link

    def get(self, link, *items):
        return link.call("GetVariables", {"getVariableData": list(items)})["getVariableResult"]

    def set(self, link, *items):
        return link.call("SetVariables", {"setVariableData": list(items)})["setVariableResult"]

    def configure(self, link, **values):
        """A case's configuration state: OCPPCommCtrlr variables by SetVariables."""
        results = self.set(link, *[var("OCPPCommCtrlr", k, str(v)) for k, v in values.items()])
        assert [r["attributeStatus"] for r in results] == ["Accepted"] * len(values), results

    def close(self):
        if self.station:
            self.octt.run(self.station.stop())
        if self.octt:
            self.octt.stop()
            assert self.octt.invalid == [], self.octt.invalid
        if self.station:
            assert PASSWORD not in self.station.log()


@pytest.fixture
def case(tmp_path):
    c = Case(tmp_path)
    yield c
    c.close()


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    """One station in the Booted state shared by a module's cases that only
    query or configure it (GetVariables, SetVariables, reports): each such
    case starts from Booted and leaves it so."""
    c = Case(tmp_path_factory.mktemp("booted"))
    link = c.start()
    yield c, link
    c.close()
