"""Home Assistant history, Lux Power portal event list and Victron dbus-serialbattery log readers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.errors import NotAnInverterLog
from pylondiag.evidence.inverter_log import looks_like_inverter_log, read_inverter_log
from pylondiag.model.event import EventKind, Severity

HA = """entity_id,state,last_changed
sensor.ss_fault,,2026-11-18T06:00:00.000Z
sensor.ss_fault,F58,2026-11-18T07:12:40.000Z
sensor.ss_fault,"F56 DC busbar voltage low, F58",2026-11-18T07:15:00.000Z
sensor.ss_fault,,2026-11-18T07:31:02.000Z
sensor.battery_temperature,4.5,2026-11-18T07:00:00.000Z
sensor.inverter_temperature,31,2026-11-18T07:00:00.000Z
sensor.ss_fault,unavailable,2026-11-18T08:00:00.000Z
sensor.pv_power,1200,2026-11-18T08:00:00.000Z
binary_sensor.bms_connected,off,2026-11-18T09:00:00.000Z
binary_sensor.bms_connected,on,2026-11-18T09:05:00.000Z
sensor.ss_fault,F58,not-a-time
"""


def test_home_assistant_fault_items_appear_and_clear() -> None:
    log = read_inverter_log(HA.encode(), "inverter/history.csv", brand="sunsynk")
    assert log.shape == "home_assistant_history"
    got = [(e.code, e.kind, e.clears, e.provenance.line) for e in log.events]
    assert got == [
        ("F58", EventKind.BMS_COMMS_LOST, None, 3),
        ("F56", EventKind.BATTERY_UNDER_VOLTAGE, None, 4),
        ("F56", EventKind.CLEARED, EventKind.BATTERY_UNDER_VOLTAGE, 5),
        ("F58", EventKind.CLEARED, EventKind.BMS_COMMS_LOST, 5),
        (None, EventKind.BMS_COMMS_LOST, None, 10),
        (None, EventKind.CLEARED, EventKind.BMS_COMMS_LOST, 11),
    ]
    assert log.events[0].time == datetime(2026, 11, 18, 7, 12, 40, tzinfo=UTC)


def test_home_assistant_temperatures_exclude_inverter_sensors() -> None:
    log = read_inverter_log(HA.encode(), "h.csv", brand="sunsynk")
    assert [(t.sensor, t.celsius, t.provenance.line) for t in log.temperatures] == [
        ("sensor.battery_temperature", 4.5, 6)
    ]


def test_home_assistant_bad_rows_and_unavailable_are_reported() -> None:
    log = read_inverter_log(HA.encode(), "h.csv", brand="sunsynk")
    assert [w.line for w in log.warnings] == [12]
    assert any("unavailable" in n for n in log.notes)


def test_home_assistant_goodwe_text_items_use_the_brand_table() -> None:
    text = (
        "entity_id,state,last_changed\n"
        "sensor.battery_error,,2026-01-10T05:00:00Z\n"
        "sensor.battery_error,Cell temperature low 2,2026-01-10T06:10:00Z\n"
        "sensor.battery_error,,2026-01-10T08:40:00Z\n"
    )
    log = read_inverter_log(text.encode("utf-16"), "h.csv", brand="goodwe")
    assert log.events[0].kind is EventKind.UNDER_TEMPERATURE
    assert log.events[0].classified_by == "table"
    assert log.events[1].clears is EventKind.UNDER_TEMPERATURE


LUX = """{"success": true, "total": 2, "rows": [
 {"serialNum": "1", "event": "W000", "eventType": "WARNING",
  "eventText": "Battery communication failure",
  "startTime": "2026-11-18 07:12:40",
  "renormalTime": "2026-11-18 07:31:02", "status": "CLOSE"},
 {"serialNum": "1", "event": "E022", "eventType": "FAULT", "eventText": "Over current protection",
  "startTime": "2026-11-19 07:12:40", "renormalTime": null, "status": "OPEN"}]}"""


def test_luxpower_event_list() -> None:
    log = read_inverter_log(LUX.encode(), "lux.json", timezone="Europe/London")
    assert log.shape == "luxpower_event_list"
    assert log.brand == "luxpower"
    assert {e.brand for e in log.events} == {"luxpower"}
    assert log.events[0].classified_by == "table"
    got = [(e.code, e.kind, e.severity, e.provenance.line) for e in log.events]
    assert got == [
        ("W000", EventKind.BMS_COMMS_LOST, Severity.WARNING, 4),
        ("W000", EventKind.CLEARED, Severity.INFO, 5),
        ("E022", EventKind.DISCHARGE_OVER_CURRENT, Severity.FAULT, 7),
    ]
    assert log.events[0].time == datetime(2026, 11, 18, 7, 12, 40, tzinfo=ZoneInfo("Europe/London"))


def test_luxpower_broken_json_is_not_a_crash() -> None:
    log = read_inverter_log(LUX[:-10].encode(), "lux.json")
    assert log.events == [] and log.warnings


SERIALBATTERY = """@4000000064c530260678d27c INFO:SerialBattery:Starting dbus-serialbattery
2025-06-02 03:25:23.126892500 ERROR:SerialBattery:>>> Battery did not recover in 1200 s. Restarting driver...
2025-06-02 03:26:00.000000500 *** CCGX booted (0) ***
2025-06-02 03:30:00.126892500 INFO:SerialBattery:Connection established to Daly
2025-06-02 04:00:00.100000500 WARNING:SerialBattery:Cell voltage high
"""


def test_victron_serialbattery_log() -> None:
    log = read_inverter_log(SERIALBATTERY.encode(), "dbus-serialbattery/current")
    assert log.shape == "victron_serialbattery_log"
    got = [(e.kind, e.severity, e.provenance.line) for e in log.events]
    assert got == [
        (EventKind.BMS_COMMS_LOST, Severity.FAULT, 2),
        (EventKind.CLEARED, Severity.INFO, 4),
        (EventKind.CELL_OVER_VOLTAGE, Severity.WARNING, 5),
    ]
    assert log.events[0].time == datetime(2025, 6, 2, 3, 25, 23, tzinfo=ZoneInfo("Europe/London"))


def test_tai64n_labels_are_utc() -> None:
    text = "@4000000064c5302f396156b4 ERROR:SerialBattery:no reply from BMS\n" * 2
    log = read_inverter_log(text.encode(), "current")
    assert log.events[0].time == datetime.fromtimestamp(0x64C5302F - 10, UTC)


@pytest.mark.parametrize("text", [HA, LUX, SERIALBATTERY])
def test_detected_by_content(text: str) -> None:
    assert looks_like_inverter_log(text.encode())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sensor.x_fault", "sensor.battery_temp", "binary_sensor.bms_link"]),
            st.text(max_size=15),
            st.text(max_size=25),
        ),
        max_size=10,
    )
)
def test_home_assistant_never_crashes(rows: list[tuple[str, str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["entity_id", "state", "last_changed"])
    w.writerows(rows)
    try:
        read_inverter_log(buf.getvalue().encode(), "h.csv", brand="goodwe")
    except NotAnInverterLog:
        pytest.fail("a file with the HA header is always an HA export")


def test_real_console_captures_are_not_inverter_logs(captures_dir) -> None:  # type: ignore[no-untyped-def]
    files = [p for p in captures_dir.rglob("*") if p.is_file()]
    assert files
    assert [p.name for p in files if looks_like_inverter_log(p.read_bytes())] == []


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            b"",
            b"entity_id,state,last_changed\n",
            b'{"rows": [{"event": "W000", "startTime": ',
            b"@4000000064c530260678d27c ERROR:SerialBattery:x\n" * 2,
            b"time;code;message\n",
        ]
    ),
    st.binary(max_size=300),
)
def test_no_shape_ever_raises_anything_but_not_an_inverter_log(prefix: bytes, data: bytes) -> None:
    try:
        log = read_inverter_log(prefix + data, "x", brand="luxpower")
    except NotAnInverterLog:
        return
    assert all(w.line >= 1 for w in log.warnings)
    assert all(e.provenance.line >= 1 for e in log.events)
