"""Thermal correlation: the statistics on their own, then the rule family over a CaseView."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pylondiag.diagnosis import thermal
from pylondiag.diagnosis.thermal import correlate, fisher_greater
from pylondiag.model.console import Provenance
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome
from pylondiag.model.event import BatteryEvent, EventKind, Severity, TemperatureSample
from pylondiag.model.stack import CaseView

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 11, 1, tzinfo=LONDON)


def _brute_fisher(a: int, b: int, c: int, d: int) -> float:
    row1, col1, n = a + b, a + c, a + b + c + d
    total = math.comb(n, col1)
    return (
        sum(math.comb(row1, k) * math.comb(n - row1, col1 - k) for k in range(a, min(row1, col1) + 1)) / total
    )


@pytest.mark.parametrize(
    "table", [(3, 1, 1, 3), (0, 5, 5, 0), (5, 0, 0, 5), (2, 10, 3, 40), (12, 150, 2, 560), (1, 0, 0, 0)]
)
def test_fisher_matches_the_hypergeometric_tail(table: tuple[int, int, int, int]) -> None:
    assert fisher_greater(*table) == pytest.approx(_brute_fisher(*table), rel=1e-9)


def test_fisher_tea_tasting() -> None:
    assert fisher_greater(3, 1, 1, 3) == pytest.approx(17 / 70)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _trips(times: list[datetime]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([_epoch(t) for t in times], dtype=np.int64), np.array([t.toordinal() for t in times])


SPAN = (_epoch(START), _epoch(START + timedelta(days=30)))
NO_TEMPS = (np.array([], dtype=np.int64), np.array([]))


def test_cold_morning_cluster_found_by_time_of_day() -> None:
    trips = [START + timedelta(days=d, hours=6, minutes=10 * (d % 5)) for d in range(0, 30, 3)]
    result = correlate(_trips(trips), *NO_TEMPS, LONDON, span=SPAN)
    best = result.best()
    assert best is not None
    assert best.side == "cold" and best.basis == "time_of_day"
    assert best.p_value < 1e-4
    assert best.trips_extreme == 10


def test_evenly_spread_trips_do_not_fire() -> None:
    trips = [START + timedelta(days=d, hours=(d * 7) % 24) for d in range(30)]
    result = correlate(_trips(trips), *NO_TEMPS, LONDON, span=SPAN)
    assert result.enough
    assert result.best() is None


def test_a_handful_of_trips_is_not_enough() -> None:
    trips = [START + timedelta(days=d, hours=6) for d in range(thermal.MIN_TRIPS - 1)]
    result = correlate(_trips(trips), *NO_TEMPS, LONDON, span=SPAN)
    assert not result.enough
    assert result.best() is None


def test_one_bad_morning_is_not_a_pattern() -> None:
    trips = [START + timedelta(hours=6, minutes=m) for m in range(0, 60, 5)]  # 12 trips, one morning
    result = correlate(_trips(trips), *NO_TEMPS, LONDON, span=SPAN)
    assert {t.trip_days for t in result.tests} == {1}
    assert result.best() is None


def _daily_temps(days: int) -> tuple[list[datetime], list[float]]:
    times = [START + timedelta(hours=h) for h in range(24 * days)]
    temps = [
        8.0 + 6.0 * math.sin((t.hour - 9) / 24 * 2 * math.pi) - (6.0 if 10 <= (t - START).days < 14 else 0.0)
        for t in times
    ]
    return times, temps


def test_cold_cluster_found_by_temperature() -> None:
    times, temps = _daily_temps(30)
    trips = [t for t, c in zip(times, temps, strict=True) if c < 1.0][::2]
    assert len(trips) >= 5
    result = correlate(
        _trips(trips),
        np.array([_epoch(t) for t in times]),
        np.array(temps),
        LONDON,
        span=(_epoch(times[0]), _epoch(times[-1])),
    )
    best = result.best()
    assert best is not None and best.basis == "temperature" and best.side == "cold"
    assert best.threshold_c is not None and best.threshold_c < 5


def test_temperature_unrelated_trips_do_not_fire() -> None:
    times, temps = _daily_temps(30)
    trips = [START + timedelta(days=d, hours=(d * 5) % 24) for d in range(0, 30, 2)]
    result = correlate(
        _trips(trips),
        np.array([_epoch(t) for t in times]),
        np.array(temps),
        LONDON,
        span=(_epoch(times[0]), _epoch(times[-1])),
    )
    assert result.best() is None


# ---------------------------------------------------------------- the rule family over a CaseView
def _event(t: datetime, kind: EventKind, line: int, code: str = "F58") -> BatteryEvent:
    return BatteryEvent(
        time=t,
        origin="inverter",
        brand="sunsynk",
        code=code,
        text="x",
        kind=kind,
        severity=Severity.FAULT,
        provenance=Provenance(source="inverter/events.csv", line=line, raw=f"{t.isoformat()},{code},x,fault"),
    )


def test_rule_cold_mornings_give_environment() -> None:
    events = [
        _event(START + timedelta(days=d, hours=7), EventKind.BMS_COMMS_LOST, d + 2) for d in range(0, 28, 2)
    ]
    events.append(_event(START + timedelta(days=29, hours=15), EventKind.OTHER, 40))
    view = CaseView(case_id="cold", events=events)
    found = thermal.findings(view)
    assert [f.code for f in found] == [Cause.THERMAL_INTERMITTENT]
    f = found[0]
    assert f.severity is FindingSeverity.FAULT and f.module is None
    assert "p = " in f.message and "Fisher" in f.message
    assert f.evidence[0].line == 2

    from pylondiag.diagnosis import diagnose

    d = diagnose(view)
    assert d.outcome is Outcome.ENVIRONMENT
    assert d.primary_cause is Cause.THERMAL_INTERMITTENT


def test_rule_low_temperature_alarms_cluster_gives_thermal_intermittent() -> None:
    times, temps = _daily_temps(30)
    readings = [
        TemperatureSample(
            time=t,
            celsius=c,
            sensor="battery_temp_c",
            provenance=Provenance(source="inverter/h.csv", line=i + 2, raw=f"{c}"),
        )
        for i, (t, c) in enumerate(zip(times, temps, strict=True))
    ]
    cold = [t for t, c in zip(times, temps, strict=True) if c < 1.0][::2]
    events = [_event(t, EventKind.UNDER_TEMPERATURE, 1000 + i, code="ID180") for i, t in enumerate(cold)]
    found = thermal.findings(CaseView(case_id="t", events=events, temperatures=readings))
    assert [f.code for f in found] == [Cause.THERMAL_INTERMITTENT]
    assert "low-temperature alarms" in found[0].message
    assert any(ev.source == "inverter/h.csv" for ev in found[0].evidence)


def test_rule_few_low_temperature_alarms_are_under_temperature() -> None:
    events = [
        _event(START + timedelta(days=d, hours=6), EventKind.UNDER_TEMPERATURE, d + 2) for d in range(2)
    ]
    found = thermal.findings(CaseView(case_id="t", events=events))
    assert [(f.code, f.severity) for f in found] == [(Cause.UNDER_TEMPERATURE, FindingSeverity.FAULT)]
    assert "too few" in found[0].message


def test_rule_a_low_temperature_warning_stays_a_warning() -> None:
    e = _event(START + timedelta(hours=6), EventKind.UNDER_TEMPERATURE, 2).model_copy(
        update={"severity": Severity.WARNING}
    )
    found = thermal.findings(CaseView(case_id="t", events=[e]))
    assert [(f.code, f.severity) for f in found] == [(Cause.UNDER_TEMPERATURE, FindingSeverity.WARNING)]


def test_rule_nightly_low_temperature_alarms_are_thermal_intermittent() -> None:
    """Alarms every night just before midnight: outside the early-morning window, but they are
    temperature alarms on many days — a recurring thermal problem without any statistics."""
    events = [_event(START + timedelta(days=d, hours=23, minutes=44), EventKind.UNDER_TEMPERATURE, d + 2)
              for d in range(5)]  # fmt: skip
    found = thermal.findings(CaseView(case_id="t", events=events))
    assert [(f.code, f.severity) for f in found] == [(Cause.THERMAL_INTERMITTENT, FindingSeverity.FAULT)]
    assert "5 different days" in found[0].message


def test_rule_no_events_no_findings() -> None:
    assert thermal.findings(CaseView(case_id="t")) == []


def test_rule_afternoon_over_voltage_is_not_thermal() -> None:
    """Top-of-charge over-voltage every sunny afternoon follows the state of charge, not the heat."""
    events = [_event(START + timedelta(days=d, hours=13), EventKind.BATTERY_OVER_VOLTAGE, d + 2, code="F52")
              for d in range(20)]  # fmt: skip
    assert [f.code for f in thermal.findings(CaseView(case_id="t", events=events))] == []


def test_rule_afternoon_protection_without_temperatures_is_not_thermal() -> None:
    """Unspecified BMS alarms at cooking time: afternoons are not evidence of heat without temperatures."""
    events = [_event(START + timedelta(days=d, hours=17), EventKind.BMS_PROTECTION, d + 2, code="8213")
              for d in range(20)]  # fmt: skip
    assert thermal.findings(CaseView(case_id="t", events=events)) == []


def test_rule_dawn_under_voltage_is_not_thermal() -> None:
    events = [_event(START + timedelta(days=d, hours=6), EventKind.BATTERY_UNDER_VOLTAGE, d + 2, code="F56")
              for d in range(20)]  # fmt: skip
    assert thermal.findings(CaseView(case_id="t", events=events)) == []


# ---------------------------------------------------------------- example cases (end to end, spec validator)
@pytest.mark.parametrize("name", ["inv-cold-mornings-deye", "inv-ha-history-goodwe-cold"])
def test_example_case(name: str, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    case = Path(__file__).resolve().parents[2] / "examples" / "cases" / name
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    d = diagnose_case(case)
    assert d.outcome.value == expected["outcome"]
    assert (d.primary_cause.value if d.primary_cause else None) == expected["primary_cause"]
    assert d.culprit_modules == expected["culprit_modules"]
    assert set(expected["required_codes"]) <= {f.code.value for f in d.findings}
    assert any(e.source.startswith("inverter/") for f in d.findings for e in f.evidence)
