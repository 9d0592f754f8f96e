"""The spec's cause→action table (``shared/spec/diagnosis-format.md``, "From cause to action").

Both the engine (verdicts, outcome, primary cause) and the action planner (steps, on-site work) read
the table; it lives here, apart from both, so neither imports the other.
"""

from __future__ import annotations

from typing import Final

from pylondiag.model.diagnosis import OUTCOME_PRECEDENCE, Cause, Finding, FindingSeverity, Outcome, Verdict

VERDICT_RANK: Final[dict[Verdict, int]] = {
    Verdict.RECONFIGURE: 6,
    Verdict.REPLACE: 5,
    Verdict.ISOLATE: 4,
    Verdict.ON_SITE_CHECK: 3,
    Verdict.REBALANCE: 2,
    Verdict.MONITOR: 1,
    Verdict.OK: 0,
}
"""Which verdict wins on one module when several findings name it."""

SEVERITY_RANK: Final[dict[FindingSeverity, int]] = {
    FindingSeverity.FAULT: 2,
    FindingSeverity.WARNING: 1,
    FindingSeverity.INFO: 0,
}

DIP_CODES: Final = frozenset(
    {Cause.DIP_MULTIPLE_MASTERS, Cause.DIP_NO_MASTER, Cause.DIP_DUPLICATE_ADDRESS, Cause.DIP_ADDRESS_GAP}
)
STACK_CONFIG: Final = frozenset(
    {Cause.MODULE_COUNT_MISMATCH, Cause.INVERTER_COMMS_CONFIG, Cause.INVERTER_CHARGE_LIMITS}
)


class Context:
    """Facts about the whole finding set that the cause→action table depends on."""

    def __init__(self, findings: list[Finding]) -> None:
        faults = [f for f in findings if f.severity == FindingSeverity.FAULT]
        self.charge_limits = any(f.code == Cause.INVERTER_CHARGE_LIMITS for f in faults)
        self.dip_fault = any(f.code in DIP_CODES for f in faults)
        self.stack_temperature = any(
            f.code in (Cause.OVER_TEMPERATURE, Cause.UNDER_TEMPERATURE) and f.module is None for f in faults
        )
        """A temperature alarm/protection acting on the whole stack (its surroundings) is in the case."""


def classify(f: Finding, ctx: Context) -> tuple[Verdict | None, Outcome]:
    """The spec's cause→action table: (module verdict or None, stack outcome) for one finding."""
    if f.severity == FindingSeverity.INFO:
        return None, Outcome.NO_FAULT
    has_module = f.module is not None
    if f.severity == FindingSeverity.WARNING:
        return (Verdict.MONITOR if has_module else None), Outcome.MONITOR
    c = f.code
    mod: Verdict | None
    if c == Cause.CELL_IMBALANCE:
        return Verdict.REBALANCE, Outcome.REBALANCE
    if c in (Cause.WEAK_CELL, Cause.CAPACITY_FADE, Cause.BMS_HARDWARE_FAULT):
        return Verdict.REPLACE, Outcome.REPLACE
    if c == Cause.CELL_OVER_VOLTAGE:
        if ctx.charge_limits:
            return (Verdict.MONITOR if has_module else None), Outcome.RECONFIGURE
        return (Verdict.REBALANCE if has_module else None), Outcome.REBALANCE
    if c == Cause.CELL_UNDER_VOLTAGE:
        return (Verdict.ISOLATE if has_module else None), Outcome.ON_SITE_CHECK
    if c == Cause.OVER_TEMPERATURE:
        if has_module:
            return Verdict.ON_SITE_CHECK, Outcome.ON_SITE_CHECK
        return None, Outcome.ENVIRONMENT
    if c in (Cause.UNDER_TEMPERATURE, Cause.THERMAL_INTERMITTENT):
        return (Verdict.MONITOR if has_module else None), Outcome.ENVIRONMENT
    if c == Cause.OVER_CURRENT:
        return (Verdict.MONITOR if has_module else None), Outcome.RECONFIGURE
    if c == Cause.MODULE_NOT_COMMUNICATING:
        if ctx.dip_fault:  # settle the switches first; re-check the link afterwards
            return (Verdict.MONITOR if has_module else None), Outcome.RECONFIGURE
        return (Verdict.ON_SITE_CHECK if has_module else None), Outcome.ON_SITE_CHECK
    if c in DIP_CODES or c == Cause.MIXED_MODELS:
        mod = Verdict.RECONFIGURE if has_module else None
        return mod, Outcome.RECONFIGURE
    if c in STACK_CONFIG:  # a module named here is one whose switches must change
        return (Verdict.RECONFIGURE if has_module else None), Outcome.RECONFIGURE
    return (Verdict.MONITOR if has_module else None), Outcome.MONITOR  # pragma: no cover - all codes above


def outcome_rank(o: Outcome) -> int:
    """Higher = comes first by the spec's precedence."""
    return len(OUTCOME_PRECEDENCE) - OUTCOME_PRECEDENCE.index(o)
