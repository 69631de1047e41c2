"""Every variable in boards/host/model.jsonl against the specification.

Facts below were read from OCPP 2.0.1 Edition 3:
  P2   Part 2, "Referenced Components and Variables", section number given
  P4   Part 4 (JSON over WebSockets), section 8
  E57  Errata 2025-09, 2.57: ActiveNetworkProfile is required
  CSV  Part 2 Appendices v1.4, dm_components_vars.csv (the generic
       variables, which have no table of their own; no mutability given)
Where the Part 2 table writes a dataType differently from DataEnumType
("DateTime", "optionList") the DataEnumType spelling is used. Mutability
None means the specification does not fix it.
"""
import json
import os

from conftest import ROOT

DEFAULTS = os.path.join(ROOT, "boards", "host", "model.jsonl")
RO, RW, WO = "ReadOnly", "ReadWrite", "WriteOnly"
COMM, SEC, DDC, CLOCK, CS = "OCPPCommCtrlr", "SecurityCtrlr", "DeviceDataCtrlr", "ClockCtrlr", "ChargingStation"
TIERED = ("EVSE", "Connector")  # addressed on their evse (and connector) tier, P2 2.13.1

# (component, variable, variable instance): (dataType, mutabilities, units, source)
FACTS = {
    (COMM, "ActiveNetworkProfile", None): ("integer", (RO,), (None,), "P2 2.1.1, E57"),
    (COMM, "FileTransferProtocols", None): ("MemberList", (RO,), (None,), "P2 2.1.4"),
    (COMM, "HeartbeatInterval", None): ("integer", (RW,), ("s",), "P2 2.1.5"),
    (COMM, "MessageTimeout", "Default"): ("integer", (RO,), ("s",), "P2 2.1.3"),
    (COMM, "NetworkConfigurationPriority", None): ("SequenceList", (RW,), (None,), "P2 2.1.6"),
    (COMM, "NetworkProfileConnectionAttempts", None): ("integer", (RW,), (None,), "P2 2.1.7"),
    (COMM, "OfflineThreshold", None): ("integer", (RW,), ("s",), "P2 2.1.8"),
    (COMM, "ResetRetries", None): ("integer", (RW,), (None,), "P2 2.1.14"),
    (COMM, "RetryBackOffRepeatTimes", None): ("integer", (RW,), (None,), "P4 8.1"),
    (COMM, "RetryBackOffRandomRange", None): ("integer", (RW,), ("s",), "P4 8.2"),
    (COMM, "RetryBackOffWaitMinimum", None): ("integer", (RW,), ("s",), "P4 8.3"),
    (COMM, "WebSocketPingInterval", None): ("integer", (RW,), ("s",), "P4 8.4"),
    (SEC, "BasicAuthPassword", None): ("string", (WO,), (None,), "P2 2.2.1"),
    (SEC, "Identity", None): ("string", (RO, RW), (None,), "P2 2.2.2 (ReadOnly or ReadWrite)"),
    (SEC, "OrganizationName", None): ("string", (RW,), (None,), "P2 2.2.3"),
    (SEC, "CertificateEntries", None): ("integer", (RO,), (None,), "P2 2.2.4"),
    (SEC, "SecurityProfile", None): ("integer", (RO,), (None,), "P2 2.2.5"),
    (SEC, "AdditionalRootCertificateCheck", None): ("boolean", (RO,), (None,), "P2 2.2.6"),
    (DDC, "ItemsPerMessage", "GetReport"): ("integer", (RO,), (None,), "P2 2.1.16"),
    (DDC, "ItemsPerMessage", "GetVariables"): ("integer", (RO,), (None,), "P2 2.1.17"),
    (DDC, "BytesPerMessage", "GetReport"): ("integer", (RO,), (None,), "P2 2.1.18"),
    (DDC, "BytesPerMessage", "GetVariables"): ("integer", (RO,), (None,), "P2 2.1.19"),
    (DDC, "ConfigurationValueSize", None): ("integer", (RO,), (None,), "P2 2.1.20"),
    (DDC, "ReportingValueSize", None): ("integer", (RO,), (None,), "P2 2.1.21"),
    (DDC, "ItemsPerMessage", "SetVariables"): ("integer", (RO,), (None,), "P2 2.1.22"),
    (DDC, "BytesPerMessage", "SetVariables"): ("integer", (RO,), (None,), "P2 2.1.23"),
    (DDC, "ValueSize", None): ("integer", None, (None,), "CSV"),
    (CLOCK, "DateTime", None): ("dateTime", (RO,), (None,), "P2 2.1.24"),
    (CLOCK, "TimeSource", None): ("SequenceList", (RW,), (None,), "P2 2.1.30"),
    # Controllers served by the integrator ("integrator": true): P2 section 2 tables
    (COMM, "MessageAttemptsTransactionEvent", None): ("integer", (RW,), (None,), "P2 2.1 OCPPCommCtrlr"),
    (COMM, "MessageAttemptIntervalTransactionEvent", None): ("integer", (RW,), ("s",), "P2 2.1 OCPPCommCtrlr"),
    (COMM, "UnlockOnEVSideDisconnect", None): ("boolean", (RO, RW), (None,), "P2 2.1 OCPPCommCtrlr"),
    ("AuthCtrlr", "AuthorizeRemoteStart", None): ("boolean", (RO, RW), (None,), "P2 AuthCtrlr"),
    ("AuthCtrlr", "LocalAuthorizeOffline", None): ("boolean", (RW,), (None,), "P2 AuthCtrlr"),
    ("AuthCtrlr", "LocalPreAuthorize", None): ("boolean", (RW,), (None,), "P2 AuthCtrlr"),
    ("AuthCtrlr", "Enabled", None): ("boolean", (RW,), (None,), "P2 AuthCtrlr"),
    ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None): ("boolean", (RW,), (None,), "P2 AuthCtrlr"),
    ("AuthCacheCtrlr", "Enabled", None): ("boolean", (RW,), (None,), "P2 AuthCacheCtrlr"),
    ("AuthCacheCtrlr", "LifeTime", None): ("integer", (RW,), ("s",), "P2 AuthCacheCtrlr"),
    ("AuthCacheCtrlr", "Policy", None): ("OptionList", (RW,), (None,), "P2 AuthCacheCtrlr"),
    ("LocalAuthListCtrlr", "Enabled", None): ("boolean", (RW,), (None,), "P2 LocalAuthListCtrlr"),
    ("LocalAuthListCtrlr", "Entries", None): ("integer", (RO,), (None,), "P2 LocalAuthListCtrlr"),
    ("LocalAuthListCtrlr", "ItemsPerMessage", None): ("integer", (RO,), (None,), "P2 LocalAuthListCtrlr"),
    ("LocalAuthListCtrlr", "BytesPerMessage", None): ("integer", (RO,), (None,), "P2 LocalAuthListCtrlr"),
    ("TxCtrlr", "EVConnectionTimeOut", None): ("integer", (RW,), ("s",), "P2 TxCtrlr"),
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None): ("boolean", (RO, RW), (None,), "P2 TxCtrlr"),
    ("TxCtrlr", "StopTxOnInvalidId", None): ("boolean", (RW,), (None,), "P2 TxCtrlr"),
    ("TxCtrlr", "TxStartPoint", None): ("MemberList", (RO, RW), (None,), "P2 TxCtrlr"),
    ("TxCtrlr", "TxStopPoint", None): ("MemberList", (RO, RW), (None,), "P2 TxCtrlr"),
    ("SampledDataCtrlr", "TxEndedMeasurands", None): ("MemberList", (RW,), (None,), "P2 SampledDataCtrlr"),
    ("SampledDataCtrlr", "TxEndedInterval", None): ("integer", (RW,), ("s",), "P2 SampledDataCtrlr"),
    ("SampledDataCtrlr", "TxStartedMeasurands", None): ("MemberList", (RW,), (None,), "P2 SampledDataCtrlr"),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None): ("MemberList", (RW,), (None,), "P2 SampledDataCtrlr"),
    ("SampledDataCtrlr", "TxUpdatedInterval", None): ("integer", (RW,), ("s",), "P2 SampledDataCtrlr"),
    ("AlignedDataCtrlr", "Measurands", None): ("MemberList", (RW,), (None,), "P2 AlignedDataCtrlr"),
    ("AlignedDataCtrlr", "Interval", None): ("integer", (RW,), ("s",), "P2 AlignedDataCtrlr"),
    ("AlignedDataCtrlr", "TxEndedMeasurands", None): ("MemberList", (RW,), (None,), "P2 AlignedDataCtrlr"),
    ("AlignedDataCtrlr", "TxEndedInterval", None): ("integer", (RW,), ("s",), "P2 AlignedDataCtrlr"),
    ("ReservationCtrlr", "Enabled", None): ("boolean", (RW,), (None,), "P2 ReservationCtrlr"),
    ("SmartChargingCtrlr", "Enabled", None): ("boolean", (RW,), (None,), "P2 SmartChargingCtrlr"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", None): ("decimal", (RW,), (None,), "P2 SmartChargingCtrlr"),
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None): ("integer", (RO,), (None,), "P2 SmartChargingCtrlr"),
    ("SmartChargingCtrlr", "ProfileStackLevel", None): ("integer", (RO,), (None,), "P2 SmartChargingCtrlr"),
    ("SmartChargingCtrlr", "RateUnit", None): ("MemberList", (RO,), (None,), "P2 SmartChargingCtrlr"),
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles"): ("integer", (RO,), (None,), "P2 SmartChargingCtrlr"),
    (CLOCK, "NextTimeOffsetTransitionDateTime", None): ("dateTime", (RW,), (None,), "P2 ClockCtrlr"),
    (CS, "Available", None): ("boolean", (RO,), (None,), "P2 2.13.1"),
    (CS, "AvailabilityState", None): ("OptionList", (RO,), (None,), "P2 2.13.2"),
    (CS, "SupplyPhases", None): ("integer", (RO,), (None,), "P2 2.13.6"),
    (CS, "Model", None): ("string", None, (None,), "CSV"),
    (CS, "VendorName", None): ("string", None, (None,), "CSV"),
    (CS, "SerialNumber", None): ("string", None, (None,), "CSV (generic)"),
    (CS, "FirmwareVersion", None): ("string", None, (None,), "CSV (generic)"),
    ("EVSE", "Available", None): ("boolean", (RO,), (None,), "P2 2.13.1"),
    ("EVSE", "AvailabilityState", None): ("OptionList", (RO,), (None,), "P2 2.13.2"),
    ("EVSE", "SupplyPhases", None): ("integer", (RO,), (None,), "P2 2.13.6"),
    ("EVSE", "Power", None): ("decimal", (RO,), ("W", "kW"), "P2 2.13.7, CSV unit"),
    ("Connector", "Available", None): ("boolean", (RO,), (None,), "P2 2.13.1"),
    ("Connector", "AvailabilityState", None): ("OptionList", (RO,), (None,), "P2 2.13.2, CSV"),
    ("Connector", "ConnectorType", None): ("string", (RO,), (None,), "P2 2.13.4"),
    ("Connector", "SupplyPhases", None): ("integer", (RO,), (None,), "P2 2.13.6"),
}

# Required for what this agent implements (provisioning B01-B12 over
# OCPP-J with security profiles 1-3). Left out on purpose: the required
# MessageAttempts/MessageAttemptInterval[TransactionEvent] and
# UnlockOnEVSideDisconnect (P2 2.1.10-2.1.12) govern transactions and cable
# locks, which this agent does not have; AuthCtrlr belongs to block C.
REQUIRED = [k for k in FACTS if k[1] not in ("AdditionalRootCertificateCheck", "Model", "VendorName",
                                              "SerialNumber", "FirmwareVersion", "ValueSize",
                                              "ConfigurationValueSize", "ReportingValueSize")]

# valuesList and limits the specification fixes (source as above)
VALUES = {
    (CS, "AvailabilityState"): "Available,Occupied,Reserved,Unavailable,Faulted",  # P2 2.13.2
    ("EVSE", "AvailabilityState"): "Available,Occupied,Reserved,Unavailable,Faulted",
    ("Connector", "AvailabilityState"): "Available,Occupied,Reserved,Unavailable,Faulted",
}
POSSIBLE = {  # the valuesList must be a subset of these
    (COMM, "FileTransferProtocols"): "FTP,FTPS,HTTP,HTTPS,SFTP",  # P2 2.1.4
    (CLOCK, "TimeSource"): "Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork,RadioTimeTransmitter",  # P2 2.1.30
}
LIMITS = {  # (minLimit, maxLimit) as P2 sets them
    (SEC, "BasicAuthPassword"): (16, 40),  # 2.2.1: 16 to 40 characters
    (SEC, "Identity"): (None, 48),  # 2.2.2
}
CEILINGS = {(DDC, "ConfigurationValueSize"): 1000, (DDC, "ReportingValueSize"): 2500}  # 2.1.20/21


def _definitions():
    with open(DEFAULTS) as f:
        return [json.loads(line) for line in f if line.strip()]


def _fact_key(d):
    return (d["component"], d["variable"], d.get("variableInstance"))


def test_every_variable_matches_the_specification():
    seen = set()
    for d in _definitions():
        key = _fact_key(d)
        assert key in FACTS, "%s is not in the checked facts" % (key,)
        assert key not in seen, key
        seen.add(key)
        data_type, mutabilities, units, source = FACTS[key]
        assert d["dataType"] == data_type, (key, source)
        assert d.get("unit") in units, (key, source)
        for a in d["attributes"]:
            if mutabilities is not None:
                assert a.get("mutability", RW) in mutabilities, (key, source)
            if a.get("mutability", RW) != RO:
                assert a.get("persistent") is True, key  # P2 2: writable => persistent
        assert (d.get("evse") is not None) == (d["component"] in TIERED), key
        assert (d.get("connector") is not None) == (d["component"] == "Connector"), key
        assert "componentInstance" not in d, key


def test_required_variables_are_there():
    present = {_fact_key(d) for d in _definitions()}
    assert [k for k in REQUIRED if k not in present] == []
    assert (SEC, "BasicAuthPassword", None) in present  # required unless only profile 3 (P2 2.2.1)


def test_values_lists_and_limits():
    for d in _definitions():
        key = (d["component"], d["variable"])
        if key in VALUES:
            assert d["valuesList"] == VALUES[key], key
        if key in POSSIBLE:
            assert set(d["valuesList"].split(",")) <= set(POSSIBLE[key].split(",")), key
        if key in LIMITS:
            assert (d.get("minLimit"), d.get("maxLimit")) == LIMITS[key], key
        if key in CEILINGS:
            assert int(d["attributes"][0]["value"]) <= CEILINGS[key] == d["maxLimit"], key
