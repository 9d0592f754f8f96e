"""Step 3 rules: spread thresholds (positive / negative / boundary), the validity envelope, weak cell
vs recoverable imbalance across captures and rebalancing cycles, sag under load, BAL flags."""

from __future__ import annotations

from typing import Any

import pytest

from pylondiag.diagnosis.thresholds import CELL_SPREAD_FAULT_MV, CELL_SPREAD_WARN_MV
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome


def _bat_case(
    make_case: Any,
    shapes: Any,
    mod: Any,
    *,
    case: dict[str, Any] | None = None,
    logged: str | None = None,
    bare: bool = False,
) -> Any:
    """A case of one `bat` reading; unless ``bare``, case.yaml lists that one module as the stack (so the
    reading covers the whole known stack and a clean result can be no_fault)."""
    if case is None and not bare:
        case = {"stack": [{"position": mod.addr}]}
    s = shapes.Session(logged=logged).add(f"bat {mod.addr}", shapes.bat(mod))
    return make_case(case, {"console/bat.txt": s.text()})


def _cell_findings(d: Any) -> list[Any]:
    return [f for f in d.findings if f.code in (Cause.CELL_IMBALANCE, Cause.WEAK_CELL)]


@pytest.mark.parametrize(
    ("spread", "severity"),
    [
        (10, None),
        (CELL_SPREAD_WARN_MV, None),
        (CELL_SPREAD_WARN_MV + 1, FindingSeverity.WARNING),
        (CELL_SPREAD_FAULT_MV, FindingSeverity.WARNING),  # warn < spread <= fault: monitor
        (CELL_SPREAD_FAULT_MV + 1, FindingSeverity.FAULT),
        (120, FindingSeverity.FAULT),
    ],
)
def test_spread_thresholds_at_top_of_charge(make_case, shapes, diagnose_case, spread, severity):
    mod = shapes.Mod(1, shapes.cells(3450, {7: -spread}, jitter=(0,)), soc=100)
    d = diagnose_case(_bat_case(make_case, shapes, mod))
    found = _cell_findings(d)
    if severity is None:
        assert found == []
        assert d.outcome == Outcome.NO_FAULT
        # the same reading without knowing the stack: one module read, the rest unknown (issue 11 item 1)
        alone = diagnose_case(_bat_case(make_case, shapes, mod, bare=True))
        assert alone.outcome == Outcome.INSUFFICIENT_EVIDENCE
        assert "the rest of the stack is not known" in alone.summary
    else:
        assert [f.severity for f in found] == [severity]
        assert found[0].module == 1
        assert f"spread {spread} mV" in found[0].message
        assert d.outcome == (Outcome.REBALANCE if severity == FindingSeverity.FAULT else Outcome.MONITOR)
        # the low cell's own console line is cited
        assert any(e.quote and e.quote.startswith("7 ") for e in found[0].evidence)


def test_fault_spread_gives_rebalance_actions(make_case, shapes, diagnose_case):
    mod = shapes.Mod(1, shapes.cells(3450, {9: -80}), soc=100)
    d = diagnose_case(_bat_case(make_case, shapes, mod))
    assert (
        d.outcome == Outcome.REBALANCE
        and d.primary_cause == Cause.CELL_IMBALANCE
        and d.culprit_modules == [1]
    )
    text = " ".join(a.text for a in d.actions)
    assert "100 %" in text and "6-8 hours" in text and "`bat 1`" in text and "`stat 1`" in text


@pytest.mark.parametrize(
    ("soc", "top_mv", "base", "current_ma", "temp_mc", "inside"),
    [
        (100, 3450, "Idle", 0, 25000, True),
        (99, 3380, "Idle", 0, 25000, True),  # SOC boundary: the BMS calls it full
        (98, 3399, "Idle", 0, 25000, False),  # just below both: still on the plateau's shoulder
        (95, 3400, "Charge", 3000, 25000, True),  # cell boundary: past the knee whatever the SOC says
        (95, 3352, "Charge", 3000, 25000, False),  # 95 % on the plateau hides imbalance
        (55, 3290, "Dischg", -20000, 25000, False),  # mid-SOC under load: the plateau + IR sag
        (55, 3290, "Idle", 0, 25000, False),  # mid-SOC at rest: still the plateau
        (100, 3450, "Charge", 5000, 25000, True),  # 0.1 C of 50 Ah: inside
        (100, 3450, "Charge", 5001, 25000, False),  # just over 0.1 C
        (100, 3450, "Idle", 0, 10400, True),  # 10.0 °C after the 0.4 °C sensor offset of cells 5-14
        (100, 3450, "Idle", 0, 10399, False),  # just below 10 °C
    ],
)
def test_validity_envelope(make_case, shapes, diagnose_case, soc, top_mv, base, current_ma, temp_mc, inside):
    """The same 80 mV spread is a fault only inside the envelope; outside it is not judged (info, low
    confidence, no fault), said in the summary, with a top-of-charge reading asked for."""
    volts = [top_mv] * 15
    volts[3] = top_mv - 80
    mod = shapes.Mod(1, volts, soc=soc, base=base, curr=current_ma, temp=temp_mc)
    d = diagnose_case(_bat_case(make_case, shapes, mod))
    (f,) = _cell_findings(d)
    if inside:
        assert f.severity == FindingSeverity.FAULT and d.outcome == Outcome.REBALANCE
    else:
        assert f.severity == FindingSeverity.INFO and f.confidence < 0.5
        assert "outside the validity envelope" in f.message
        assert d.outcome == Outcome.NO_FAULT and d.culprit_modules == []
        assert "low confidence" in d.summary
        assert any("`bat 1`" in g and "100 %" in g for g in d.evidence_gaps)


def test_soc_just_below_envelope_without_high_cell(make_case, shapes, diagnose_case):
    mod = shapes.Mod(1, shapes.cells(3330, {3: -80}, jitter=(0,)), soc=89)
    d = diagnose_case(_bat_case(make_case, shapes, mod))
    (f,) = _cell_findings(d)
    assert f.severity == FindingSeverity.INFO


def _two_readings(shapes, low_before: int, low_after: int, stamps: tuple[str, str]) -> dict[str, str]:
    out = {}
    for i, (low, stamp) in enumerate(zip((low_before, low_after), stamps, strict=True)):
        mod = shapes.Mod(2, shapes.cells(3460, {6: -low}, jitter=(0,)), soc=100)
        out[f"console/{i}.txt"] = shapes.Session(logged=stamp).add("bat 2", shapes.bat(mod)).text()
    return out


def test_cell_diverging_across_captures_without_a_cycle_is_rebalanced_first(
    make_case, shapes, diagnose_case, stack_of
):
    """Spec: weak_cell is imbalance that returns or worsens *after* a rebalancing cycle; before the first
    cycle a diverging cell is rebalanced, and the trend is said."""
    files = _two_readings(shapes, 90, 110, ("01.11.26 18:00:00", "02.11.26 17:00:00"))
    d = diagnose_case(make_case({"stack": stack_of(2)}, files))
    (f,) = _cell_findings(d)
    assert f.code == Cause.CELL_IMBALANCE and f.module == 2 and "keeps diverging" in f.message
    assert d.outcome == Outcome.REBALANCE and d.culprit_modules == [2]
    assert len({e.source for e in f.evidence}) == 2  # both captures cited


def test_stable_deficit_across_captures_is_imbalance(make_case, shapes, diagnose_case, stack_of):
    files = _two_readings(shapes, 90, 96, ("01.11.26 18:00:00", "02.11.26 17:00:00"))
    d = diagnose_case(make_case({"stack": stack_of(2)}, files))
    (f,) = _cell_findings(d)
    assert f.code == Cause.CELL_IMBALANCE and "keeps diverging" not in f.message


def test_same_cell_improving_across_captures_is_imbalance(make_case, shapes, diagnose_case, stack_of):
    files = _two_readings(shapes, 110, 70, ("01.11.26 18:00:00", "02.11.26 17:00:00"))
    d = diagnose_case(make_case({"stack": stack_of(2)}, files))
    (f,) = _cell_findings(d)
    assert f.code == Cause.CELL_IMBALANCE and d.outcome == Outcome.REBALANCE


def test_captures_too_close_in_time_show_no_trend(make_case, shapes, diagnose_case, stack_of):
    files = _two_readings(shapes, 90, 120, ("01.11.26 18:00:00", "02.11.26 05:00:00"))  # 11 h < 12 h
    d = diagnose_case(make_case({"stack": stack_of(2)}, files))
    (f,) = _cell_findings(d)
    assert f.code == Cause.CELL_IMBALANCE and "earlier" not in f.message


def test_imbalance_back_after_rebalance_cycle_is_weak(make_case, shapes, diagnose_case, stack_of):
    mod = shapes.Mod(2, shapes.cells(3460, {6: -85}, jitter=(0,)), soc=100)
    case = {"stack": stack_of(2), "history": [{"date": "2026-10-01", "event": "rebalance_cycle"}]}
    d = diagnose_case(_bat_case(make_case, shapes, mod, case=case, logged="20.11.26 10:00:00"))
    (f,) = _cell_findings(d)
    assert f.code == Cause.WEAK_CELL
    assert any(e.key == "history[0]" for e in f.evidence)


def test_improving_after_rebalance_cycle_stays_imbalance(make_case, shapes, diagnose_case, stack_of):
    files = _two_readings(shapes, 120, 80, ("20.09.26 18:00:00", "20.11.26 18:00:00"))
    case = {"stack": stack_of(2), "history": [{"date": "2026-10-01", "event": "rebalance_cycle"}]}
    d = diagnose_case(make_case(case, files))
    (f,) = _cell_findings(d)
    assert f.code == Cause.CELL_IMBALANCE and "improved" in f.message


@pytest.mark.parametrize(("soc", "weak"), [(55, True), (30, True), (29, False), (90, False)])
def test_cell_sagging_under_load_only_is_weak(make_case, shapes, diagnose_case, soc, weak):
    """Only on the plateau (30-85 % SOC): near empty a low-charge cell sags for that reason alone."""
    load = shapes.Mod(1, shapes.cells(3290, {11: -70}, jitter=(0,)), soc=soc, base="Dischg", curr=-15000)
    rest = shapes.Mod(1, shapes.cells(3330, {11: -5}, jitter=(0,)), soc=soc)
    s = shapes.Session().add("bat 1", shapes.bat(load)).add("bat 1", shapes.bat(rest))
    d = diagnose_case(make_case(None, {"console/s.txt": s.text()}))
    found = [f for f in _cell_findings(d) if f.code == Cause.WEAK_CELL]
    assert bool(found) is weak
    if weak:
        assert "internal resistance" in found[0].message and d.outcome == Outcome.REPLACE


def test_bal_flags_are_explained(make_case, shapes, diagnose_case):
    mod = shapes.Mod(1, shapes.cells(3450, {12: -100}, jitter=(0,)), soc=100, bal="YYYYYYYYYYYYNYY")
    d = diagnose_case(_bat_case(make_case, shapes, mod))
    (f,) = _cell_findings(d)
    assert "BAL=Y" in f.message and "off for cell 12" in f.message


def test_age_and_cycles_are_context(make_case, shapes, diagnose_case, stack_of):
    mod = shapes.Mod(1, shapes.cells(3450, {9: -80}), soc=100)
    s = shapes.Session().add("bat 1", shapes.bat(mod)).add("stat 1", shapes.stat(1, cycles=1900))
    case = {"observed_at": "2026-11-20T10:00", "stack": stack_of(1, p1={"installed": "2019-04"})}
    d = diagnose_case(make_case(case, {"console/s.txt": s.text()}))
    (f,) = _cell_findings(d)
    assert "installed 2019-04" in f.message and "1900 full cycles" in f.message
