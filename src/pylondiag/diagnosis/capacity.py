"""Capacity fade from the BMS's own SOH (``stat`` → ``SOH``, ``pwr N`` → ``Soh. Status``, ``soh N``).

Facts (``hardware/console_fields.md``; ``hardware/field_failures.md`` #11-#12; SIMP [T]): ``stat`` SOH
is the BMS's lifetime estimate, 99-100 normal, **0 = the BMS has declared end of life**; ``Soh. Status
Abnormal`` is a live SOH alarm — treat as failed regardless of other metrics. Spec: capacity_fade is
``monitor`` while SOH ≥ 70 %, ``replace`` below that. Healthy US2000C seen at SOH 93 (HRAB [C]).
"""

from __future__ import annotations

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.thresholds import SOH_MONITOR_PCT, SOH_REPLACE_PCT
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, StatReading


def _soh_ref(st: StatReading, label: str = "SOH") -> list[EvidenceRef]:
    line = st.stat.lines.get(label)
    if line is None:
        return [cite.line(st.stat.provenance)]
    return [cite.at(st.source, line, label)]  # the label: spacing around the value varies by firmware


def _cycles(st: StatReading) -> str:
    c = st.stat.cycle_count
    return f" after {c} full cycles" if c else ""


def findings(view: CaseView) -> list[Finding]:
    out: list[Finding] = []
    latest: dict[int, StatReading] = {}
    for st in view.stats:
        if st.position is not None:
            latest[st.position] = st
    for pos, st in sorted(latest.items()):
        soh = st.stat.soh_pct
        source_label = "SOH"
        if soh is None and "Pwr Percent" in st.stat.counters:
            # older firmware (US2KBPL B66.6) prints no SOH; Pwr Percent tracks it (94 vs SOH 93, HRAB [C])
            soh, source_label = st.stat.counters["Pwr Percent"], "Pwr Percent"
        if soh is None:
            continue
        if soh < SOH_REPLACE_PCT:
            eol = " — 0 means the BMS has declared end of life" if soh == 0 else ""
            out.append(
                Finding(
                    code=Cause.CAPACITY_FADE,
                    severity=FindingSeverity.FAULT,
                    module=pos,
                    confidence=C.FIRM,
                    message=(
                        f"The BMS reports {source_label} {soh} %{_cycles(st)}{eol}: below the "
                        f"{SOH_REPLACE_PCT} % at "
                        "which a "
                        "module no longer keeps up with the stack and is replaced."
                    ),
                    evidence=_soh_ref(st, source_label),
                )
            )
        elif soh < SOH_MONITOR_PCT:
            out.append(
                Finding(
                    code=Cause.CAPACITY_FADE,
                    severity=FindingSeverity.WARNING,
                    module=pos,
                    confidence=C.PROBABLE,
                    message=(
                        f"The BMS reports {source_label} {soh} %{_cycles(st)}: faded but above the "
                        f"{SOH_REPLACE_PCT} % "
                        "replacement "
                        "point; watch it at each check."
                    ),
                    evidence=_soh_ref(st, source_label),
                )
            )
    for d in view.pwr_detail:
        if d.position is None or (d.detail.soh_status or "").strip().lower() != "abnormal":
            continue
        kv = next((f for f in d.detail.fields if f.key.strip().lower().startswith("soh")), None)
        out.append(
            Finding(
                code=Cause.CAPACITY_FADE,
                severity=FindingSeverity.FAULT,
                module=d.position,
                confidence=C.STRONG,
                message=(
                    f"`pwr {d.address}` shows Soh. Status Abnormal: the BMS has an active state-of-health "
                    "alarm for this "
                    "module, which is treated as failed regardless of the other readings."
                ),
                evidence=[cite.line(kv.provenance if kv else d.detail.provenance)],
            )
        )
    for s in view.soh:
        if s.position is None:
            continue
        bad = [c for c in s.table.cells if (c.soh_status or "").strip().lower() == "abnormal"]
        if bad:
            out.append(
                Finding(
                    code=Cause.CAPACITY_FADE,
                    severity=FindingSeverity.WARNING,
                    module=s.position,
                    confidence=C.FAIR,
                    message=(
                        f"`soh` marks cell{'s' if len(bad) > 1 else ''} "
                        f"{', '.join(str(c.cell) for c in bad)} Abnormal "
                        f"(SOHCount {', '.join(str(c.soh_count) for c in bad)}): the BMS has logged "
                        "capacity-loss "
                        "events on that cell."
                    ),
                    evidence=[cite.line(c.provenance) for c in bad[:3]],
                )
            )
    return out
