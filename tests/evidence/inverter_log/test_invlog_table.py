"""The columnar fast path gives the same table as the object path, and falls back when it must."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.evidence.inverter_log.columns import read_log_columns
from pylondiag.evidence.inverter_log.table import KINDS, EventTable, read_event_table
from pylondiag.model.event import EventKind

ROWS = [
    ("2026-03-29 00:30:00", "F58", "BMS_Comm_Fail", "fault", "3.5"),
    ("2026-03-29 01:30:00", "W31", "Battery_comm_warn", "warning", ""),
    ("2026-03-29 02:30:00", "", "", "", "4.0"),  # a reading: not an event
    ("2026-06-01 12:00:00", "F58", "BMS_Comm_Fail cleared", "info", "21"),
    ("2026-06-01 12:05:00", "", "Grid lost", "", "21.5"),
]


def _csv(rows: list[tuple[str, ...]], quote: bool = False) -> bytes:
    q = (lambda f: f'"{f}"') if quote else (lambda f: f)
    lines = ["time,code,message,severity,temperature", *(",".join(q(f) for f in r) for r in rows)]
    return ("\n".join(lines) + "\n").encode()


def _same(a: EventTable, b: EventTable) -> None:
    for name in ("utc_s", "local_s", "kind", "severity", "line"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.allclose(a.temperature_c, b.temperature_c, equal_nan=True)


@pytest.mark.parametrize("quote", [False, True])
def test_fast_path_equals_object_path(quote: bool) -> None:
    data = _csv(ROWS, quote)
    fast = read_event_table(data, "e.csv", brand="sunsynk")
    slow = EventTable.from_events(read_inverter_log(data, "e.csv", brand="sunsynk").events)
    _same(fast, slow)
    assert len(fast) == 4
    assert fast.line.tolist() == [2, 3, 5, 6]
    assert KINDS[fast.kind[0]] is EventKind.BMS_COMMS_LOST
    assert fast.of_kind(EventKind.CLEARED).tolist() == [False, False, True, False]
    # summer time: local wall clock is UTC + 1 h
    assert fast.local_s[2] - fast.utc_s[2] == 3600


@pytest.mark.parametrize(
    ("data", "columnar"),
    [
        (b"time,code,message\n18/11/2026 07:12,F58,x\n", True),  # day first: read as a layout
        (b"time,code,message\n2026-11-18T07:12:00+00:00,F58,x\n", True),  # an offset: kept per row
        (b"time,code,message\n18/11/2026 7:12 PM,F58,x\n", False),  # 12-hour clock: row-wise reader
        (b'time,code,message\n2026-11-18 07:12:00,F58,"two\nlines"\n', False),  # quoted line break
        (b"time,code,message\n2026-11-18 07:12:00\n", False),  # short row: reported by line
    ],
)
def test_odd_rows_fall_back_to_the_object_path(data: bytes, columnar: bool) -> None:
    assert (read_log_columns(data, "e", brand="sunsynk").events.objects is None) is columnar
    table = read_event_table(data, "e", brand="sunsynk")
    _same(table, EventTable.from_events(read_inverter_log(data, "e", brand="sunsynk").events))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=__import__("datetime").datetime(2020, 1, 1),
                max_value=__import__("datetime").datetime(2030, 1, 1),
            ).map(lambda d: d.replace(microsecond=0).isoformat(sep=" ")),
            st.sampled_from(["F58", "W31", "", "F56", "F99"]),
            st.sampled_from(
                ["BMS_Comm_Fail", "", "Grid lost", "BMS_Comm_Fail cleared", "Battery voltage low"]
            ),
            st.sampled_from(["fault", "warning", "info", ""]),
            st.sampled_from(["", "1.5", "-3", "20"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_fast_and_object_paths_agree(rows: list[tuple[str, str, str, str, str]]) -> None:
    data = _csv(rows)
    _same(
        read_event_table(data, "e.csv", brand="sunsynk"),
        EventTable.from_events(read_inverter_log(data, "e.csv", brand="sunsynk").events),
    )


def test_autumn_repeated_hour_matches_the_object_path() -> None:
    rows = [("2026-10-25 00:50:00", "F58", "x", "", ""), ("2026-10-25 01:10:00", "F58", "x", "", ""),
            ("2026-10-25 01:50:00", "F58", "x", "", ""), ("2026-10-25 01:20:00", "F58", "x", "", ""),
            ("2026-10-25 02:10:00", "F58", "x", "", "")]  # fmt: skip
    fast = read_event_table(_csv(rows), "e.csv", brand="sunsynk")
    _same(fast, EventTable.from_events(read_inverter_log(_csv(rows), "e.csv", brand="sunsynk").events))
    assert (np.diff(fast.utc_s) > 0).all()  # the second 01:20 is after 01:50 BST
