"""Firmware variants seen only in excerpts/ and public sources, in hand-written fixtures of the same shape.

The fixtures live in tests/fixtures/console/; each names the public source of its shape on line 1.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from _console_helpers import feed_in_chunks, provenances, records_of, spec_lines

from pylondiag.evidence.console import read_console
from pylondiag.model.console import ConsoleCapture, EventLog, PwrTable, StatCounters

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "console"


def load(name: str) -> tuple[bytes, ConsoleCapture]:
    data = (FIXTURES / name).read_bytes()
    return data, read_console(data, name)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.txt")))
def test_fixture_is_clean_sourced_and_line_exact(name: str) -> None:
    data, cap = load(name)
    assert data.startswith(b"# source: ")
    assert cap.warnings == ()
    lines = spec_lines(data)
    for r in cap.records:
        for p in provenances(r):
            assert lines[p.line - 1] == p.raw
    assert records_of(feed_in_chunks(data, 1, name), name) == records_of(
        feed_in_chunks(data, len(data), name), name
    )


def test_pwr_newer_firmware_columns() -> None:
    _data, cap = load("pwr_newfw_id_mos_sysalarm.txt")
    (t,) = cap.records
    assert isinstance(t, PwrTable)
    assert {"Tlow.Id", "Thigh.Id", "Vlow.Id", "Vhigh.Id", "MosTempr", "M.T.St", "SysAlarm.St"} <= set(
        t.columns
    )
    r1, r2, r3, r4, r5 = t.rows
    assert (r1.voltage_mv, r1.current_ma, r1.temperature_mc, r1.soc_pct) == (51204, -1620, 31700, 97)
    assert (r1.cell_temp_low_mc, r1.cell_temp_low_id) == (28800, 12)
    assert (r1.cell_temp_high_mc, r1.cell_temp_high_id) == (30500, 0)
    assert (r1.cell_voltage_low_mv, r1.cell_voltage_low_id) == (3411, 2)
    assert (r1.cell_voltage_high_mv, r1.cell_voltage_high_id) == (3422, 1)
    assert (r1.mos_temperature_mc, r1.mos_temp_state, r1.system_alarm_state) == (31200, "Normal", "Normal")
    assert r1.module_time == datetime(2026, 6, 18, 22, 49, 12)
    assert (r2.cell_volt_state, r2.system_alarm_state, r2.cell_voltage_high_id) == ("High", "Alarm", 14)
    assert (r3.base_state, r3.temp_state, r3.cell_temp_state, r3.current_ma) == ("Idle", "Low", "Low", 0)
    assert (r3.temperature_mc, r3.soc_pct, r3.mos_temperature_mc) == (8700, 57, 8200)
    # absent rows: their dashes do not line up with the newer header, still nothing but "absent"
    for r in (r4, r5):
        assert (
            r.absent and r.voltage_mv is None and r.cell_temp_low_id is None and r.system_alarm_state is None
        )
    assert [r.address for r in t.rows] == [1, 2, 3, 4, 5]
    assert all(r.extra == {} for r in t.rows)


def test_pwr_unknown_column_is_kept_in_extra() -> None:
    data = (
        b"pylon>pwr\r\n@\r\n"
        b"Power Volt   Curr   Tempr  Coulomb  Heat.St  Time                 Frob\r\n"
        b"1     50000  100    21000  50%      Off      2026-01-02 03:04:05  7 mV\r\n"
        b"Command completed successfully\r\n$$\r\npylon>"
    )
    cap = read_console(data, "x")
    (t,) = cap.records
    assert isinstance(t, PwrTable)
    (row,) = t.rows
    assert row.extra == {"Heat.St": "Off", "Frob": "7 mV"}
    assert row.module_time == datetime(2026, 1, 2, 3, 4, 5)
    assert (row.voltage_mv, row.soc_pct) == (50000, 50)
    assert cap.warnings == ()


def test_stat_n_with_histograms() -> None:
    _data, cap = load("stat_N_histograms_newfw.txt")
    (s,) = cap.records
    assert isinstance(s, StatCounters)
    assert s.address == 2
    assert (s.cycle_count, s.soh_pct) == (211, 97)
    assert (s.counters["Dsg Cap"], s.counters["SOH Times"]) == (9310442, 147)
    assert s.charge_rate_secs == {
        "0~0.2C": 702115,
        "0.2C~0.5C": 204871,
        "0.5C~0.8C": 517,
        "0.8C~1C": 0,
        "1C above": 0,
    }
    assert s.discharge_rate_secs == {
        "0~0.2C": 2011390,
        "0.2C~0.5C": 45,
        "0.5C~0.8C": 0,
        "0.8C~1C": 0,
        "1C above": 0,
    }
    assert s.soc_band_secs == {"0~20%": 81233, "20~60%": 1290004, "60% above": 2044391}
    assert s.counters["Soc Low Thd1 Sec"] == 0
    assert len(s.counters) == 52
    assert s.lines["Soc 0~20% Secs"] == 53


def test_log_entries_across_pages() -> None:
    _data, cap = load("log_paged.txt")
    (log,) = cap.records
    assert isinstance(log, EventLog) and log.command == "log"
    assert [e.index for e in log.entries] == [5, 4, 3, 2, 1, 0]
    e5 = log.entries[0]
    assert (e5.time, e5.module_id, e5.code, e5.info) == (
        datetime(2026, 7, 16, 11, 43, 9), "BMM", "2c50", "The device start charging.",
    )  # fmt: skip
    assert log.entries[2].info == "The coulomb of device is low."
    assert log.entries[3].provenance.line == 23  # the entry after the paging prompt
    last = log.entries[-1]
    assert (last.module_id, last.code, last.fields["Extra"]) == ("SOC", "1a", "kept as a field")


def test_data_event_and_history_items() -> None:
    _data, cap = load("data_event_history.txt")
    ev, hist = cap.records
    assert isinstance(ev, EventLog) and isinstance(hist, EventLog)
    assert (ev.command, hist.command) == ("data event", "data history")
    (item,) = ev.entries
    assert item.index == 87 and item.time == datetime(2026, 3, 2, 7, 15, 10)
    assert item.fields["Base State"] == "SysError" and item.fields["Bat Events"] == "0x2        BHV"
    assert item.fields["System Fault"] == "0x8" and item.fields["Percent"] == "22          %"
    assert [c.cell for c in item.cells] == list(range(15))
    assert item.cells[9].voltage_mv == 3650 and item.cells[9].volt_state == "High"
    assert item.cells[9].soc_pct == 23 and {c.soc_pct for c in item.cells if c.cell != 9} == {22}
    assert [c.temperature_mc for c in item.cells] == [12100] * 5 + [12300] * 5 + [12000] * 5
    (h,) = hist.entries
    assert (
        h.index == 1523
        and h.time == datetime(2026, 3, 5, 18, 40, 2)
        and h.fields["Percent"] == "61          %"
    )
    assert [c.voltage_mv for c in h.cells] == [3307] * 6 + [3308] + [3307] * 8


def test_log_unknown_lines_are_kept_raw() -> None:
    data = (
        b"pylon>log\n@\nsomething the parser does not know\n Index : 1\n Time : 26-01-01 00:00:01\n$$\npylon>"
    )
    cap = read_console(data, "x")
    (log,) = cap.records
    assert isinstance(log, EventLog)
    raw, entry = log.entries
    assert raw.index is None and raw.raw == "something the parser does not know" and raw.provenance.line == 3
    assert entry.index == 1 and entry.time == datetime(2026, 1, 1, 0, 0, 1)
    assert cap.warnings == ()


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.txt")))
def test_fixture_records_are_valid_models(name: str) -> None:
    _data, cap = load(name)
    assert ConsoleCapture.model_validate_json(cap.model_dump_json()) == cap


def test_a_getpwr_answer_keeps_at_most_32_cell_lines_and_says_how_many_it_skipped() -> None:
    """One getpwr dumps one module (15 cells): 100,000 cell lines are nonsense, kept to the bound with a
    warning at the first line skipped (each cell became a bat row for the diagnosis: 2 GB for 20 MB)."""
    from pylondiag.evidence.console.misc import GETPWR_MAX_CELLS
    from pylondiag.model.console import GetPwrRecord

    cell = "3317#  26300# Normal# Normal#\r\n"
    text = (
        "pylon_debug>getpwr\r\n@\r\n49768#  -2632#  29300# 43259# Dischg# Normal# Normal# Normal#\r\n"
        + cell * 100_000
        + "666#\r\nCommand completed successfully\r\n$$\r\npylon_debug>\r\n"
    )
    cap = read_console(text.encode(), "g.txt")
    (rec,) = [r for r in cap.records if isinstance(r, GetPwrRecord)]
    assert len(rec.cells) == GETPWR_MAX_CELLS == 32 and rec.trailing_values == (666,)
    (warning,) = cap.warnings
    assert warning.line == 4 + GETPWR_MAX_CELLS and warning.raw == cell.strip()
    assert f"{100_000 - GETPWR_MAX_CELLS} skipped" in warning.message
