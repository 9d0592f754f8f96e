"""Step 2a — the BMS's live states: ``pwr`` (``Volt.St``, ``B.V.St``, ``Temp.St``, ``B.T.St``, ``M.T.St``,
``Curr.St``, ``SysAlarm.St``), ``pwr N`` (``System Fault``), and the module temperatures.

Facts (``hardware/console_fields.md``): state words are ``Normal`` or alarm words (``High``/``Low``) or
protect words (``Over``/``Under``/``Protect``); ``System Fault`` is a bitfield of hardware faults
(``0x0`` = none). Temperatures: the BMS blocks charging below 0 °C (field_failures.md #5 [T]); the
operating range tops out at 50 °C (specs.md [T]). Spec: one module much hotter than its neighbours at
the same current → ``on_site_check``; the whole stack hot or cold with the room → ``environment``.

Only the **latest** ``pwr`` snapshot counts as "now"; older snapshots are history (events family).
"""

from __future__ import annotations

import statistics
from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.thresholds import (
    CELL_SPREAD_FAULT_MV,
    CHARGE_BLOCK_TEMP_MC,
    COLD_WARN_TEMP_MC,
    HOT_SPOT_DELTA_MC,
    LOW_SOC_ALARM_PCT,
    MAX_CHARGE_VOLTAGE_V,
    OVER_TEMP_MC,
    SIMILAR_CURRENT_MA,
    STACK_WIDE_MIN_MODULES,
)
from pylondiag.model.case import Symptom
from pylondiag.model.console import PwrRow
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import EventQuery

KIND_CAUSE: Final[dict[EventKind, Cause]] = {
    EventKind.CELL_OVER_VOLTAGE: Cause.CELL_OVER_VOLTAGE,
    EventKind.BATTERY_OVER_VOLTAGE: Cause.CELL_OVER_VOLTAGE,
    EventKind.CELL_UNDER_VOLTAGE: Cause.CELL_UNDER_VOLTAGE,
    EventKind.BATTERY_UNDER_VOLTAGE: Cause.CELL_UNDER_VOLTAGE,
    EventKind.OVER_TEMPERATURE: Cause.OVER_TEMPERATURE,
    EventKind.UNDER_TEMPERATURE: Cause.UNDER_TEMPERATURE,
    EventKind.CHARGE_OVER_CURRENT: Cause.OVER_CURRENT,
    EventKind.DISCHARGE_OVER_CURRENT: Cause.OVER_CURRENT,
    EventKind.BMS_FAULT: Cause.BMS_HARDWARE_FAULT,
}
"""BatteryEvent kind → spec cause code (shared by the events family)."""

_STACK_WIDE: Final = frozenset({Cause.OVER_TEMPERATURE, Cause.UNDER_TEMPERATURE})

_MEANING: Final[dict[Cause, str]] = {
    Cause.CELL_OVER_VOLTAGE: "over-voltage",
    Cause.CELL_UNDER_VOLTAGE: "under-voltage",
    Cause.OVER_TEMPERATURE: "over-temperature",
    Cause.UNDER_TEMPERATURE: "low temperature",
    Cause.OVER_CURRENT: "over-current",
    Cause.BMS_HARDWARE_FAULT: "BMS fault",
}


def findings(view: CaseView) -> list[Finding]:
    out = _state_findings(view)
    out += _temperature_findings(view, already={(f.code, f.module) for f in out})
    out += _ambient(view, already={f.code for f in out})
    return out


_BMS: Final = EventQuery(origin="bms")


def _now_events(view: CaseView) -> list[BatteryEvent]:
    """BMS events that come from the latest ``pwr`` snapshot and the ``pwr N`` details."""
    snap = view.latest_pwr()
    lines = {(snap.source, r.line) for r in snap.present_rows()} if snap else set()
    lines |= {(d.source, kv.line) for d in view.pwr_detail for kv in d.detail.fields}
    lines |= {(d.source, d.detail.provenance.line) for d in view.pwr_detail}
    # one set, built once (the union in the condition was rebuilt for every event: a 19 MB console
    # capture with 1,658 pwr N details spent ~5 s here)
    bms = view.events.where(_BMS)
    return [e for e in bms if (e.provenance.source, e.provenance.line) in lines]


def _state_findings(view: CaseView) -> list[Finding]:
    groups: dict[tuple[Cause, int | None], list[BatteryEvent]] = {}
    for e in _now_events(view):
        cause = KIND_CAUSE.get(e.kind)
        if cause is None:
            continue
        groups.setdefault((cause, view.position_of(e.module_address)), []).append(e)
    n_present = len(view.latest_pwr().present_rows()) if view.latest_pwr() else 0  # type: ignore[union-attr]
    out: list[Finding] = []
    by_cause: dict[Cause, list[int | None]] = {}
    for (cause, pos), _ in groups.items():
        by_cause.setdefault(cause, []).append(pos)
    done_stack: set[Cause] = set()
    for (cause, pos), evs in sorted(groups.items(), key=lambda kv: (kv[0][0].value, kv[0][1] or 0)):
        fault = any(e.severity == Severity.FAULT for e in evs)
        if cause == Cause.UNDER_TEMPERATURE and (Symptom.NOT_CHARGING in view.symptoms or _below_zero(view)):
            fault = True  # charging is blocked: the cold is acting now (field_failures.md #5)
        stack_wide = cause in _STACK_WIDE and _stack_wide(len(by_cause[cause]), n_present)
        if stack_wide:
            fault = True  # most of the stack at once: the surroundings act on it now (spec: environment)
            if cause in done_stack:
                continue
            done_stack.add(cause)
            all_evs = [e for (c, _p), es in groups.items() if c == cause for e in es]
            out.append(
                Finding(
                    code=cause,
                    severity=FindingSeverity.FAULT if fault else FindingSeverity.WARNING,
                    module=None,
                    confidence=C.LIKELY,
                    message=(
                        f"{len(by_cause[cause])} of {n_present} modules report {_MEANING[cause]} at once "
                        f"({', '.join(sorted({e.code or '' for e in all_evs}))}): the whole stack follows "
                        "its surroundings, not one faulty module."
                        + (
                            " Fix: insulate or heat the battery location to keep it above about 5 °C; don't "
                            "force-charge a cold battery."
                            if cause == Cause.UNDER_TEMPERATURE
                            else " Fix: ventilate or shade the battery location; keep it below about 30 °C."
                        )
                    ),
                    evidence=cite.distinct_lines([e.provenance for e in all_evs]),
                )
            )
            continue
        words = ", ".join(sorted({e.code or "" for e in evs}))
        level = "protection (a path is blocked)" if fault else "alarm"
        addr = evs[0].module_address
        severity = FindingSeverity.FAULT if fault else FindingSeverity.WARNING
        message = f"The BMS of address {addr} reports {_MEANING[cause]} {level} now: {words}."
        if len(by_cause[cause]) == 1 and n_present > 1:
            message += " Its neighbours do not, so it is this module."
        confidence = C.STRONG if fault else C.FAIR
        if cause == Cause.CELL_OVER_VOLTAGE:
            spread = _cell_spread(view, addr)
            limits = _charge_voltage_too_high(view)
            if spread is not None and spread <= CELL_SPREAD_FAULT_MV and not limits:
                severity, confidence = FindingSeverity.INFO, C.FAIR
                message += (
                    f" Its cells are balanced ({spread} mV from lowest to highest), so this is the BMS "
                    "ending the "
                    "charge at the top, not a cell fault; it only matters if it repeats often (then check "
                    "the "
                    f"inverter's charge voltage is at most {MAX_CHARGE_VOLTAGE_V:g} V)."
                )
            elif spread is not None and spread > CELL_SPREAD_FAULT_MV:
                message += (
                    f" Its cells are {spread} mV apart: a high cell reaches the limit first while the "
                    "others are "
                    "still low, the top-end imbalance that rebalancing corrects."
                )
        if cause == Cause.CELL_UNDER_VOLTAGE and not fault:
            soc = _soc(view, addr)
            if soc is not None and soc <= LOW_SOC_ALARM_PCT:
                severity, confidence = FindingSeverity.INFO, C.FAIR
                message += (
                    f" At {soc} % SOC this is the BMS's low-voltage alarm near the end of discharge, not a "
                    "cell "
                    "fault; it matters only if it comes with protection (Under) or at higher SOC."
                )
        if pos is None:
            severity = FindingSeverity.INFO  # no position: named in the message, never a stack-level verdict
            message += " (Its position in the stack is not known: see the evidence gaps.)"
        out.append(
            Finding(
                code=cause,
                severity=severity,
                module=pos,
                confidence=confidence,
                message=message,
                evidence=[cite.line(e.provenance) for e in evs[:4]],
            )
        )
    return out


def _cell_spread(view: CaseView, address: int | None) -> int | None:
    """mV between the module's lowest and highest cell now: ``pwr`` Vlow/Vhigh, else its latest ``bat``."""
    snap = view.latest_pwr()
    if snap is not None:
        for r in snap.present_rows():
            if (
                r.address == address
                and r.cell_voltage_high_mv is not None
                and r.cell_voltage_low_mv is not None
            ):
                return r.cell_voltage_high_mv - r.cell_voltage_low_mv
    for b in reversed(view.bat):
        if b.address == address:
            volts = [c.voltage_mv for c in b.table.cells if c.voltage_mv is not None]
            if len(volts) >= 2:
                return max(volts) - min(volts)
    return None


def _soc(view: CaseView, address: int | None) -> int | None:
    snap = view.latest_pwr()
    for r in snap.present_rows() if snap else []:
        if r.address == address:
            return r.soc_pct
    return None


def _charge_voltage_too_high(view: CaseView) -> bool:
    inv = view.inverter
    return bool(inv and inv.charge_voltage_v is not None and inv.charge_voltage_v > MAX_CHARGE_VOLTAGE_V)


def _below_zero(view: CaseView) -> bool:
    snap = view.latest_pwr()
    rows = snap.present_rows() if snap else []
    return any(r.cell_temp_low_mc is not None and r.cell_temp_low_mc < CHARGE_BLOCK_TEMP_MC for r in rows)


def _stack_wide(n_hit: int, n_present: int) -> bool:
    """Enough modules at once that the surroundings, not one module, explain it (at least
    ``STACK_WIDE_MIN_MODULES`` and at least half of those present)."""
    return n_hit >= STACK_WIDE_MIN_MODULES and n_hit * 2 >= n_present


def _temp(row: PwrRow) -> int | None:
    vals = [v for v in (row.cell_temp_high_mc, row.temperature_mc) if v is not None]
    return max(vals) if vals else None


def _temperature_findings(view: CaseView, already: set[tuple[Cause, int | None]]) -> list[Finding]:
    snap = view.latest_pwr()
    if snap is None:
        return []
    rows = [r for r in snap.present_rows() if _temp(r) is not None]
    out: list[Finding] = []
    hot = [r for r in rows if (_temp(r) or 0) >= OVER_TEMP_MC]
    if _stack_wide(len(hot), len(rows)) and (Cause.OVER_TEMPERATURE, None) not in already:
        out.append(
            Finding(
                code=Cause.OVER_TEMPERATURE,
                severity=FindingSeverity.FAULT,
                module=None,
                confidence=C.PROBABLE,
                message=(
                    f"{len(hot)} of {len(rows)} modules are at or above {OVER_TEMP_MC // 1000} °C "
                    f"(up to {max(_temp(r) or 0 for r in hot) / 1000:.1f} °C): the stack is hot with its "
                    "room. "
                    "Fix: ventilate or shade the battery location; keep it below about 30 °C."
                ),
                evidence=cite.distinct_lines([r.provenance for r in hot]),
            )
        )
    elif len(rows) >= 2:
        for r in rows:
            others = [_temp(o) or 0 for o in rows if o is not r]
            med = statistics.median(others)
            t = _temp(r) or 0
            pos = view.position_of(r.address)
            hot_spot = t - med >= HOT_SPOT_DELTA_MC and pos is not None
            if hot_spot and ((Cause.OVER_TEMPERATURE, pos) not in already or t >= OVER_TEMP_MC):
                currents = [abs(o.current_ma or 0) for o in rows]
                out.append(
                    Finding(
                        code=Cause.OVER_TEMPERATURE,
                        severity=FindingSeverity.FAULT if t >= OVER_TEMP_MC else FindingSeverity.WARNING,
                        module=pos,
                        confidence=C.PROBABLE
                        if max(currents) - min(currents) < SIMILAR_CURRENT_MA
                        else C.EVEN,
                        message=(
                            f"Address {r.address} is at {t / 1000:.1f} °C while its neighbours sit around "
                            f"{med / 1000:.1f} °C at similar current: one module much hotter than the rest "
                            "points "
                            "at that module (a loose terminal, blocked airflow, or a failing cell or BMS), "
                            "not the room."
                        ),
                        evidence=[cite.line(r.provenance)],
                    )
                )
    cold = [
        r
        for r in snap.present_rows()
        if r.cell_temp_low_mc is not None and r.cell_temp_low_mc < COLD_WARN_TEMP_MC
    ]
    if (
        cold
        and (Cause.UNDER_TEMPERATURE, None) not in already
        and not any(c == Cause.UNDER_TEMPERATURE for c, _ in already)
    ):
        coldest = min(r.cell_temp_low_mc or 0 for r in cold)
        blocked = coldest < CHARGE_BLOCK_TEMP_MC
        symptom = Symptom.NOT_CHARGING in view.symptoms
        out.append(
            Finding(
                code=Cause.UNDER_TEMPERATURE,
                severity=FindingSeverity.FAULT if blocked or symptom else FindingSeverity.WARNING,
                module=None
                if _stack_wide(len(cold), len(snap.present_rows()))
                else view.position_of(cold[0].address),
                confidence=C.STRONG if blocked else C.TENTATIVE,
                message=(
                    f"Cells are at {coldest / 1000:.1f} °C (lowest Tlow in `pwr`, {len(cold)} module(s)): "
                    + (
                        "below 0 °C the BMS blocks charging (charge current limit 0 A). "
                        if blocked
                        else "close to 0 °C the BMS reduces and then blocks charging. "
                    )
                    + "Fix: keep the battery location above about 5 °C (insulate or heat it); don't "
                    "force-charge."
                ),
                evidence=cite.distinct_lines([r.provenance for r in cold]),
            )
        )
    return out


def _ambient(view: CaseView, already: set[Cause]) -> list[Finding]:
    """``site.ambient_c`` and the owner's symptoms, when the console says nothing about temperature."""
    if view.case is None or view.case.site.ambient_c is None:
        return []
    amb = view.case.site.ambient_c
    out: list[Finding] = []
    if amb < CHARGE_BLOCK_TEMP_MC / 1000 + 0.001 and Cause.UNDER_TEMPERATURE not in already:
        refs = [cite.key("site.ambient_c")]
        if Symptom.NOT_CHARGING in view.symptoms:
            refs.append(cite.key("symptoms"))
        out.append(
            Finding(
                code=Cause.UNDER_TEMPERATURE,
                severity=FindingSeverity.FAULT
                if Symptom.NOT_CHARGING in view.symptoms
                else FindingSeverity.WARNING,
                module=None,
                confidence=C.REASONABLE,
                message=(
                    f"The ambient temperature at the stack was {amb:g} °C: at or below 0 °C the BMS blocks "
                    "charging "
                    "to protect the cells. Fix: insulate or heat the battery location to keep it above "
                    "about 5 °C."
                ),
                evidence=refs,
            )
        )
    elif amb >= OVER_TEMP_MC / 1000 - 10 and Cause.OVER_TEMPERATURE not in already:
        out.append(
            Finding(
                code=Cause.OVER_TEMPERATURE,
                severity=FindingSeverity.WARNING,
                module=None,
                confidence=C.EVEN,
                message=(
                    f"The ambient temperature at the stack was {amb:g} °C: near the top of the operating "
                    "range. "
                    "Fix: ventilate or shade the battery location."
                ),
                evidence=[cite.key("site.ambient_c")],
            )
        )
    return out
