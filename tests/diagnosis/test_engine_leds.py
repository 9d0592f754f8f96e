"""The engine: owner LED words, leads vs verdicts, the cause→action table, outcome precedence,
culprits, summary, actions, gaps and safety."""

from __future__ import annotations

import pytest

from pylondiag.diagnosis.cause_table import Context, classify
from pylondiag.diagnosis.leds import OWNER_WORDS
from pylondiag.model.case import Led
from pylondiag.model.diagnosis import (
    OUTCOME_PRECEDENCE,
    Cause,
    EvidenceRef,
    Finding,
    FindingSeverity,
    Outcome,
    Verdict,
)


def test_owner_words_map_onto_run_alm_states():
    assert OWNER_WORDS[Led.AMBER] == "alarm" and OWNER_WORDS[Led.AMBER_FLASHING] == "alarm"
    assert OWNER_WORDS[Led.RED_FLASHING] == "alarm"
    assert OWNER_WORDS[Led.RED] == "protection"
    assert OWNER_WORDS[Led.GREEN_FLASHING] == "normal" and OWNER_WORDS[Led.OFF] == "off"


def test_led_alone_is_a_lead_not_a_verdict(make_case, diagnose_case, stack_of):
    d = diagnose_case(
        make_case({"stack": stack_of(4, p2={"led": "red"}), "symptoms": ["whole_bank_shutdown"]})
    )
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE and d.primary_cause is None and d.culprit_modules == []
    assert next(m for m in d.modules if m.position == 2).verdict == Verdict.MONITOR
    gaps = " ".join(d.evidence_gaps)
    assert "position 2" in gaps and "`bat 2`" in gaps and "`stat 2`" in gaps and "`pwr`" in gaps
    # the commands to type are a list the owner can read: "`bat 1`, `bat 2`, ..." (was "`bat 1` `bat 2`")
    no_console = next(g for g in d.evidence_gaps if g.startswith("No console capture"))
    assert "`bat 1`, `bat 2`, `bat 3`, `bat 4`, `stat N`" in no_console
    assert "lead" in d.summary and "low confidence" in d.summary


def test_led_lead_with_normal_console_stays_insufficient(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2, 3)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    d = diagnose_case(make_case({"stack": stack_of(3, p3={"led": "amber"})}, {"console/p.txt": s.text()}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert any("position 3" in g and "ALM flashing" in g for g in d.evidence_gaps)


def test_no_evidence_at_all(make_case, diagnose_case):
    d = diagnose_case(make_case(None, {}))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE and d.modules == [] and d.findings == []
    assert any("No console capture" in g for g in d.evidence_gaps)
    assert any("48 V DC" in s for s in d.safety)


def test_symptom_not_seen_in_healthy_data_is_insufficient(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    d = diagnose_case(
        make_case({"stack": stack_of(2), "symptoms": ["intermittent_trips"]}, {"console/p.txt": s.text()})
    )
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE


def _f(code: Cause, severity: FindingSeverity = FindingSeverity.FAULT, module: int | None = 1) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        module=module,
        confidence=0.8,
        message="m",
        evidence=[EvidenceRef(source="case.yaml", key="stack")],
    )


@pytest.mark.parametrize(
    ("code", "module", "verdict", "outcome"),
    [
        (Cause.CELL_IMBALANCE, 1, Verdict.REBALANCE, Outcome.REBALANCE),
        (Cause.WEAK_CELL, 1, Verdict.REPLACE, Outcome.REPLACE),
        (Cause.CAPACITY_FADE, 1, Verdict.REPLACE, Outcome.REPLACE),
        (Cause.CELL_OVER_VOLTAGE, 1, Verdict.REBALANCE, Outcome.REBALANCE),
        (Cause.CELL_UNDER_VOLTAGE, 1, Verdict.ISOLATE, Outcome.ON_SITE_CHECK),
        (Cause.OVER_TEMPERATURE, 1, Verdict.ON_SITE_CHECK, Outcome.ON_SITE_CHECK),
        (Cause.OVER_TEMPERATURE, None, None, Outcome.ENVIRONMENT),
        (Cause.UNDER_TEMPERATURE, None, None, Outcome.ENVIRONMENT),
        (Cause.THERMAL_INTERMITTENT, 1, Verdict.MONITOR, Outcome.ENVIRONMENT),
        (Cause.OVER_CURRENT, None, None, Outcome.RECONFIGURE),
        (Cause.BMS_HARDWARE_FAULT, 1, Verdict.REPLACE, Outcome.REPLACE),
        (Cause.MODULE_NOT_COMMUNICATING, 1, Verdict.ON_SITE_CHECK, Outcome.ON_SITE_CHECK),
        (Cause.DIP_MULTIPLE_MASTERS, 1, Verdict.RECONFIGURE, Outcome.RECONFIGURE),
        (Cause.MODULE_COUNT_MISMATCH, None, None, Outcome.RECONFIGURE),
        (Cause.INVERTER_CHARGE_LIMITS, None, None, Outcome.RECONFIGURE),
        (Cause.MIXED_MODELS, 1, Verdict.RECONFIGURE, Outcome.RECONFIGURE),
    ],
)
def test_cause_to_action_table(code, module, verdict, outcome):
    f = _f(code, module=module)
    assert classify(f, Context([f])) == (verdict, outcome)


def test_warnings_monitor_and_info_does_nothing():
    w = _f(Cause.WEAK_CELL, FindingSeverity.WARNING)
    assert classify(w, Context([w])) == (Verdict.MONITOR, Outcome.MONITOR)
    i = _f(Cause.WEAK_CELL, FindingSeverity.INFO)
    assert classify(i, Context([i])) == (None, Outcome.NO_FAULT)


def test_context_changes_the_verdict():
    ov = _f(Cause.CELL_OVER_VOLTAGE)
    limits = _f(Cause.INVERTER_CHARGE_LIMITS, module=None)
    assert classify(ov, Context([ov, limits])) == (Verdict.MONITOR, Outcome.RECONFIGURE)
    missing = _f(Cause.MODULE_NOT_COMMUNICATING)
    dip = _f(Cause.DIP_MULTIPLE_MASTERS, module=2)
    assert classify(missing, Context([missing, dip])) == (Verdict.MONITOR, Outcome.RECONFIGURE)


def test_reconfigure_comes_before_replace(make_case, diagnose_case, stack_of, shapes):
    """Configuration errors first: they corrupt every other reading (spec precedence)."""
    s = shapes.Session().add("stat 2", shapes.stat(2, soh=50))
    d = diagnose_case(
        make_case({"stack": stack_of(3), "inverter": {"configured_modules": 2}}, {"console/s.txt": s.text()})
    )
    assert d.outcome == Outcome.RECONFIGURE and d.primary_cause == Cause.MODULE_COUNT_MISMATCH
    assert d.culprit_modules == [2]  # the faded module is still a culprit (verdict replace)
    steps = [a.text for a in d.actions]
    assert steps.index(next(t for t in steps if "module count" in t)) < steps.index(
        next(t for t in steps if "Fit a replacement" in t)
    )
    assert OUTCOME_PRECEDENCE[0] == Outcome.RECONFIGURE


def test_actions_are_numbered_and_safety_always_present(make_case, diagnose_case, stack_of):
    d = diagnose_case(make_case({"stack": stack_of(3, p2={"role": "master"})}))
    assert [a.step for a in d.actions] == list(range(1, len(d.actions) + 1))
    assert any("power down the whole stack" in s.lower() for s in d.safety)


def test_summary_is_short(make_case, diagnose_case, stack_of, shapes):
    mod = shapes.Mod(1, shapes.cells(3450, {9: -80}), soc=100)
    s = shapes.Session().add("bat 1", shapes.bat(mod))
    d = diagnose_case(make_case({"stack": stack_of(1)}, {"console/b.txt": s.text()}))
    assert 1 <= d.summary.count(". ") + 1 <= 3 and "Position 1" in d.summary


def test_a_failing_rule_family_is_reported_not_fatal(make_case, stack_of, monkeypatch, check_doc):
    from pylondiag.diagnosis import engine
    from pylondiag.pipeline import run_case

    def boom(view):
        raise RuntimeError("bug")

    monkeypatch.delenv("PYLONDIAG_STRICT_RULES")
    monkeypatch.setattr(engine, "RULE_FAMILIES", (("dip", boom), *engine.RULE_FAMILIES[1:]))
    case = make_case({"stack": stack_of(2, p2={"role": "master"})})
    d = run_case(case).diagnosis
    assert any("Internal error in the 'dip' rules" in g for g in d.evidence_gaps)
    assert check_doc(case, d.to_json_dict()) == []


def test_symptom_gap_when_data_is_healthy(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3350), soc=70) for a in (1, 2)]
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    d = diagnose_case(
        make_case({"stack": stack_of(2), "symptoms": ["not_charging"]}, {"console/p.txt": s.text()})
    )
    assert any("not charging" in g and "during the problem" in g for g in d.evidence_gaps)
