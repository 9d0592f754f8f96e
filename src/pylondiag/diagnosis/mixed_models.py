"""Step 4d — mixed models and generations in one stack.

Facts: capacity classes should not be mixed (seed guide: "mixing US3000C with US5000 is not
recommended"); in a mixed-generation stack the newest model must be the master
(``shared/domain/hardware/panel_dip.md`` §4 rule 2 [T]).
"""

from __future__ import annotations

from collections import Counter

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.layout import generation, stack_ref
from pylondiag.diagnosis.thresholds import MODEL_CLASS, MODEL_GENERATION
from pylondiag.model.case import Role
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, ModuleView

FAULT = FindingSeverity.FAULT
WARNING = FindingSeverity.WARNING


def findings(view: CaseView) -> list[Finding]:
    """Mixed capacity classes, or an older generation as master."""
    return _mixed_models(view)


def _mixed_models(view: CaseView) -> list[Finding]:
    """Capacity classes must not be mixed (seed: 'mixing US3000C with US5000 is not recommended');
    in a mixed-generation stack the newest must be master (panel_dip.md §4 rule 2 [T])."""
    out: list[Finding] = []
    known = [m for m in view.modules if m.model and m.model in MODEL_CLASS]
    classes = Counter(MODEL_CLASS[m.model or ""] for m in known)
    if len(classes) > 1:
        top, n_top = classes.most_common(1)[0]
        master = next((m for m in known if m.role == Role.MASTER), None)
        majority = top
        if list(classes.values()).count(n_top) > 1 and master is not None:
            majority = MODEL_CLASS[master.model or ""]
        odd = [m for m in known if MODEL_CLASS[m.model or ""] != majority]
        models = ", ".join(sorted({m.model or "" for m in known}))
        for m in odd:
            ev = stack_ref(m, "model") or _info_ref(view, m)
            if not ev:
                continue
            out.append(
                Finding(
                    code=Cause.MIXED_MODELS,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.STRONG,
                    message=(
                        f"The stack mixes {models}: position {m.position} is a {m.model} "
                        f"({MODEL_CLASS[m.model or '']}) "
                        f"among {majority} modules. Modules of different capacity share current unevenly "
                        "and the "
                        "BMS's SOC and limits don't match. Fix: move position "
                        f"{m.position} to its own stack (or replace it with the stack's model) and update "
                        "the "
                        "inverter's module count and capacity."
                    ),
                    evidence=ev,
                )
            )
        return out
    gens = {MODEL_GENERATION.get(m.model or "", 0) for m in known}
    master = next((m for m in known if m.role == Role.MASTER), None)
    if len(gens) > 1 and master is not None and generation(master) < max(gens):
        newest = max(known, key=generation)
        out.append(
            Finding(
                code=Cause.MIXED_MODELS,
                severity=WARNING,
                module=master.position,
                confidence=C.FAIR,
                message=(
                    f"Mixed generations ({', '.join(sorted({m.model or '' for m in known}))}) with the older "
                    f"{master.model} at position {master.position} as master; the newest model must be the "
                    "master "
                    f"(e.g. position {newest.position}, {newest.model}). SOC differences between "
                    "generations at the "
                    "same voltage are a gauge artefact first, not a fault. Fix: make the newest module the "
                    "master."
                ),
                evidence=stack_ref(master, "model") + stack_ref(master, "role") + stack_ref(newest, "model"),
            )
        )
    return out


def _info_ref(view: CaseView, m: ModuleView) -> list[EvidenceRef]:
    for inf in view.infos:
        if inf.position == m.position:
            kv = next((f for f in inf.info.fields if f.key.strip().lower() == "device name"), None)
            return [cite.line(kv.provenance if kv else inf.info.provenance)]
    return []
