"""The charge-control firmware's door to the device model (station_api),
and the integrator's controllers in the host board's model.jsonl; CPython
and the MicroPython unix port."""
from csagent.station_api import StationApi
from scratch import with_flash
from test_model import open_model
from test_variables import item, put, statuses


@with_flash
def test_read_watch_and_set_actual(flash):
    m = open_model(flash)
    api = StationApi(m)
    seen = []
    api.watch("TxCtrlr", "EVConnectionTimeOut", seen.append)
    assert api.read("TxCtrlr", "EVConnectionTimeOut") == "120"
    assert api.read("TxCtrlr", "NoSuchVariable") is None
    assert statuses(put(m, item("TxCtrlr", "EVConnectionTimeOut", value="30"),
                        item("AuthCtrlr", "LocalPreAuthorize", value="true"))) == ["Accepted", "Accepted"]
    assert seen == ["30"]  # only the watched variable, with its new value
    api.set_actual("EVSE", "Power", "7400.5", evse=1)
    assert api.read("EVSE", "Power", evse=1) == "7400.5"
    try:
        api.set_actual("EVSE", "Power", "30000", evse=1)  # above maxLimit 22000
        raise AssertionError("accepted")
    except ValueError:
        pass
    assert api.read("EVSE", "Power", evse=1) == "7400.5"
    assert open_model(flash).value("TxCtrlr", "EVConnectionTimeOut") == "30"  # stored


@with_flash
def test_invalid_values_of_every_writable_type_are_rejected(flash):
    m = open_model(flash)
    cases = [  # (component, variable, good, bad) one per data type
        ("TxCtrlr", "EVConnectionTimeOut", "60", "6O"),  # integer
        ("SmartChargingCtrlr", "LimitChangeSignificance", "0.5", "0,5"),  # decimal
        ("AuthCtrlr", "LocalAuthorizeOffline", "false", "False"),  # boolean
        ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2030-03-30T01:00:00Z", "2030-03-30 01:00"),  # dateTime
        ("AuthCacheCtrlr", "Policy", "FIFO", "LIFO"),  # OptionList
        ("ClockCtrlr", "TimeSource", "Heartbeat", "NTP"),  # SequenceList
        ("TxCtrlr", "TxStartPoint", "EVConnected,Authorized", "EVConnected,EVConnected"),  # MemberList
    ]
    for component, variable, good, bad in cases:
        got = put(m, item(component, variable, value=bad))
        assert statuses(got) == ["Rejected"], (variable, bad, got)
        assert statuses(put(m, item(component, variable, value=good))) == ["Accepted"], variable
        assert m.value(component, variable) == good
