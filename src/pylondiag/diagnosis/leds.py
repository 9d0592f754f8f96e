"""Step 1 — LEDs: the owner's words mapped onto the real RUN/ALM states; the odd module out.

Facts (``shared/domain/README.md``; ``hardware/panel_dip.md`` §2): US modules have a green RUN LED and
a red ALM LED. ALM **flashing** = alarm, the module is still running — what owners often call
"amber" [M: Extra 2000 manual, MLIB16]. ALM **steady** = protection or fault, a path is blocked
[T: powerforum 5904 quoting the US3000 manual]. RUN and ALM both off = off, asleep or deep
under-voltage protection [U/T]. The seed guide: one amber/red module while the others are green
confirms the fault is in that unit.

An alarm LED alone is a **lead, not a verdict**: it names the module to look at. It becomes part of
a verdict only when data (console states, counters, cells, events) supports it — then the LED
observation is attached to that finding as corroborating evidence. A lead nothing explains makes
the module ``monitor`` and, when nothing else is found, the case ``insufficient_evidence`` with the
exact captures to take next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pylondiag.diagnosis import cite, coverage
from pylondiag.diagnosis import confidence as C
from pylondiag.model.case import Led
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.stack import CaseView

LedState = Literal["normal", "alarm", "protection", "off"]

OWNER_WORDS: Final[dict[Led, LedState]] = {
    Led.GREEN: "normal",
    Led.GREEN_FLASHING: "normal",
    Led.AMBER: "alarm",
    Led.AMBER_FLASHING: "alarm",
    Led.RED_FLASHING: "alarm",
    Led.RED: "protection",
    Led.OFF: "off",
}
"""Owner word → panel state (domain/README.md: amber ≈ ALM flashing, red = ALM steady)."""

MEANING: Final[dict[LedState, str]] = {
    "normal": "normal (RUN lit or blinking, ALM off)",
    "alarm": "ALM flashing: an alarm, the module is still running",
    "protection": "ALM steady: a protection or fault is active and a path is blocked",
    "off": "RUN and ALM off: the module is off, asleep, or in deep under-voltage protection",
}

STATE_CODES: Final = frozenset(
    {Cause.CELL_OVER_VOLTAGE, Cause.CELL_UNDER_VOLTAGE, Cause.OVER_TEMPERATURE, Cause.UNDER_TEMPERATURE}
)
"""An ``info`` finding with these codes is the BMS's own live state (e.g. the end-of-charge alarm with
balanced cells): it explains an alarm LED. Other ``info`` findings (a spread not judged) do not."""

SILENT_WARNINGS: Final = frozenset({Cause.CAPACITY_FADE, Cause.CELL_IMBALANCE})
"""Causes that, at ``warning`` severity, the BMS does not signal on its ALM LED: a faded module above the
replacement point (the SOH alarm is field_failures.md #12: SOH 0 or Soh. Status Abnormal, a fault) and a
cell spread the balancers still correct (no voltage threshold reached; a protection from imbalance comes
with a cell at its limit, which the BMS's own states show). panel_dip.md §2: ALM flashing = an alarm,
steady = a protection or fault. Such a warning on position N does not answer N's light (found by putting a
red LED on the faded module of monitor-capacity-fade: SOH 76 % 'explained' a protection light, raised its
own confidence with it, and the answer was 'no action needed now')."""

CORROBORATION_BONUS: Final = 0.05
"""Confidence added to a finding that the owner's LED observation on the same module supports."""


@dataclass(frozen=True)
class LedLead:
    position: int
    word: Led
    state: LedState
    stack_index: int | None
    odd_one_out: bool

    @property
    def key(self) -> str:
        return f"stack[{self.stack_index}].led"

    def describe(self) -> str:
        return f"position {self.position} LED '{self.word.value}' ({MEANING[self.state]})"


def leads(view: CaseView) -> list[LedLead]:
    """Modules whose LED, as seen by the owner, is not normal."""
    seen = [(m, OWNER_WORDS[m.led]) for m in view.modules if m.led is not None]
    abnormal = [(m, s) for m, s in seen if s != "normal"]
    normal_count = len(seen) - len(abnormal)
    return [
        LedLead(
            position=m.position,
            word=m.led,
            state=s,
            stack_index=m.stack_index,
            odd_one_out=normal_count > 0 and len(abnormal) < normal_count,
        )
        for m, s in abnormal
        if m.led is not None
    ]


def unexplained(view: CaseView, all_leads: list[LedLead], findings: list[Finding]) -> list[LedLead]:
    """Leads no finding explains **on their own module** (issue 11 item 3).

    A light on position N is explained by a finding about N (an ``info`` one only when it is the BMS's
    own live state, e.g. the end-of-charge alarm with balanced cells), or by a stack-level finding that
    cites a reading of N itself (the stack-wide cold seen in N's ``pwr`` row). A stack-level finding
    that cites no reading of N (an inverter setting, a missing master, trips in the inverter's log)
    does not explain N's light, and a finding on position 1 never explains a light on position 3.
    """
    at = coverage.line_positions(view)
    explained: set[int] = set()
    for f in findings:
        if f.module is not None:
            if explains_light(f):
                explained.add(f.module)
        elif f.severity != FindingSeverity.INFO:
            explained |= {at[k] for e in f.evidence if e.line is not None and (k := (e.source, e.line)) in at}
    return [ld for ld in all_leads if ld.position not in explained]


def explains_light(f: Finding) -> bool:
    """Whether a finding on a module can be why that module's ALM LED is lit: not an ``info`` note (unless it
    is the BMS's own live state, :data:`STATE_CODES`) and not a :data:`SILENT_WARNINGS` warning."""
    if f.severity == FindingSeverity.INFO:
        return f.code in STATE_CODES
    return not (f.severity == FindingSeverity.WARNING and f.code in SILENT_WARNINGS)


def corroborate(view: CaseView, findings: list[Finding]) -> list[Finding]:
    """Attach the owner's LED observation to the findings about the same module."""
    by_pos = {ld.position: ld for ld in leads(view) if ld.stack_index is not None}
    out: list[Finding] = []
    for f in findings:
        ld = by_pos.get(f.module) if f.module is not None else None
        if ld is None or not explains_light(f) or any(e.key == ld.key for e in f.evidence):
            out.append(f)
            continue
        ref = cite.key(ld.key)
        out.append(
            f.model_copy(
                update={
                    "evidence": (*f.evidence, ref),
                    "confidence": round(min(C.CEILING, f.confidence + CORROBORATION_BONUS), 2),
                }
            )
        )
    return out
