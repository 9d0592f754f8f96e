"""The module-data families called directly through ``findings(view)`` on small literal views:
``bms_states``, ``cells``, ``capacity``, ``events``."""

from __future__ import annotations

from dataclasses import replace

from views import bat, prov, pwr, row, stat, view

from pylondiag.diagnosis import bms_states, capacity, cells, events
from pylondiag.model.diagnosis import Cause, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.model.stack import StatReading

STACK3 = [{"position": p, "address": p} for p in (1, 2, 3)]


def _pwr_event(address: int, line: int, kind: EventKind, severity: Severity, code: str) -> BatteryEvent:
    """The event casedir derives from a non-Normal state in a ``pwr`` row (same source and line)."""
    return BatteryEvent(
        time=None,
        origin="bms",
        code=code,
        kind=kind,
        severity=severity,
        module_address=address,
        provenance=prov(line, f"{address} {code}"),
    )


def test_bms_states_protection_on_one_module_is_that_module() -> None:
    snap = pwr(row(1, 3), row(2, 4, volt_state="UV", soc_pct=40), row(3, 5))
    ev = _pwr_event(2, 4, EventKind.CELL_UNDER_VOLTAGE, Severity.FAULT, "UV")
    found = bms_states.findings(view(STACK3, pwr=[snap], events=[ev]))
    assert [(f.code, f.module, f.severity) for f in found] == [
        (Cause.CELL_UNDER_VOLTAGE, 2, FindingSeverity.FAULT)
    ]
    assert "Its neighbours do not" in found[0].message and found[0].evidence[0].line == 4


def test_bms_states_low_voltage_alarm_near_empty_is_only_context() -> None:
    snap = pwr(row(1, 3, soc_pct=10), row(2, 4, soc_pct=10), row(3, 5, soc_pct=10))
    ev = _pwr_event(2, 4, EventKind.CELL_UNDER_VOLTAGE, Severity.WARNING, "Low")
    found = bms_states.findings(view(STACK3, pwr=[snap], events=[ev]))
    assert [(f.code, f.severity) for f in found] == [(Cause.CELL_UNDER_VOLTAGE, FindingSeverity.INFO)]


def test_bms_states_hot_module_among_cool_neighbours() -> None:
    snap = pwr(row(1, 3), row(2, 4, temperature_mc=33000), row(3, 5))
    found = bms_states.findings(view(STACK3, pwr=[snap]))
    assert [(f.code, f.module, f.severity) for f in found] == [
        (Cause.OVER_TEMPERATURE, 2, FindingSeverity.WARNING)
    ]


def test_cells_spread_at_the_top_of_charge_is_imbalance() -> None:
    mv = [3450] * 14 + [3380]
    found = cells.findings(view(STACK3, bat=[bat(2, mv)]))
    assert [(f.code, f.module, f.severity) for f in found] == [
        (Cause.CELL_IMBALANCE, 2, FindingSeverity.FAULT)
    ]
    assert "70 mV" in found[0].message


def test_cells_mid_soc_spread_is_not_judged() -> None:
    mv = [3300] * 14 + [3220]
    found = cells.findings(view(STACK3, bat=[bat(2, mv, soc=50)]))
    assert [f.severity for f in found] == [FindingSeverity.INFO]


def test_cells_balanced_top_of_charge_is_quiet() -> None:
    assert cells.findings(view(STACK3, bat=[bat(1, [3450] * 15)])) == []


def _with_soh(st: StatReading, soh: int) -> StatReading:
    return replace(st, stat=st.stat.model_copy(update={"soh_pct": soh}))


def test_capacity_thresholds() -> None:
    low = capacity.findings(view(STACK3, stats=[_with_soh(stat(1, SOH=65), 65)]))
    assert [(f.code, f.module, f.severity) for f in low] == [(Cause.CAPACITY_FADE, 1, FindingSeverity.FAULT)]
    mid = capacity.findings(view(STACK3, stats=[_with_soh(stat(1, SOH=75), 75)]))
    assert [f.severity for f in mid] == [FindingSeverity.WARNING]
    assert capacity.findings(view(STACK3, stats=[_with_soh(stat(1, SOH=98), 98)])) == []


def test_events_a_lifetime_counter_alone_is_not_a_fault() -> None:
    sts = [stat(p, line=200 + 20 * p, Bat_OV_Times=2, Bat_UV_Times=1) for p in (1, 2, 3)]
    found = events.findings(view(STACK3, stats=sts))
    assert all(f.severity != FindingSeverity.FAULT for f in found)
