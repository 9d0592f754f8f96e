"""The generic event CSV: documented shape, encodings, delimiters, date styles, malformed rows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.errors import NotAnInverterLog
from pylondiag.evidence.inverter_log import looks_like_inverter_log, read_inverter_log
from pylondiag.model.event import EventKind, Severity

LONDON = ZoneInfo("Europe/London")

SPEC_SAMPLE = (
    "time,code,message,severity\n"
    "2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault\n"
    "2026-11-18 07:31:02,F58,BMS_Comm_Fail cleared,info\n"
)


def test_spec_sample_reads_with_brand_table() -> None:
    log = read_inverter_log(SPEC_SAMPLE.encode(), "inverter/events.csv", brand="sunsynk")
    assert log.shape == "generic_csv"
    assert log.brand == "sunsynk"
    assert log.warnings == []
    first, second = log.events
    assert first.time == datetime(2026, 11, 18, 7, 12, 40, tzinfo=LONDON)
    assert first.code == "F58"
    assert first.kind is EventKind.BMS_COMMS_LOST
    assert first.severity is Severity.FAULT
    assert first.classified_by == "table"
    assert first.provenance.line == 2
    assert first.provenance.raw == "2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault"
    assert second.kind is EventKind.CLEARED
    assert second.clears is EventKind.BMS_COMMS_LOST
    assert second.severity is Severity.INFO


def test_brand_alias_deye_uses_sunsynk_table() -> None:
    log = read_inverter_log(SPEC_SAMPLE.encode(), "e.csv", brand="Deye")
    assert log.brand == "sunsynk"
    assert log.events[0].classified_by == "table"


def test_without_brand_classifies_by_text() -> None:
    log = read_inverter_log(SPEC_SAMPLE.encode(), "e.csv")
    assert log.brand is None
    assert log.events[0].kind is EventKind.BMS_COMMS_LOST
    assert log.events[0].classified_by == "text"


@pytest.mark.parametrize(
    ("encode", "name"),
    [
        (lambda s: s.encode("utf-8"), "utf-8"),
        (lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"), "utf-8-sig"),
        (lambda s: s.encode("utf-16"), "utf-16"),
        (lambda s: s.encode("utf-16-le"), "utf-16-le"),
        (lambda s: s.encode("latin-1"), "cp1252"),
    ],
)
def test_encodings(encode, name: str) -> None:  # type: ignore[no-untyped-def]
    text = "time,code,message,temperature\r\n2026-01-05 06:40:00,W31,Battery_comm_warn,3.5°C\r\n"
    log = read_inverter_log(encode(text), "e.csv", brand="sunsynk")
    assert log.encoding == name
    assert log.events[0].code == "W31"
    assert log.events[0].temperature_c == pytest.approx(3.5)
    assert log.temperatures == []  # an event's temperature stays on the event


def test_rows_with_only_a_temperature_are_readings() -> None:
    text = (
        "time,code,message,battery_temp_c\n"
        "2026-01-05 06:00:00,,,2.0\n"
        "2026-01-05 06:40:00,W31,Battery_comm_warn,1.5\n"
        "2026-01-05 07:00:00,,,39.2 °F\n"
    )
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert [t.celsius for t in log.temperatures] == pytest.approx([2.0, 4.0])
    assert [t.provenance.line for t in log.temperatures] == [2, 4]
    assert len(log.events) == 1 and log.events[0].temperature_c == pytest.approx(1.5)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter: str) -> None:
    rows = [["time", "code", "message"], ["2026-01-05 06:40:00", "F58", "BMS, comm lost"]]
    text = "\n".join(
        delimiter.join(f'"{f}"' if delimiter in f or "," in f else f for f in row) for row in rows
    )
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.events[0].text == "BMS, comm lost"


@pytest.mark.parametrize(
    ("newline", "lines"),
    [("\n", (2, 4)), ("\r\n", (2, 4)), ("\r", (2, 4)), ("\r\r\n", (3, 7))],
)
def test_line_numbers_follow_universal_newlines(newline: str, lines: tuple[int, int]) -> None:
    text = newline.join(
        ["time,code,message", "2026-01-05 06:40:00,F58,x", "garbage", "2026-01-05 06:45:00,F58,y", ""]
    )
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert [e.provenance.line for e in log.events] == list(lines)
    assert len(log.warnings) == 1
    assert log.warnings[0].line == lines[0] + (1 if newline != "\r\r\n" else 2)


def test_malformed_rows_are_reported_with_lines_and_skipped() -> None:
    text = (
        "Event export for SUN-5K\n"  # title line before the header
        "time,code,message,severity\n"
        "2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault\n"
        "yesterday,F58,BMS_Comm_Fail,fault\n"
        "2026-11-18 08:00:00\n"
        "2026-02-30 08:00:00,F58,x,fault\n"
        "2026-11-18 09:00:00,,,\n"
        "2026-11-18 10:00:00,W31,Battery_comm_warn,warning\n"
    )
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert [e.provenance.line for e in log.events] == [3, 8]
    assert [w.line for w in log.warnings] == [4, 5, 6, 7]
    assert "yesterday" in log.warnings[0].message


def test_date_and_time_in_separate_columns_12_hour_clock() -> None:
    text = "Date,Time,Code,Description\n18/11/2026,7:12:40 PM,F58,BMS_Comm_Fail\n19/11/2026,12:05 AM,W31,x\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.events[0].time == datetime(2026, 11, 18, 19, 12, 40, tzinfo=LONDON)
    assert log.events[1].time == datetime(2026, 11, 19, 0, 5, tzinfo=LONDON)


def test_day_first_resolved_from_another_row() -> None:
    text = "time,code,message\n03/04/2026 07:00,F58,a\n25/04/2026 07:00,F58,b\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.events[0].time == datetime(2026, 4, 3, 7, 0, tzinfo=LONDON)
    assert log.warnings == []
    assert any("line 3" in n and "day-first" in n for n in log.notes)


def test_month_first_resolved_from_another_row() -> None:
    text = "time,code,message\n03/04/2026 07:00,F58,a\n04/25/2026 07:00,F58,b\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.events[0].time == datetime(2026, 3, 4, 7, 0, tzinfo=LONDON)


def test_ambiguous_dates_resolved_by_order() -> None:
    # day-first these run 1..5 Feb in order; month-first they jump between months out of order
    days = ["01/02/2026", "02/02/2026", "03/02/2026", "04/02/2026", "05/02/2026"]
    text = "time,code,message\n" + "".join(f"{d} 07:00,F58,x\n" for d in days)
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk", timezone="America/New_York")
    assert log.events[-1].time is not None and log.events[-1].time.month == 2
    assert log.warnings == []


def test_ambiguous_dates_undecidable_are_reported() -> None:
    text = "time,code,message\n03/04/2026 07:00,F58,a\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert len(log.warnings) == 1 and "ambiguous" in log.warnings[0].message
    assert log.warnings[0].line == 2
    assert log.events[0].time == datetime(2026, 4, 3, 7, 0, tzinfo=LONDON)  # UK convention for London


def test_offsets_and_utc_are_kept() -> None:
    text = "time,code,message\n2026-07-01T06:00:00Z,F58,a\n2026-07-01T07:00:00+02:00,F58,b\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.events[0].time == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert log.events[1].time == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)


def test_naive_times_are_site_local_including_summer_time() -> None:
    text = "time,code,message\n2026-07-01 06:00:00,F58,a\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk", timezone="Europe/London")
    assert log.events[0].time is not None
    assert log.events[0].time.astimezone(UTC).hour == 5


def test_autumn_repeated_hour_takes_the_log_order() -> None:
    text = "time,code,message\n2026-10-25 01:10,F58,a\n2026-10-25 01:50,F58,b\n2026-10-25 01:20,F58,c\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    utc = [e.time.astimezone(UTC) for e in log.events if e.time]
    assert utc == sorted(utc)
    assert utc[2].hour == 1 and utc[0].hour == 0


def test_not_an_inverter_log() -> None:
    with pytest.raises(NotAnInverterLog) as err:
        read_inverter_log(b"pylon>pwr\nPower Volt Curr\n", "console.txt")
    assert "console.txt" in str(err.value)
    assert not looks_like_inverter_log(b"pylon>pwr\n")
    assert looks_like_inverter_log(SPEC_SAMPLE.encode("utf-16"))


def test_bad_timezone_is_a_clear_error() -> None:
    with pytest.raises(NotAnInverterLog, match="timezone"):
        read_inverter_log(SPEC_SAMPLE.encode(), "e.csv", timezone="Mars/Olympus")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_never_crashes_on_bytes(data: bytes) -> None:
    try:
        log = read_inverter_log(b"time,code,message\n" + data, "e.csv", brand="sunsynk")
    except NotAnInverterLog:
        return
    for w in log.warnings:
        assert w.line >= 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=25), st.text(max_size=8), st.text(max_size=20)), max_size=12))
def test_never_crashes_on_rows(rows: list[tuple[str, str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["time", "code", "message"])
    writer.writerows(rows)
    log = read_inverter_log(buf.getvalue().encode(), "e.csv", brand="victron")
    assert len(log.events) <= len(rows)


def test_ambiguous_dates_resolved_by_running_order() -> None:
    # day-first: 1 Feb, 2 Feb, 1 Mar, 2 Mar (in order); month-first: 2 Jan, 2 Feb, 3 Jan, 3 Feb (not)
    days = ["01/02/2026", "02/02/2026", "01/03/2026", "02/03/2026"]
    text = "time,code,message\n" + "".join(f"{d} 07:00,F58,x\n" for d in days)
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk", timezone="America/Chicago")
    assert [e.time.month for e in log.events if e.time] == [2, 2, 3, 3]
    assert any("run in order" in n for n in log.notes)


def test_temperature_history_csv() -> None:
    text = "Timestamp;Battery temperature\n2026-01-05 06:00;2,5\n2026-01-05 07:00;1,0\n2026-01-05 08:00\n"
    log = read_inverter_log(text.encode("cp1252"), "temps.csv")
    assert log.shape == "temperature_csv"
    assert log.events == []
    assert [(t.celsius, t.provenance.line) for t in log.temperatures] == [(2.5, 2), (1.0, 3)]
    assert [w.line for w in log.warnings] == [4]


def test_missing_trailing_temperature_is_not_an_error() -> None:
    text = "time,code,message,temperature\n2026-01-05 06:00,F58,BMS_Comm_Fail\n"
    log = read_inverter_log(text.encode(), "e.csv", brand="sunsynk")
    assert log.warnings == [] and log.events[0].temperature_c is None
