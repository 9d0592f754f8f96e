"""The diagnosis document, ``pylondiag.diagnosis/1`` (``shared/spec/diagnosis-format.md``).

Reports, the web service and the CLI's JSON are views of this one model. ``Diagnosis.to_json_dict()``
gives exactly the spec's document.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA: Final = "pylondiag.diagnosis/1"


class Outcome(StrEnum):
    """Stack-level outcome. Precedence (the first thing the owner must do) is ``OUTCOME_PRECEDENCE``."""

    RECONFIGURE = "reconfigure"
    REPLACE = "replace"
    ON_SITE_CHECK = "on_site_check"
    ENVIRONMENT = "environment"
    REBALANCE = "rebalance"
    MONITOR = "monitor"
    NO_FAULT = "no_fault"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


OUTCOME_PRECEDENCE: Final[tuple[Outcome, ...]] = (
    Outcome.RECONFIGURE,
    Outcome.REPLACE,
    Outcome.ON_SITE_CHECK,
    Outcome.ENVIRONMENT,
    Outcome.REBALANCE,
    Outcome.MONITOR,
    Outcome.NO_FAULT,
)
"""``reconfigure > replace > on_site_check > environment > rebalance > monitor > no_fault`` (spec)."""


class Verdict(StrEnum):
    OK = "ok"
    MONITOR = "monitor"
    REBALANCE = "rebalance"
    RECONFIGURE = "reconfigure"
    ISOLATE = "isolate"
    REPLACE = "replace"
    ON_SITE_CHECK = "on_site_check"


VERDICT_OUTCOME: Final[dict[Verdict, Outcome]] = {
    Verdict.OK: Outcome.NO_FAULT,
    Verdict.MONITOR: Outcome.MONITOR,
    Verdict.REBALANCE: Outcome.REBALANCE,
    Verdict.RECONFIGURE: Outcome.RECONFIGURE,
    Verdict.ISOLATE: Outcome.ON_SITE_CHECK,
    Verdict.REPLACE: Outcome.REPLACE,
    Verdict.ON_SITE_CHECK: Outcome.ON_SITE_CHECK,
}
"""The stack outcome a module verdict needs at least (spec: ``isolate`` makes ``on_site_check``)."""


class Cause(StrEnum):
    """Cause codes of the spec. New codes are added to the spec first, never here alone."""

    # module level
    CELL_IMBALANCE = "cell_imbalance"
    WEAK_CELL = "weak_cell"
    CAPACITY_FADE = "capacity_fade"
    CELL_OVER_VOLTAGE = "cell_over_voltage"
    CELL_UNDER_VOLTAGE = "cell_under_voltage"
    OVER_TEMPERATURE = "over_temperature"
    UNDER_TEMPERATURE = "under_temperature"
    THERMAL_INTERMITTENT = "thermal_intermittent"
    OVER_CURRENT = "over_current"
    BMS_HARDWARE_FAULT = "bms_hardware_fault"
    MODULE_NOT_COMMUNICATING = "module_not_communicating"
    # stack / inverter level
    DIP_MULTIPLE_MASTERS = "dip_multiple_masters"
    DIP_NO_MASTER = "dip_no_master"
    DIP_DUPLICATE_ADDRESS = "dip_duplicate_address"
    DIP_ADDRESS_GAP = "dip_address_gap"
    MODULE_COUNT_MISMATCH = "module_count_mismatch"
    MIXED_MODELS = "mixed_models"
    INVERTER_COMMS_CONFIG = "inverter_comms_config"
    INVERTER_CHARGE_LIMITS = "inverter_charge_limits"


class FindingSeverity(StrEnum):
    FAULT = "fault"
    WARNING = "warning"
    INFO = "info"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class _Frozen(BaseModel):
    """A value rules produce and the engine only copies (``model_copy``), never changes in place."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, frozen=True)


class EvidenceRef(_Frozen):
    """A citation: a line of an evidence file (``source`` + ``line`` + ``quote``) or a ``case.yaml`` key."""

    source: str
    """Path relative to the case directory with ``/`` separators, or ``case.yaml``."""
    line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    quote: str | None = None
    """Text found on ``line`` (whitespace-insensitive)."""
    key: str | None = None
    """For ``case.yaml`` observations: the key path, e.g. ``stack[2].led``; for a binary capture that has
    no lines (a BLF CAN log): the frame, e.g. ``frame 12``."""

    @model_validator(mode="after")
    def _points_somewhere(self) -> EvidenceRef:
        if self.line is None and self.key is None:
            raise ValueError("an evidence reference needs a line or a case.yaml key")
        return self


class Finding(_Frozen):
    """One rule's conclusion about one module (or the stack), with the evidence it rests on. Frozen: a
    rule's finding is the same object whatever the engine does with it later."""

    code: Cause
    severity: FindingSeverity
    module: int | None
    """A position, or None for stack/inverter-level findings."""
    confidence: float = Field(ge=0.0, le=1.0)
    message: str = Field(min_length=1)
    evidence: tuple[EvidenceRef, ...] = Field(min_length=1)


class ModuleVerdict(_Doc):
    position: int = Field(ge=1)
    address: int | None = None
    model: str | None = None
    verdict: Verdict
    causes: list[Cause] = Field(default_factory=list)


class Action(_Doc):
    step: int = Field(ge=1)
    text: str = Field(min_length=1)
    on_site: bool = False


class OnSiteSpec(_Doc):
    work: list[str]
    parts: list[str]
    checks_after: list[str]


class Diagnosis(_Doc):
    """One case's answer. Field order and names are the spec's."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    case_id: str
    tool_version: str
    outcome: Outcome
    primary_cause: Cause | None
    culprit_modules: list[int]
    summary: str = Field(min_length=1)
    modules: list[ModuleVerdict]
    findings: list[Finding]
    actions: list[Action]
    on_site_spec: OnSiteSpec | None = None
    evidence_gaps: list[str]
    safety: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Diagnosis:
        if self.schema_ != SCHEMA:
            raise ValueError(f"schema must be {SCHEMA!r}")
        if self.outcome in (Outcome.NO_FAULT, Outcome.INSUFFICIENT_EVIDENCE):
            if self.primary_cause is not None:
                raise ValueError(f"primary_cause must be null for {self.outcome.value}")
        elif self.primary_cause is None:
            raise ValueError(f"outcome {self.outcome.value} needs a primary_cause")
        culprits = sorted(m.position for m in self.modules if m.verdict not in (Verdict.OK, Verdict.MONITOR))
        if sorted(self.culprit_modules) != culprits:
            raise ValueError(f"culprit_modules {self.culprit_modules} != non-ok verdicts {culprits}")
        if self.primary_cause is not None and all(f.code != self.primary_cause for f in self.findings):
            raise ValueError(f"primary_cause {self.primary_cause.value} has no finding")
        if self.outcome == Outcome.INSUFFICIENT_EVIDENCE and not self.evidence_gaps:
            raise ValueError("insufficient_evidence needs evidence_gaps")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The spec's JSON document (``schema`` key, enums as strings, nulls kept)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the document, generated from this model."""
        return cls.model_json_schema(by_alias=True, mode="serialization")
