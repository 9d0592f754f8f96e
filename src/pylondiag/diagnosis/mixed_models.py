"""Step 4d — mixed models and firmware in one stack (spec: ``mixed_models`` is defined by its conditions).

Pylontech lets generations and capacities share a stack on conditions; the facts this family rests on:

- **The newest / largest model (or firmware) is the master.** Pylontech support, relayed by an owner:
  US3000C and US3000D run in parallel, the D must be the master (OpenDTU-OnBattery discussion 2694
  [T]); Pylontech itself replaces failed US2000C modules with US2000D ones that become the master of
  the remaining C modules (hidaba/PylontechMonitoring issue 10 [T]); the manual's rule as quoted in
  hidaba issue 7 and Frankkkkk/python-pylontech issue 2 ("always use the US3000 as master")
  (``shared/domain/hardware/panel_dip.md`` §4 rule 2 [T]). An older master reads a mixed stack wrongly
  or not at all (``field_failures.md`` #2 [M]).
- **Firmware must be compatible between modules.** A US2000C added to US2000B Plus modules gave
  "Internal Failure" alarms until the firmware was updated with Pylontech's BatteryView, which picks the
  right image (``field_failures.md`` #1 [M]); Sofar's ID183 "BMS version inconsistency" names the same
  state from the inverter side (``inverters/codes_sofar.md``). Differing ``info`` Main Soft versions alone
  are a note.
- **Per-module SOC differences between generations at equal voltage are a gauge artefact first**, not
  a fault (``field_failures.md`` #2; irekzielinski/Pylontech-Battery-Monitoring issue 32 [T]).

So: a mix that meets these conditions and shows no trouble is an ``info`` note; a mix with an older
master, or firmware that differs *and* trouble (BMS faults or comms alarms, the inverter's version
alarm), or trouble that starts after modules were added, is ``mixed_models`` (reconfigure) with the
specific fix. Replacement advice stays "the same model as the stack" (seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pylondiag.diagnosis import changes, cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.layout import generation, stack_ref
from pylondiag.diagnosis.thresholds import (
    MIX_EQUAL_VOLTAGE_MV,
    MIX_SOC_GAP_PCT,
    MODEL_CAPACITY_AH,
    MODEL_CLASS,
)
from pylondiag.model.case import HistoryEvent, Role, Symptom
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind
from pylondiag.model.stack import CaseView, ModuleView
from pylondiag.model.timeline import EventQuery, EventRows

FAULT = FindingSeverity.FAULT
INFO = FindingSeverity.INFO

TROUBLE_KINDS = frozenset({EventKind.BMS_FAULT, EventKind.BMS_PROTECTION, EventKind.BMS_COMMS_LOST})
"""Events that a firmware or master mismatch produces: internal failure / BMS fault, protection, lost
communication (``field_failures.md`` #1, #2)."""

TROUBLE_SYMPTOMS = frozenset(
    {Symptom.BMS_COMMS_ALARM, Symptom.INTERMITTENT_TRIPS, Symptom.WHOLE_BANK_SHUTDOWN}
)
"""Owner's reports that a working mix does not give (``soc_jumps`` is left out: a gauge artefact first)."""

VERSION_WORDS = ("version", "inconsisten")
"""Words of an inverter alarm about BMS firmware versions (Sofar ID183 "BMS version inconsistency")."""


def findings(view: CaseView) -> list[Finding]:
    """The master rule, then firmware, then trouble after an added module; a working mix is a note."""
    known = [m for m in view.modules if m.model and m.model in MODEL_CLASS]
    models = sorted({m.model or "" for m in known})
    firmwares = _firmwares(view)
    if len(models) < 2 and len(set(firmwares.values())) < 2:
        return []
    master = _master(view, known)
    if len(models) > 1 and master is not None:
        wrong = _older_master(view, known, master)
        if wrong:
            return wrong
    trouble = _trouble(view)
    if len(set(firmwares.values())) > 1 and trouble:
        return [_firmware_mismatch(view, firmwares, trouble)]
    added = _added_after(view, trouble)
    if added is not None:
        return [added]
    return [_working_mix(view, known, models, firmwares, troubled=bool(trouble) or _trouble_symptoms(view))]


def _trouble_symptoms(view: CaseView) -> bool:
    return any(s in TROUBLE_SYMPTOMS for s in view.symptoms)


def _master(view: CaseView, known: list[ModuleView]) -> ModuleView | None:
    """The master: by role in ``case.yaml``; else the module at BMS address 1 (the master numbers itself
    1, ``panel_dip.md`` §3); else the module whose console the ``pwr`` was read on."""
    by_role = next((m for m in known if m.role == Role.MASTER), None)
    if by_role is not None:
        return by_role
    if any(m.role == Role.MASTER for m in view.modules):
        return None  # the master's model is not known
    first = view.position_of(1)
    if first is None:
        snap = view.latest_pwr()
        first = view.console_positions.get(snap.source) if snap is not None else None
    return next((m for m in known if m.position == first), None)


def _rank(m: ModuleView) -> tuple[int, float]:
    """Newest, then largest: the module Pylontech wants as master."""
    return generation(m), MODEL_CAPACITY_AH.get(m.model or "", 0.0)


def _older_master(view: CaseView, known: list[ModuleView], master: ModuleView) -> list[Finding]:
    best = max(_rank(m) for m in known)
    if _rank(master) >= best:
        return []
    # the best-ranked module nearest the old master: the fewest cables to move
    newest = min(
        (m for m in known if _rank(m) == best), key=lambda m: (abs(m.position - master.position), m.position)
    )
    models = ", ".join(sorted({m.model or "" for m in known}))
    return [
        Finding(
            code=Cause.MIXED_MODELS,
            severity=FAULT,
            module=newest.position,
            confidence=C.FIRM,
            message=(
                f"The stack mixes {models} with the older {master.model} at position {master.position} as "
                f"master; Pylontech runs such a mix only with the newest / largest module as master (here "
                f"position {newest.position}, {newest.model}). An older master reads the newer modules "
                "wrongly. Per-module SOC differences between the models at the same voltage are a gauge "
                f"artefact, not a fault. Fix: make position {newest.position} the master: with the stack "
                f"off, move the inverter's CAN/RS485 cable to position {newest.position}, leave its Link "
                "Port 0 empty and chain the other modules from its Link Port 1; then start the stack from "
                "it."
            ),
            evidence=_model_refs(view, [master]) + stack_ref(master, "role") + _model_refs(view, [newest]),
        )
    ]


def _firmwares(view: CaseView) -> dict[int, str]:
    """Position → ``info`` Main Soft version (the latest reading of each module)."""
    out: dict[int, str] = {}
    for inf in view.infos:
        if inf.position is not None and inf.info.main_soft_version:
            out[inf.position] = inf.info.main_soft_version.strip()
    return out


def _trouble(view: CaseView) -> EventRows:
    """Events a firmware or master mismatch produces."""
    return view.events.where(EventQuery(kinds=TROUBLE_KINDS), EventQuery(text=_version_alarm))


def _version_alarm(_code: str | None, text: str) -> bool:
    """The message is about BMS firmware versions (:data:`VERSION_WORDS`)."""
    return any(w in text.lower() for w in VERSION_WORDS)


def _version_key(v: str) -> tuple[int, ...]:
    """``B67.5.0`` → (67, 5, 0); ``V2.8`` → (2, 8): numbers compared in order."""
    nums: list[int] = []
    cur = ""
    for ch in v:
        if ch.isdigit():
            cur += ch
        elif cur:
            nums.append(int(cur))
            cur = ""
    if cur:
        nums.append(int(cur))
    return tuple(nums)


def _firmware_mismatch(view: CaseView, firmwares: dict[int, str], trouble: EventRows) -> Finding:
    newest = max(firmwares.values(), key=_version_key)
    older = sorted(p for p, v in firmwares.items() if v != newest)
    listing = ", ".join(f"position {p}: {v}" for p, v in sorted(firmwares.items()))
    refs = [_info_ref(view, p) for p in sorted(firmwares)]
    module = older[0] if len(older) == 1 else None
    where = f"position {older[0]}" if len(older) == 1 else f"positions {', '.join(map(str, older))}"
    return Finding(
        code=Cause.MIXED_MODELS,
        severity=FAULT,
        module=module,
        confidence=C.LIKELY,
        message=(
            f"The modules run different firmware ({listing}) and the case shows the trouble a firmware "
            f"mismatch gives ({_trouble_words(trouble)}). Fix: update {where} to firmware compatible with "
            f"{newest} using Pylontech's BatteryView (it picks the right image for each model), one module "
            "at a time and fully charged; do not interrupt an update."
        ),
        evidence=[r for r in refs if r is not None] + [cite.line(e.provenance) for e in trouble[:3]],
    )


def _mix_date(view: CaseView) -> tuple[date, int] | None:
    """The latest history entry that changed the stack's members: (date, its index)."""
    hits = [
        (h.date, i)
        for i, h in enumerate(view.history)
        if h.event in (HistoryEvent.MODULES_ADDED, HistoryEvent.MODULE_REPLACED)
    ]
    return max(hits) if hits else None


def _added_after(view: CaseView, trouble: EventRows) -> Finding | None:
    """Trouble that starts after modules were added to a mixed stack (spec: trouble that follows the mix).

    Only trouble that can have started with the change: the change is recent
    (:func:`~pylondiag.diagnosis.changes.recent`: a module added years ago, the stack working since, is
    not what "the trouble follows") and no such trouble is in the evidence before the change's day (the
    same alarms logged before it were not started by it). Found by perturbing the cold-mornings example:
    modules added in the middle of a month of cold-morning comms trips, or in 2021, gave "the trouble
    started after modules were added" and reconfigure over the thermal pattern.
    """
    mix = _mix_date(view)
    if mix is None:
        return None
    when, idx = mix
    if not changes.recent(
        view, changes.Change(when, f"history[{idx}]", "modules added", view.history[idx].event)
    ):
        return None
    if trouble and trouble.before(datetime(when.year, when.month, when.day, tzinfo=ZoneInfo(view.timezone))):
        return None  # the same trouble is logged before the change
    after = trouble.since_day(when)
    symptoms = [s for s in view.symptoms if s in TROUBLE_SYMPTOMS]
    if not after and not symptoms:
        return None
    refs: list[EvidenceRef] = [cite.key(f"history[{idx}]")]
    refs += [cite.line(e.provenance) for e in after[:3]]
    if symptoms:
        refs.append(cite.key("symptoms"))
    seen = _trouble_words(after) if after else ", ".join(s.value.replace("_", " ") for s in symptoms)
    return Finding(
        code=Cause.MIXED_MODELS,
        severity=FAULT,
        module=None,
        confidence=C.FAIR,
        message=(
            f"The trouble ({seen}) started after modules were added on {when} to a stack of mixed models. "
            "Fix: capture `info N` of every module and bring all to compatible firmware with Pylontech's "
            "BatteryView; charge each module to 100 % on its own before paralleling again (modules within "
            "about 2 % SOC), keep the newest module as master, and set the inverter's module count and "
            "capacity to the new stack."
        ),
        evidence=refs,
    )


def _working_mix(
    view: CaseView,
    known: list[ModuleView],
    models: list[str],
    firmwares: dict[int, str],
    troubled: bool = False,
) -> Finding:
    """A mix that meets the conditions and shows no trouble: a note, never a verdict."""
    what = (
        f"models {', '.join(models)}"
        if len(models) > 1
        else "firmware versions " + ", ".join(sorted(set(firmwares.values())))
    )
    refs = _model_refs(view, known)[:4]
    refs += [r for p in sorted(firmwares) if (r := _info_ref(view, p)) is not None][:4]
    drift, drift_refs = _gauge_drift(view)
    return Finding(
        code=Cause.MIXED_MODELS,
        severity=INFO,
        module=None,
        confidence=C.FAIR,
        message=(
            f"The stack mixes {what}; with the newest module as master"
            f"{' (nothing in the evidence ties the alarms to the mix)' if troubled else ' and no alarms'} "
            "this is a mix Pylontech supports, not a fault. Per-module SOC differences between models at the "
            f"same voltage are a gauge artefact.{drift} A replacement module should be the stack's own model."
        ),
        evidence=refs + drift_refs,
    )


def _gauge_drift(view: CaseView) -> tuple[str, list[EvidenceRef]]:
    """The SOC gap at one voltage in the latest ``pwr`` (field_failures.md #2), said with its figures; it
    answers the owner's ``soc_jumps`` (the reading shows the jump is the gauge, not the cells)."""
    snap = view.latest_pwr()
    rows = [r for r in snap.present_rows() if r.soc_pct is not None and r.voltage_mv] if snap else []
    if len(rows) < 2:
        return "", []
    lo = min(rows, key=lambda r: r.soc_pct or 0)
    hi = max(rows, key=lambda r: r.soc_pct or 0)
    volts = [r.voltage_mv or 0 for r in rows]
    gap = (hi.soc_pct or 0) - (lo.soc_pct or 0)
    if gap < MIX_SOC_GAP_PCT or max(volts) - min(volts) > MIX_EQUAL_VOLTAGE_MV:
        return "", []
    text = (
        f" Here address {lo.address} shows {lo.soc_pct} % and address {hi.address} {hi.soc_pct} % with every "
        f"module at {min(volts) / 1000:.2f}-{max(volts) / 1000:.2f} V: that gap is the gauge, not the cells"
    )
    refs = [cite.line(lo.provenance), cite.line(hi.provenance)]
    if Symptom.SOC_JUMPS in view.symptoms:
        text += " — it is the SOC jump reported; it closes when the stack reaches the top of charge"
        refs.append(cite.key("symptoms"))
    return text + ".", refs


def _trouble_words(events: Sequence[BatteryEvent]) -> str:
    return ", ".join(dict.fromkeys((e.text or e.code or e.kind.value) for e in events[:3]))


def _info_ref(view: CaseView, position: int, key: str = "main soft version") -> EvidenceRef | None:
    """The line of ``key`` in the module's ``info`` (its first line when the key is not printed)."""
    for inf in view.infos:
        if inf.position == position:
            kv = next((f for f in inf.info.fields if f.key.strip().lower() == key), None)
            return cite.line(kv.provenance if kv else inf.info.provenance)
    return None


def _model_refs(view: CaseView, modules: list[ModuleView]) -> list[EvidenceRef]:
    """Where each module's model is written: its ``case.yaml`` entry, else its ``info`` Device name."""
    out: list[EvidenceRef] = []
    for m in modules:
        refs = stack_ref(m, "model")
        if not refs and (r := _info_ref(view, m.position, "device name")) is not None:
            refs = [r]
        out += refs
    return out
