"""The owner's story (issue 11 item 6): ``history``, ``symptoms``, ``notes`` and the LEDs they saw,
read as evidence — ranked hypotheses with what would confirm each, cited as ``{source: case.yaml, key}``.

What an engineer does before any capture: *what changed and when, and when does the trouble show?*

Facts the rules rest on (sources in ``shared/domain`` and the real-report corpus ``tests/realworld``):

- Every module in steady protection at once, only while the charger holds the stack full (float on the
  grid), clearing on its own when the source changes: the charger's voltage is above the modules'
  limit — ``inverter_charge_limits`` (``field_failures.md`` #4, powerforum 5904: two US3000 on Axpert
  King inverters, steady red ALM on both after 2-3 days on grid float; fix: charge/float ≤ 53.2 V).
- A symptom that outlives the parts already replaced points elsewhere: after a module swap the same
  alarm at the same moment (the top of charge) is the inverter's charge settings or another module,
  not the swapped one (pv_opt#417: BMS over-voltage alarms on Solis + US2000C after three module
  returns, hours after the inverter's settings were changed remotely).
- Trouble that starts after an inverter replacement or firmware update is its settings first
  (``inverters/settings.md``; field_failures #15); trouble since modules were added is the mix first
  (field_failures #1, #2).
- Cold-weather trips are the room, not a module (field_failures #5).

How: the notes are free text, so they are read with a small, named vocabulary of cues (word stems,
:data:`TOP_OF_CHARGE_CUES` ...); a cue only *ranks* a hypothesis, it never proves one. Hypotheses are
``info`` findings (they inform the summary and the next captures, never the outcome). One pattern is
decisive enough to be a finding of its own (low confidence): every observed module in steady
protection while the story says the stack is held full and no module state was read at all — then
the charger is the first thing to change. When module states were read, the other families decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pylondiag.diagnosis import changes, cite
from pylondiag.diagnosis import confidence as C
from pylondiag.model.case import HistoryEvent, Led, Symptom
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import CaseView

# ---------------------------------------------------------------- confidence of what the story says
STORY_PATTERN_CONFIDENCE: Final = C.TENTATIVE
"""A pattern of observations and owner's words without any reading that confirms it (settings or story
alone)."""
HYPOTHESIS_CONFIDENCE: Final = C.CONJECTURE
"""A ranked hypothesis: where to look, not a conclusion."""

# ---------------------------------------------------------------- the notes' vocabulary (word stems)
TOP_OF_CHARGE_CUES: Final = (
    "float",
    "full",
    "100%",
    "99%",
    "overcharg",
    "over-volt",
    "overvolt",
    "top of charge",
)
"""Owner's words that place the trouble at the top of charge (powerforum 5904: "float"; pv_opt#417:
"near 99%", "BMS Overvoltage")."""
GRID_CHARGE_CUES: Final = ("grid", "eskom", "mains", "utility", "generator")
"""Words for charging from the grid (powerforum 5904: "on Eskom" = grid-tied, charger floating)."""
COLD_CUES: Final = ("cold", "frost", "freez", "winter", "below zero", "sub-zero")
"""Words for a cold room or season (field_failures #5)."""
HEAT_CUES: Final = ("hot ", "heat", "summer", "afternoon sun", "hot to the touch")
"""Words for heat."""
CLEARS_CUES: Final = ("clears", "goes off", "recovers", "comes back", "by itself", "on its own", "gone by")
"""Words for trouble that clears by itself (a protection that releases, not a dead part)."""
REBALANCE_DONE_CUES: Final = (
    "i rebalanced",
    "we rebalanced",
    "was rebalanced",
    "been rebalanced",
    "rebalanced it",
    "rebalanced the",
    "did a rebalanc",
    "done a rebalanc",
    "tried a rebalanc",
    "tried rebalanc",
    "already rebalanc",
    "after a rebalanc",
    "after the rebalanc",
    "after rebalanc",
    "held it at 100",
    "held at 100",
    "kept it at 100",
    "kept at 100",
)
"""Words for a rebalancing cycle already done (the seed's procedure: charge to 100 % and hold 6-8 h); not
a bare "rebalanced", which is also "needs to be rebalanced"."""

PROTECTION_LEDS: Final = frozenset({Led.RED})
"""ALM steady: a protection is active (``diagnosis.leds``: owner word red = ALM steady)."""
ALARM_LEDS: Final = frozenset({Led.RED, Led.RED_FLASHING, Led.AMBER, Led.AMBER_FLASHING})
COLD_AMBIENT_C: Final = 5.0
"""°C: an ambient at or below this makes cold the first hypothesis for a stack-wide trip (the BMS
blocks charge below 0 °C cell temperature; a room at 5 °C reaches it overnight; field_failures #5)."""


@dataclass
class Hypothesis:
    """One reading of the story: the cause it points at, why, and the capture that would confirm it."""

    code: Cause
    score: float
    why: list[str]
    confirm: str
    refs: list[EvidenceRef] = field(default_factory=list)
    module: int | None = None


def _has(text: str, cues: tuple[str, ...]) -> bool:
    low = f" {text.lower()} "
    return any(c in low for c in cues)


def _notes(view: CaseView) -> str:
    return (view.case.notes or "") if view.case else ""


def rebalance_told(view: CaseView) -> bool:
    """The owner's notes mention a rebalancing cycle already done, but ``history`` has none: the cycle
    decides rebalance vs weak cell (spec cause table), so its date is what to ask for — not a first
    rebalancing, as if none had been tried."""
    return _has(_notes(view), REBALANCE_DONE_CUES) and not view.history_of(HistoryEvent.REBALANCE_CYCLE)


def _module_states_read(view: CaseView) -> bool:
    """A module's state was read (``pwr``/``bat``/``stat``): the other families judge, not the story."""
    return bool(view.pwr or view.bat or view.pwr_detail or view.stats)


def _leds(view: CaseView) -> list[tuple[int, Led, int | None]]:
    return [(m.position, m.led, m.stack_index) for m in view.modules if m.led is not None]


def findings(view: CaseView) -> list[Finding]:
    """The story's decisive pattern (if any) and its ranked hypotheses."""
    if view.case is None:
        return []
    out: list[Finding] = []
    decisive = _stack_held_full(view)
    if decisive is not None:
        out.append(decisive)
    hyps = sorted(_hypotheses(view), key=lambda h: -h.score)
    if decisive is not None:
        hyps = [h for h in hyps if h.code != decisive.code]
    for rank, h in enumerate(hyps, start=1):
        out.append(_as_finding(h, rank, len(hyps)))
    return out


def _as_finding(h: Hypothesis, rank: int, of: int) -> Finding:
    return Finding(
        code=h.code,
        severity=FindingSeverity.INFO,
        module=h.module,
        confidence=HYPOTHESIS_CONFIDENCE,
        message=(
            f"Owner's story, hypothesis {rank} of {of}: {'; '.join(h.why)}. "
            f"What would confirm it: {h.confirm}"
        ),
        evidence=h.refs or [cite.key("notes")],
    )


# ---------------------------------------------------------------- the decisive pattern
def _stack_held_full(view: CaseView) -> Finding | None:
    """Every module seen in steady protection at once, the story placing it at the top of charge (and
    no cold cue), with no module state read: the charger holds the stack above its limit."""
    if _module_states_read(view):
        return None
    leds = _leds(view)
    if len(leds) < 2 or len(leds) != len(view.modules) or any(w not in PROTECTION_LEDS for _, w, _ in leds):
        return None
    notes = _notes(view)
    at_top = _has(notes, TOP_OF_CHARGE_CUES) or (
        Symptom.NOT_CHARGING in view.symptoms and _has(notes, GRID_CHARGE_CUES)
    )
    ambient = view.case.site.ambient_c if view.case else None
    cold = _has(notes, COLD_CUES) or (ambient is not None and ambient <= COLD_AMBIENT_C)
    if not at_top or cold:
        return None
    refs = [cite.key(f"stack[{i}].led") for _, _, i in leds if i is not None]
    refs.append(cite.key("notes"))
    refs += [cite.key(f"symptoms[{i}]") for i, s in enumerate(view.symptoms) if s == Symptom.NOT_CHARGING]
    clears = " and clears by itself when the source changes" if _has(notes, CLEARS_CUES) else ""
    return Finding(
        code=Cause.INVERTER_CHARGE_LIMITS,
        severity=FindingSeverity.FAULT,
        module=None,
        confidence=STORY_PATTERN_CONFIDENCE,
        message=(
            f"All {len(leds)} modules show a steady red ALM (protection) at the same time, and the owner's "
            f"notes place it while the charger holds the stack full{clears}. A whole stack protecting at "
            "once at the top of charge is the charger's voltage above the modules' limit, not a module "
            "fault. Fix: set the inverter's charge (bulk/absorption) and float voltage to at most 53.2 V "
            "for US modules, or let the BMS set them over the CAN/RS485 link. Confirm first: read the "
            "inverter's charge and float settings, and run `pwr` on the master while the ALM is lit "
            "(Volt.St / B.V.St 'Over' or 'High')."
        ),
        evidence=refs,
    )


# ---------------------------------------------------------------- hypotheses
def _hypotheses(view: CaseView) -> list[Hypothesis]:
    notes = _notes(view)
    out: list[Hypothesis] = []
    out += _outlived_replacement(view, notes)
    out += _since_change(view)
    out += _weather(view, notes)
    return out


def _symptom_refs(view: CaseView) -> list[EvidenceRef]:
    return [cite.key(f"symptoms[{i}]") for i in range(len(view.symptoms))]


def _outlived_replacement(view: CaseView, notes: str) -> list[Hypothesis]:
    """Trouble still reported after a module was replaced: the swapped part was not (only) the cause."""
    swaps = [(i, h) for i, h in enumerate(view.history) if h.event == HistoryEvent.MODULE_REPLACED]
    if not swaps or not (view.symptoms or notes):
        return []
    refs = [cite.key(f"history[{i}]") for i, _ in swaps] + _symptom_refs(view)
    if notes:
        refs.append(cite.key("notes"))
    n = len(swaps)
    why = [
        f"the trouble is still reported after {n} module replacement{'s' if n > 1 else ''} "
        f"(the last on {swaps[-1][1].date}): the parts already swapped were not the cause, "
        "or not the only one"
    ]
    at_top = _has(notes, TOP_OF_CHARGE_CUES)
    out = [
        Hypothesis(
            code=Cause.INVERTER_CHARGE_LIMITS,
            score=3.0 if at_top else 2.0,
            why=[
                *why,
                "a setting of the inverter outlives any module"
                + (", and it shows at the top of charge" if at_top else ""),
            ],
            confirm=(
                "the inverter's charge (bulk/absorption) and float voltage and charge current, against "
                "the modules' limits (53.2 V, 0.5 C); the inverter's event log around the alarms"
            ),
            refs=refs,
        ),
        Hypothesis(
            code=Cause.WEAK_CELL,
            score=2.5 if at_top else 1.5,
            why=[*why, "another module with a high cell reaching its limit first would give the same alarm"],
            confirm=(
                "`bat N` of every module during the final charge (the cell that reaches 3.45 V+ first), "
                "and `stat N` twice a week apart (Bat HV/OV Times rising on one module)"
            ),
            refs=refs,
        ),
    ]
    return out


def _since_change(view: CaseView) -> list[Hypothesis]:
    """Trouble since an inverter change or added modules: that change first — only a change that can
    still have started it (:mod:`~pylondiag.diagnosis.changes`: recent, and for an inverter change no
    comms failure in its log before it). A swap years ago is not what "the trouble follows"."""
    out: list[Hypothesis] = []
    if not view.symptoms:
        return out
    for c in changes.inverter_changes(view):
        out.append(
            Hypothesis(
                code=Cause.INVERTER_COMMS_CONFIG,
                score=2.5 if c.key.startswith("history") else 1.5,
                why=[f"the trouble follows the {c.words} of {c.day}"],
                confirm=(
                    "the inverter's battery type / BMS protocol / port against the brand's setting for "
                    "Pylontech, and the RS485 baud switch (ADD bit 1) if the link is RS485"
                ),
                refs=[cite.key(c.key), *_symptom_refs(view)],
            )
        )
    for i, h in enumerate(view.history):
        added = changes.Change(h.date, f"history[{i}]", "modules added", h.event)
        if h.event == HistoryEvent.MODULES_ADDED and changes.recent(view, added):
            out.append(
                Hypothesis(
                    code=Cause.MIXED_MODELS,
                    score=2.0,
                    why=[f"the trouble follows modules added on {h.date}"],
                    confirm=(
                        "`info` of every module (model and Main Soft version), and which module is the master"
                    ),
                    refs=[cite.key(f"history[{i}]"), *_symptom_refs(view)],
                )
            )
    out += [_undated(view, c) for c in changes.undated(view)]
    return out


def _undated(view: CaseView, c: changes.Change) -> Hypothesis:
    """A change in a case nothing dates: a lead only if the trouble began soon after it, which is unknown."""
    inverter = c.event in changes.INVERTER_CHANGES
    return Hypothesis(
        code=Cause.INVERTER_COMMS_CONFIG if inverter else Cause.MIXED_MODELS,
        score=1.0,
        why=[
            f"the trouble may follow the {c.words} of {c.day}, if it began soon after it (nothing in the "
            "case says when it was observed)"
        ],
        confirm=(
            "when the trouble began, then the inverter's battery type / BMS protocol / port against the "
            "brand's setting for Pylontech"
            if inverter
            else "when the trouble began, then `info` of every module (model and Main Soft version)"
        ),
        refs=[cite.key(c.key), *_symptom_refs(view)],
    )


def _weather(view: CaseView, notes: str) -> list[Hypothesis]:
    """Trouble the owner ties to cold or heat: the room first."""
    if not (view.symptoms or any(w in ALARM_LEDS for _, w, _ in _leds(view))):
        return []
    ambient = view.case.site.ambient_c if view.case else None
    out: list[Hypothesis] = []
    cold = _has(notes, COLD_CUES) or (ambient is not None and ambient <= COLD_AMBIENT_C)
    if cold:
        refs = [cite.key("notes")] if _has(notes, COLD_CUES) else [cite.key("site.ambient_c")]
        out.append(
            Hypothesis(
                code=Cause.UNDER_TEMPERATURE,
                score=2.0,
                why=[
                    "the story ties the trouble to cold"
                    if _has(notes, COLD_CUES)
                    else f"the room was at {ambient} °C"
                ],
                confirm=(
                    "`pwr` on a cold morning (Tlow, Temp.St) and the inverter log with battery temperatures"
                ),
                refs=refs,
            )
        )
    if _has(notes, HEAT_CUES):
        out.append(
            Hypothesis(
                code=Cause.OVER_TEMPERATURE,
                score=1.5,
                why=["the story ties the trouble to heat"],
                confirm="`pwr` on a hot afternoon (Thigh, MosTempr per module) and the room temperature",
                refs=[cite.key("notes")],
            )
        )
    return out
