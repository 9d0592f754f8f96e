"""Findings → module verdicts → stack outcome, following ``shared/spec/diagnosis-format.md``.

The cause→action table of the spec is :func:`pylondiag.diagnosis.cause_table.classify`; the outcome
is the highest by ``OUTCOME_PRECEDENCE`` (``reconfigure > replace > on_site_check > environment > rebalance >
monitor > no_fault``); ``culprit_modules`` are the positions whose verdict is neither ``ok`` nor
``monitor``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from pylondiag import __version__
from pylondiag.diagnosis import actions as _actions
from pylondiag.diagnosis import (
    addresses,
    bms_states,
    bus,
    capacity,
    cells,
    coverage,
    dip,
    events,
    groups,
    inverter_events,
    inverter_settings,
    mixed_models,
    neighbours,
    story,
    thermal,
)
from pylondiag.diagnosis import leds as _leds
from pylondiag.diagnosis.cause_table import (
    SEVERITY_RANK,
    VERDICT_RANK,
    Context,
    classify,
    outcome_rank,
)
from pylondiag.model.diagnosis import (
    VERDICT_OUTCOME,
    Cause,
    Diagnosis,
    EvidenceRef,
    Finding,
    FindingSeverity,
    ModuleVerdict,
    Outcome,
    Verdict,
)
from pylondiag.model.stack import CaseView

FindingsFn = Callable[[CaseView], list[Finding]]
"""A rule family's entry point: ``findings(view) -> list[Finding]``, pure."""

RULE_FAMILIES: Final[tuple[tuple[str, FindingsFn], ...]] = (
    ("dip", dip.findings),
    ("groups", groups.findings),
    ("addresses", addresses.findings),
    ("mixed_models", mixed_models.findings),
    ("inverter_settings", inverter_settings.findings),
    ("bms_states", bms_states.findings),
    ("events", events.findings),
    ("cells", cells.findings),
    ("capacity", capacity.findings),
    ("thermal", thermal.findings),
    ("inverter_events", inverter_events.findings),
    ("neighbours", neighbours.findings),
    ("story", story.findings),
    ("bus", bus.findings),
)
"""Every rule family, in the order its findings are listed (ties in the ranking keep this order).

Imported plainly: a family that cannot be imported is an import error, never skipped. To add a
family, write its module with ``findings(view)`` and add one line here.
"""


def collect_findings(view: CaseView) -> list[Finding]:
    """Every family's findings, in registry order, with LED observations attached as corroboration."""
    found, _errors = _run_families(view)
    return found


def _run_families(view: CaseView) -> tuple[list[Finding], list[str]]:
    """Findings of every family; a family that fails (a bug) is reported, the rest still diagnose.

    Set ``PYLONDIAG_STRICT_RULES=1`` (the tests do) to let such a bug raise instead.
    """
    found: list[Finding] = []
    errors: list[str] = []
    for name, fn in RULE_FAMILIES:
        try:
            found.extend(fn(view))
        except Exception as exc:
            if os.environ.get("PYLONDIAG_STRICT_RULES") == "1":
                raise
            errors.append(
                f"Internal error in the '{name}' rules ({type(exc).__name__}: {exc}); this diagnosis was "
                "made "
                "without them. Please report it with the case attached."
            )
    return _leds.corroborate(view, merge(found)), errors


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (code, module): families that reach the same cause by different evidence
    (``config`` from case.yaml settings, ``inverter_events`` from the log; ``bms_states`` and ``events``
    for one module) give one finding, not two.

    The merged finding keeps the severity and confidence of the strongest one (severity, then
    confidence, then the first in registry order), its message first, and the union of every
    finding's evidence, the strongest one's first. What the others add (a warning or fault whose
    message differs) follows as "Also: ..." so that every cited line stays explained; their "Fix:"
    is dropped when the strongest message already gives one. Order: where the first of the group stood.
    """
    groups: dict[tuple[Cause, int | None], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.module), []).append(f)
    out: list[Finding] = []
    for group in groups.values():
        best = max(group, key=lambda f: (SEVERITY_RANK[f.severity], f.confidence))  # max keeps the first tie
        merged = best
        extra: list[str] = []
        for other in group:
            if other is best:
                continue
            merged = with_evidence(merged, list(other.evidence))
            text = other.message
            if "Fix:" in best.message and "Fix:" in text:
                text = text[: text.index("Fix:")].rstrip()
            if other.severity != FindingSeverity.INFO and text and text != best.message and text not in extra:
                extra.append(text)
        if extra:
            merged = merged.model_copy(
                update={"message": " ".join([merged.message, *(f"Also: {t}" for t in extra)])}
            )
        out.append(merged)
    return out


def module_verdicts(view: CaseView, findings: list[Finding], ctx: Context) -> list[ModuleVerdict]:
    positions = sorted({m.position for m in view.modules} | {f.module for f in findings if f.module})
    out: list[ModuleVerdict] = []
    for pos in positions:
        mv = view.module(pos)
        verdict = Verdict.OK
        causes: list[Cause] = []
        for f in findings:
            if f.module != pos:
                continue
            v, _ = classify(f, ctx)
            if v is None:
                continue
            if f.code not in causes:
                causes.append(f.code)
            if VERDICT_RANK[v] > VERDICT_RANK[verdict]:
                verdict = v
        out.append(
            ModuleVerdict(
                position=pos,
                address=mv.address if mv else None,
                model=mv.model if mv else None,
                verdict=verdict,
                causes=causes,
            )
        )
    return out


def stack_outcome(
    findings: list[Finding], verdicts: list[ModuleVerdict], ctx: Context
) -> tuple[Outcome, Finding | None]:
    """Highest outcome by precedence, and the finding behind it (the primary cause)."""
    best = Outcome.NO_FAULT
    primary: Finding | None = None
    for f in findings:
        _, o = classify(f, ctx)
        if o == Outcome.NO_FAULT:
            continue
        if (
            primary is None
            or outcome_rank(o) > outcome_rank(best)
            or (o == best and _better(f, primary, ctx))
        ):
            best, primary = o, f
    for mv in verdicts:  # a verdict always needs at least its own outcome
        o = VERDICT_OUTCOME[mv.verdict]
        if outcome_rank(o) > outcome_rank(
            best
        ):  # pragma: no cover - verdicts come from findings, already counted
            best = o
    return best, primary


def _better(a: Finding, b: Finding, ctx: Context | None = None) -> bool:
    """Primary-cause preference: a root cause before a consequence, then severity, then confidence."""
    sev = SEVERITY_RANK
    root_a = 0 if ctx is not None and _consequence(a, ctx) else 1
    root_b = 0 if ctx is not None and _consequence(b, ctx) else 1
    return (root_a, sev[a.severity], a.confidence) > (root_b, sev[b.severity], b.confidence)


def _consequence(f: Finding, ctx: Context) -> bool:
    """Findings whose outcome is raised by another finding: that other finding is the cause."""
    if f.code == Cause.CELL_OVER_VOLTAGE and ctx.charge_limits:
        return True
    # a stack-wide temperature alarm seen directly is the cause; the trips' pattern is its history
    if f.code == Cause.THERMAL_INTERMITTENT and ctx.stack_temperature:
        return True
    # with no master / two masters / clashing addresses, missing modules and BMS comms alarms follow
    if f.code == Cause.INVERTER_COMMS_CONFIG and f.module is None and ctx.dip_fault:
        return True
    return f.code == Cause.MODULE_NOT_COMMUNICATING and ctx.dip_fault


def diagnose(view: CaseView) -> Diagnosis:
    """Diagnose one case. Pure: the same view always gives the same document."""
    findings, rule_errors = _run_families(view)
    ctx = Context(findings)
    verdicts = module_verdicts(view, findings, ctx)
    outcome, primary = stack_outcome(findings, verdicts, ctx)
    leads = _leds.leads(view)
    unexplained = _leds.unexplained(view, leads, findings)

    cover = coverage.of(view)
    insufficient_reasons: list[str] = []
    if outcome == Outcome.NO_FAULT:
        insufficient_reasons += coverage.no_fault_blockers(view, cover)
        if unexplained:
            dark = all(ld.state == "off" for ld in unexplained)
            insufficient_reasons.append(
                f"{'a dark' if dark else 'an alarm'} LED is not explained by the data"
            )
        if view.symptoms and view.has_console() and not _actions.symptoms_answered(findings):
            insufficient_reasons.append("the reported symptoms are not visible in the data supplied")
        if insufficient_reasons:
            outcome = Outcome.INSUFFICIENT_EVIDENCE
    # An unexplained LED lead is a module to watch: verdict monitor, never a culprit.
    lead_positions = {ld.position for ld in unexplained}
    verdicts = [
        mv.model_copy(update={"verdict": Verdict.MONITOR})
        if mv.position in lead_positions and mv.verdict == Verdict.OK
        else mv
        for mv in verdicts
    ]
    culprits = sorted(mv.position for mv in verdicts if mv.verdict not in (Verdict.OK, Verdict.MONITOR))
    primary_cause = (
        primary.code
        if primary is not None and outcome not in (Outcome.NO_FAULT, Outcome.INSUFFICIENT_EVIDENCE)
        else None
    )
    plan = _actions.plan(view, outcome, primary, findings, verdicts, leads=unexplained)
    # modules not read are named whatever the outcome: a fault found elsewhere does not make them healthy
    gaps = [*coverage.gaps(view, cover), *plan.evidence_gaps]
    unanswered = view.symptoms and not _actions.symptoms_answered(findings)
    if outcome == Outcome.INSUFFICIENT_EVIDENCE and unanswered and view.has_console():
        gaps.append(_actions.symptom_gap(view))
    gaps += rule_errors
    summary = _actions.summary(view, outcome, primary, findings, verdicts, unexplained, insufficient_reasons)
    return Diagnosis(
        case_id=view.case_id,
        tool_version=__version__,
        outcome=outcome,
        primary_cause=primary_cause,
        culprit_modules=culprits,
        summary=summary,
        modules=verdicts,
        findings=_ordered(findings, ctx),
        actions=plan.actions,
        on_site_spec=plan.on_site_spec,
        evidence_gaps=list(dict.fromkeys(gaps)),
        safety=plan.safety,
    )


def _ordered(findings: list[Finding], ctx: Context) -> list[Finding]:
    """Most important first: by the outcome each finding drives, then severity and confidence."""
    sev = SEVERITY_RANK

    def key(f: Finding) -> tuple[int, int, float]:
        return (-outcome_rank(classify(f, ctx)[1]), -sev[f.severity], -f.confidence)

    return sorted(findings, key=key)


def with_evidence(f: Finding, extra: list[EvidenceRef]) -> Finding:
    """A copy of ``f`` with more evidence (no duplicates)."""
    have = {(e.source, e.line, e.key) for e in f.evidence}
    add = [e for e in extra if (e.source, e.line, e.key) not in have]
    return f.model_copy(update={"evidence": (*f.evidence, *add)}) if add else f
