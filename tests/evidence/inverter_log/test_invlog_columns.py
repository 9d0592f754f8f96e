"""The column path (``read_log_columns``) gives exactly what the row-wise reader gives: the same event
objects (built on demand), the same temperature readings and the same skipped-row warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.evidence.inverter_log import columns, read_inverter_log
from pylondiag.evidence.inverter_log.columns import LogColumns, read_log_columns
from pylondiag.model.console import Provenance
from pylondiag.model.event import TemperatureSample

REPO = Path(__file__).resolve().parents[3]
HEADER = "time,code,message,severity,temperature,module"


def _csv(rows: list[tuple[str, ...]], header: str = HEADER) -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode()


def _assert_same(data: bytes, brand: str | None = "sunsynk", zone: str = "Europe/London") -> LogColumns:
    got = read_log_columns(data, "e.csv", brand=brand, timezone=zone)
    want = read_inverter_log(data, "e.csv", brand=brand, timezone=zone)
    assert got.events.events() == want.events
    assert [_instant(r) for r in got.readings] == [_instant(r) for r in want.temperatures]
    assert list(got.warnings) == want.warnings
    return got


def _instant(r: TemperatureSample) -> tuple[float, float, str, Provenance]:
    """A reading with its time as an instant (a wall time in the spring gap names the same instant as
    the time after it, but compares unequal to it)."""
    return r.time.timestamp(), r.celsius, r.sensor, r.provenance


ROWS = [
    ("2026-03-29 00:30:00", "F58", "BMS_Comm_Fail", "fault", "3.5", "2"),
    ("2026-03-29 01:30:00.250", "W31", "Battery_comm_warn", "warning", "", ""),
    ("2026-03-29 02:30:00", "", "", "", "4.0 °C", ""),  # a reading between events
    ("2026-03-29 02:40:00", "", "", "", "", ""),  # neither: a skipped row, reported
    ("2026-06-01 12:00:00", "F58", "BMS_Comm_Fail cleared", "info", "21", "x"),
    ("2026-06-01 12:05:00", "", "Grid lost", "", "70F", ""),
    ("2026-06-01 12:06:00", "F13", "Working_Mode_Change", "", "21,5", "3"),
]


def test_column_path_equals_row_path() -> None:
    got = _assert_same(_csv(ROWS))
    assert got.events.objects is None  # read column-wise, not row by row
    assert len(got.events) == 5 and len(got.readings) == 1 and len(got.warnings) == 1


def test_chunk_boundaries_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "CHUNK_ROWS", 2)
    got = _assert_same(_csv(ROWS))
    assert got.events.objects is None


def test_autumn_repeated_hour_and_newest_first() -> None:
    hours = ["00:50", "01:10", "01:50", "01:20", "02:10"]
    rows = [(f"2026-10-25 {h}:00", "F58", "x", "", "", "") for h in hours]
    _assert_same(_csv(rows))
    _assert_same(_csv(rows[::-1]))


def test_temperature_history_without_codes() -> None:
    rows = [("2026-01-01 00:00:00", "3.5"), ("2026-01-01 00:01:00", "")]
    got = _assert_same(_csv(rows, header="time,temperature"))
    assert len(got.events) == 0 and len(got.readings) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "examples" / "cases").iterdir()))
def test_example_logs(name: str) -> None:
    for path in sorted((REPO / "examples" / "cases" / name).glob("inverter/*")):
        _assert_same(path.read_bytes(), brand=None)
        _assert_same(path.read_bytes(), brand="deye")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=__import__("datetime").datetime(2020, 1, 1),
                max_value=__import__("datetime").datetime(2030, 1, 1),
            ).map(lambda d: d.isoformat(sep=" ")),
            st.sampled_from(["F58", "W31", "", "F56", "F13", "F99"]),
            st.sampled_from(
                ["BMS_Comm_Fail", "", "Grid lost", "BMS_Comm_Fail cleared", "Battery voltage low"]
            ),
            st.sampled_from(["fault", "warning", "info", "", "Alarm"]),
            st.sampled_from(["", "1.5", "-3", "20", "nan", "4,5", "x"]),
            st.sampled_from(["", "1", "12", "a"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_paths_agree_on_any_rows(rows: list[tuple[str, ...]]) -> None:
    _assert_same(_csv(rows))


_DAY_MONTH_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%y %H:%M",
    "%d-%m-%Y",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d %H:%M:%S+01:00",
    "%Y-%m-%d %H:%M:%S-0530",
    "%Y-%m-%dT%H:%M:%S%z",
)
_ROW_KINDS = (
    ("F58", "BMS_Comm_Fail", "fault", "3.5", "2"),
    ("", "", "", "4.5", ""),
    ("W31", "Battery_comm_warn", "", "", ""),
    ("", "", "", "", ""),
)


def _dated(times: list[datetime], fmt: str) -> list[tuple[str, ...]]:
    return [(t.strftime(fmt), *_ROW_KINDS[i % len(_ROW_KINDS)]) for i, t in enumerate(times)]


@pytest.mark.parametrize("fmt", _DAY_MONTH_FORMATS)
@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York"])
@pytest.mark.parametrize("step", [timedelta(minutes=37), timedelta(days=3), timedelta(days=-5)])
def test_day_first_and_offset_dates_read_as_columns(fmt: str, zone: str, step: timedelta) -> None:
    """Day-first, month-first, year-first and offset dates: read column-wise, same as row by row (the
    day/month decision, its warning, each time's own offset, the clock changes)."""
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC) if "%z" in fmt else datetime(2026, 3, 28, 22, 0)
    for n in (1, 2, 5, 60):
        got = _assert_same(_csv(_dated([start + step * i for i in range(n)], fmt)), zone=zone)
        assert got.events.objects is None


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)), min_size=1, max_size=30
    ),
    st.sampled_from(["%d/%m/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%-d/%-m/%Y %-H:%M", "%Y-%m-%dT%H:%M:%S+02:00"]),
    st.sampled_from(["Europe/London", "America/Chicago", "Australia/Lord_Howe"]),
)
def test_layouts_agree_with_rows_on_any_dates(times: list[datetime], fmt: str, zone: str) -> None:
    """Any dates (ambiguous day/month, out of order, clock changes, variable widths): as row by row."""
    _assert_same(_csv(_dated(times, fmt)), zone=zone)


@pytest.mark.parametrize(
    "stamps",
    [
        ["31/02/2026 10:00", "01/03/2026 10:00"],  # no 31 February: the row-wise reader warns on that row
        ["13/01/2026 10:00", "01/13/2026 10:00"],  # day-first and month-first mixed
        ["2026-01-01 25:00+01:00"],  # no such hour
        ["1/1/2026 7:05 PM", "1/1/2026 7:06 PM"],  # 12-hour clock
        ["18 Nov 2026 07:12", "19 Nov 2026 07:12"],  # month names
        ["00/01/2026 10:00", "02/01/2026 10:00", "03/01/2026 10:00"],
    ],
)
def test_odd_dates_fall_back_to_rows(stamps: list[str]) -> None:
    got = _assert_same(_csv([(s, "F58", "BMS_Comm_Fail", "", "", "") for s in stamps]))
    assert got.events.objects is not None  # read row by row


def test_a_large_log_that_must_be_read_row_by_row_is_refused_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Odd rows are read row by row (one object per row, ~35-65 MB per MiB): over the row-wise limit the
    file is refused with a message saying why, never read into gigabytes."""
    from pylondiag.errors import NotAnInverterLog

    data = _csv([(f"01/0{m}/2026 7:0{m}:00 PM", "F58", "BMS_Comm_Fail", "", "", "") for m in range(1, 9)])
    assert read_log_columns(data, "e.csv").events.objects is not None  # 12-hour clock: row by row
    monkeypatch.setattr(columns, "ROW_WISE_MAX_BYTES", len(data) - 1)
    with pytest.raises(NotAnInverterLog, match="too large to read row by row"):
        read_log_columns(data, "e.csv")
    iso = _csv([(f"2026-01-0{m} 19:00:00", "F58", "BMS_Comm_Fail", "", "", "") for m in range(1, 9)] * 2)
    assert len(read_log_columns(iso, "e.csv").events) == 16  # columns: only the file limit applies
