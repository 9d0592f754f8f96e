"""Home Assistant history and the Victron dbus-serialbattery log read as columns give exactly what their
row-wise readers give (events, readings, warnings), and odd files still go row by row."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_invlog_columns import _assert_same
from test_invlog_shapes import HA, LUX, SERIALBATTERY

from pylondiag.evidence.inverter_log import luxpower_events

_HA_ROWS = [
    ("sensor.ss_fault", ""),
    ("sensor.ss_fault", "F58"),
    ("sensor.ss_fault", "F56 DC busbar voltage low, F58"),
    ("sensor.battery_temperature", "4.5"),
    ("sensor.inverter_temperature", "31"),
    ("sensor.ss_fault", "unavailable"),
    ("sensor.pv_power", "1200"),
    ("binary_sensor.bms_connected", "off"),
    ("binary_sensor.bms_connected", "on"),
    (" sensor.ss_fault ", " F58 "),
    ("sensor.battery_temp", "3,5 °C"),
    ("sensor.goodwe_battery_error", "Battery over temperature; BMS communication lost"),
    ("sensor.inverter_status", "Grid lost"),
    ("sensor.ss_fault", "F58,F20"),
]


def _ha(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["entity_id", "state", "last_changed"])
    w.writerows(rows)
    return buf.getvalue().encode()


def _stamp(i: int, fmt: str = "%Y-%m-%dT%H:%M:%S.000Z") -> str:
    return (datetime(2026, 10, 24, 23, 0) + timedelta(minutes=7 * i)).strftime(fmt)


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%S.000Z", "%Y-%m-%dT%H:%M:%S+00:00", "%Y-%m-%d %H:%M:%S"])
@pytest.mark.parametrize("brand", [None, "sunsynk", "goodwe"])
def test_home_assistant_columns_equal_rows(fmt: str, brand: str | None) -> None:
    rows = [(e, s, _stamp(i, fmt)) for i, (e, s) in enumerate(_HA_ROWS * 5)]
    got = _assert_same(_ha(rows), brand=brand)
    assert got.events.objects is None  # read as columns
    assert len(got.events) > 10 and len(got.readings) == 10


def test_home_assistant_odd_rows_go_row_by_row() -> None:
    got = _assert_same(HA.encode())  # 'not-a-time' on the last row: warned by line, row by row
    assert got.events.objects is not None and got.warnings


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["sensor.x_fault", "sensor.battery_temp", "binary_sensor.bms_link", "sensor.x_status"]
            ),
            st.sampled_from(
                ["", "F58", "F58, F20", "on", "off", "4.5", "unknown", "Battery low", "ok", "W31"]
            ),
            st.integers(-50, 500),
        ),
        max_size=40,
    ),
    st.sampled_from([None, "sunsynk", "goodwe"]),
)
def test_home_assistant_any_history(rows: list[tuple[str, str, int]], brand: str | None) -> None:
    """Any sequence of states, out of order too: the same events, clears, readings as row by row."""
    _assert_same(_ha([(e, s, _stamp(m)) for e, s, m in rows]), brand=brand)


_DRIVER_LINES = (
    "ERROR:SerialBattery:>>> Battery did not recover in 1200 s. Restarting driver...",
    "INFO:SerialBattery:Connection established to Daly",
    "INFO:SerialBattery:Polling data",
    "WARNING:SerialBattery:Cell voltage high",
    "CRITICAL:SerialBattery:no reply from BMS",
    "ERROR:Other:not ours",
    "*** CCGX booted (0) ***",
)


@pytest.mark.parametrize("labels", [False, True])
def test_victron_columns_equal_rows(labels: bool) -> None:
    lines = []
    for i in range(60):
        when = datetime(2026, 10, 25, 0, 30) + timedelta(minutes=3 * i)
        stamp = f"@{0x4000000000000000 + 10 + int(when.timestamp()):016x}00000000" if labels else f"{when} .5"
        lines.append(f"{stamp.replace(' .', '.')} {_DRIVER_LINES[i % len(_DRIVER_LINES)]}")
    got = _assert_same(("\n".join(lines) + "\n").encode(), brand=None)
    assert got.events.objects is None and len(got.events) > 20


def test_victron_labels_and_local_times_mixed_go_row_by_row() -> None:
    assert _assert_same(SERIALBATTERY.encode(), brand=None).events.objects is None  # INFO label: not picked
    mixed = SERIALBATTERY + "@4000000064c5302f396156b4 ERROR:SerialBattery:no reply from BMS\n"
    got = _assert_same(mixed.encode(), brand=None)
    assert got.events.objects is not None and len(got.events) == 4


def _lux(rows: list[dict[str, object]], indent: int | None = 1) -> bytes:
    return json.dumps({"success": True, "total": len(rows), "rows": rows}, indent=indent).encode()


def _lux_row(i: int, fmt: str = "%Y-%m-%d %H:%M:%S", end: int | None = 20) -> dict[str, object]:
    start = datetime(2026, 10, 25, 0, 10) + timedelta(minutes=((i * 37) % 200) - 50)
    row: dict[str, object] = {
        "event": ["W000", "E010", "", "W012"][i % 4],
        "eventType": ["WARNING", "FAULT", "info", None][i % 4],
        "eventText": ["Battery communication failure", "Discharge over current", "Grid lost", ""][i % 4],
        "startTime": start.strftime(fmt),
    }
    if i % 5:
        row["renormalTime"] = (start + timedelta(minutes=end or 0)).strftime(fmt) if end else None
    return row


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S+01:00", "%d/%m/%Y %H:%M"])
@pytest.mark.parametrize("brand", [None, "luxpower", "deye"])
def test_luxpower_columns_equal_rows(fmt: str, brand: str | None) -> None:
    """Events and their ends, sorted by time as the row-wise reader sorts them (the autumn hour too)."""
    for indent in (None, 1):
        rows = [_lux_row(i, fmt, end=[20, None, 90][i % 3]) for i in range(40)]
        got = _assert_same(_lux(rows, indent), brand=brand)
        assert got.events.objects is None and len(got.events) > 40


def test_luxpower_odd_rows_go_row_by_row() -> None:
    rows: list[object] = [_lux_row(1), "not an object", _lux_row(2)]
    got = _assert_same(json.dumps({"rows": rows}).encode())
    assert got.events.objects is not None and got.warnings
    assert _assert_same(LUX[:-10].encode()).warnings  # broken JSON


def test_luxpower_lines_are_counted_in_linear_time() -> None:
    """The line of each time key: 10x the rows takes about 10x the time (it was quadratic: 40,000 rows
    took 203 s). Ratio of best-of-3 times in the same run, never an absolute time."""
    import time

    def best(n: int) -> float:
        text = json.dumps({"rows": [_lux_row(i) for i in range(n)]}, indent=1)
        out = []
        for _ in range(3):
            t = time.perf_counter()
            luxpower_events.time_key_lines(text)
            out.append(time.perf_counter() - t)
        return min(out)

    assert best(20_000) < 40 * best(2_000)


@pytest.mark.parametrize(
    "value",
    [{"startTime": "2026-01-01 00:00:00"}, {"note": "x"}, ["W000", 1], 7, True, None],
)
def test_luxpower_nested_values_read_as_the_row_wise_reader_reads_them(value: object) -> None:
    """A row value that is an object or a list is read as its text, as row by row; an object holding a
    start time inside a row sends the list to the row-wise reader."""
    rows = [_lux_row(1), {**_lux_row(2), "event": value}, {**_lux_row(3), "extra": {"renormalTime": None}}]
    got = _assert_same(_lux(rows))
    assert (got.events.objects is None) is not (isinstance(value, dict) and "startTime" in value)


@pytest.mark.parametrize("running", [True, False])
def test_luxpower_columns_leave_the_garbage_collector_as_they_found_it(running: bool) -> None:
    """The cyclic collector is paused while json makes the rows and resumed only if it was running — also
    when the list goes to the row-wise reader (a nested start) or is no list at all."""
    import gc

    good = _lux([_lux_row(i) for i in range(5)])
    nested = _lux([_lux_row(1), {**_lux_row(2), "event": {"startTime": "2026-01-01 00:00:00"}}])
    was = gc.isenabled()
    try:
        for data in (good, nested, b'{"rows": 3, "startTime": 1, "event": 2}'):
            gc.enable() if running else gc.disable()
            _assert_same(data)
            assert gc.isenabled() is running
    finally:
        gc.enable() if was else gc.disable()
