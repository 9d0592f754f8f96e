"""Step 2b — history: ``stat`` lifetime counters, the BMS event log, and which module tripped first.

Facts (``hardware/console_fields.md``; ``field_failures.md`` #3, #9, #10): ``stat`` counters are
**lifetime** totals — a healthy US2000C shows ``Bat HV 25``, ``Pwr OV 21``, ``Shut 3256`` (HRAB [C]),
so a non-zero count alone is not a fault. What matters is a counter that **rises** between two
readings (the protection is active now: "Bat HV/OV counters climb"), or one module far above its
neighbours (the odd one out). ``BMICERR Times`` counts battery-monitor-IC errors: a hardware
indicator. When the whole bank shut down, the module whose protection event comes first is the one
that tripped it (seed guide: one module's trip can shut down the whole bank).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.bms_states import KIND_CAUSE
from pylondiag.diagnosis.thresholds import (
    CELL_SPREAD_FAULT_MV,
    COUNTER_RISE_MIN,
    ENVELOPE_MIN_CELL_MV,
    ENVELOPE_MIN_SOC_PCT,
    LIFETIME_CELL_HV_PER_CYCLE_WARN,
    LIFETIME_CELL_OV_WARN,
    LIFETIME_MIN_CYCLES,
    LIFETIME_SC_WARN,
)
from pylondiag.model.case import Symptom
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.model.stack import CaseView, StatReading
from pylondiag.model.timeline import EventQuery, EventRows

PROTECT_COUNTERS: Final[dict[str, tuple[Cause, FindingSeverity]]] = {
    "Bat OV Times": (Cause.CELL_OVER_VOLTAGE, FindingSeverity.FAULT),
    "Pwr OV Times": (Cause.CELL_OVER_VOLTAGE, FindingSeverity.WARNING),
    "Bat UV Times": (Cause.CELL_UNDER_VOLTAGE, FindingSeverity.FAULT),
    "Pwr UV Times": (Cause.CELL_UNDER_VOLTAGE, FindingSeverity.FAULT),
    "COT Times": (Cause.OVER_TEMPERATURE, FindingSeverity.WARNING),
    "DOT Times": (Cause.OVER_TEMPERATURE, FindingSeverity.WARNING),
    "CUT Times": (Cause.UNDER_TEMPERATURE, FindingSeverity.WARNING),
    "DUT Times": (Cause.UNDER_TEMPERATURE, FindingSeverity.WARNING),
    "COC Times": (Cause.OVER_CURRENT, FindingSeverity.WARNING),
    "DOC Times": (Cause.OVER_CURRENT, FindingSeverity.WARNING),
    "COC2 Times": (Cause.OVER_CURRENT, FindingSeverity.WARNING),
    "DOC2 Times": (Cause.OVER_CURRENT, FindingSeverity.WARNING),
    "SC Times": (Cause.OVER_CURRENT, FindingSeverity.WARNING),
    "BMICERR Times": (Cause.BMS_HARDWARE_FAULT, FindingSeverity.FAULT),
}
"""Protection counters of ``stat`` → (cause, severity when the counter rises between readings)."""

ODD_ONE_OUT_MIN: Final = 10
"""Counts: a module's lifetime protect counter at least this high ..."""
ODD_ONE_OUT_FACTOR: Final = 5
"""... and this many times the highest of the other modules (≥ 3 modules read) is the odd one out."""


def findings(view: CaseView) -> list[Finding]:
    out = _rising(view)
    out += _odd_one_out(view, {(f.code, f.module) for f in out})
    out += _bmic_single(view, {(f.code, f.module) for f in out})
    out += _lifetime_single(view, {(f.code, f.module) for f in out})
    out += _first_trip(view)
    out += _log_protections(view, {(f.code, f.module) for f in out})
    return out


def _ref(st: StatReading, label: str) -> EvidenceRef:
    line = st.stat.lines.get(label)
    value = st.stat.counters.get(label)
    if line is None:
        return cite.line(st.stat.provenance)
    del value  # the label is quoted: spacing around the value varies by firmware
    return cite.at(st.source, line, label)


def _stat_series(view: CaseView) -> dict[int, list[StatReading]]:
    """Each module's ``stat`` readings, oldest first, by position (unmapped readings left out)."""
    by_pos: dict[int, list[StatReading]] = {}
    for st in view.stats:
        if st.position is not None:
            by_pos.setdefault(st.position, []).append(st)
    return dict(sorted(by_pos.items()))


def _rising(view: CaseView) -> list[Finding]:
    out: list[Finding] = []
    for pos, series in _stat_series(view).items():
        if len(series) < 2:
            continue
        first, last = series[0], series[-1]
        for label, (cause, sev) in PROTECT_COUNTERS.items():
            a, b = first.stat.counters.get(label), last.stat.counters.get(label)
            if a is None or b is None or b - a < COUNTER_RISE_MIN:
                continue
            out.append(
                Finding(
                    code=cause,
                    severity=sev,
                    module=pos,
                    confidence=C.LIKELY if sev == FindingSeverity.FAULT else C.FAIR,
                    message=(
                        f"`stat` {label} rose from {a} to {b} between two readings of this module: the "
                        "protection "
                        "is being triggered now, not only in its past."
                    ),
                    evidence=[_ref(first, label), _ref(last, label)],
                )
            )
    return out


def _odd_one_out(view: CaseView, already: set[tuple[Cause, int | None]]) -> list[Finding]:
    latest: dict[int, StatReading] = {}
    for st in view.stats:
        if st.position is not None:
            latest[st.position] = st
    if len(latest) < 3:
        return []
    out: list[Finding] = []
    for label in ("Bat OV Times", "Bat UV Times", "BMICERR Times"):
        cause, _ = PROTECT_COUNTERS[label]
        for pos, st in latest.items():
            v = st.stat.counters.get(label)
            others = [o.stat.counters.get(label) or 0 for p, o in latest.items() if p != pos]
            if v is None or v < ODD_ONE_OUT_MIN or v < ODD_ONE_OUT_FACTOR * max(max(others), 1):
                continue
            if (cause, pos) in already:
                continue
            out.append(
                Finding(
                    code=cause,
                    severity=FindingSeverity.WARNING,
                    module=pos,
                    confidence=C.TENTATIVE,
                    message=(
                        f"`stat` {label} is {v} on this module against at most {max(others)} on the others: "
                        "this "
                        "module reaches its protection limit far more often than its neighbours."
                    ),
                    evidence=[_ref(st, label)],
                )
            )
    return out


def _bmic_single(view: CaseView, already: set[tuple[Cause, int | None]]) -> list[Finding]:
    out: list[Finding] = []
    for st in view.stats:
        v = st.stat.counters.get("BMICERR Times")
        if not v or st.position is None or (Cause.BMS_HARDWARE_FAULT, st.position) in already:
            continue
        already.add((Cause.BMS_HARDWARE_FAULT, st.position))
        out.append(
            Finding(
                code=Cause.BMS_HARDWARE_FAULT,
                severity=FindingSeverity.WARNING,
                module=st.position,
                confidence=C.EVEN,
                message=(
                    f"`stat` BMICERR Times is {v}: the BMS has logged errors talking to its cell-monitor "
                    "chip. "
                    "Alone this is a warning; capture `stat` again in a week — a rising count means BMS "
                    "hardware."
                ),
                evidence=[_ref(st, "BMICERR Times")],
            )
        )
    return out


def _lifetime_single(view: CaseView, already: set[tuple[Cause, int | None]]) -> list[Finding]:
    """A module read once whose lifetime counters say it keeps reaching a protection: a lead (warning).

    Lifetime totals cannot date the trips, so this never makes a fault; it asks for a second reading.
    A module read twice with no rise is left to ``_rising`` (its history is not active now).
    """
    out: list[Finding] = []
    for pos, series in _stat_series(view).items():
        if len(series) != 1:
            continue
        st = series[0]
        c = st.stat.counters
        ov, hv, sc = c.get("Bat OV Times"), c.get("Bat HV Times"), c.get("SC Times")
        cycles = c.get("CYCLE Times") or st.stat.cycle_count
        hv_rate = hv / cycles if hv is not None and cycles and cycles >= LIFETIME_MIN_CYCLES else None
        refs: list[EvidenceRef] = []
        said: list[str] = []
        if ov is not None and ov >= LIFETIME_CELL_OV_WARN:
            refs.append(_ref(st, "Bat OV Times"))
            said.append(f"Bat OV Times {ov} (cell over-voltage protection)")
        if hv_rate is not None and hv_rate >= LIFETIME_CELL_HV_PER_CYCLE_WARN:
            refs.append(_ref(st, "Bat HV Times"))
            refs.append(_ref(st, "CYCLE Times"))
            said.append(f"Bat HV Times {hv} over {cycles} cycles ({hv_rate:.1f} high-cell alarms per cycle)")
        if refs and (Cause.CELL_OVER_VOLTAGE, pos) not in already:
            out.append(
                Finding(
                    code=Cause.CELL_OVER_VOLTAGE,
                    severity=FindingSeverity.WARNING,
                    module=pos,
                    confidence=C.EVEN,
                    message=(
                        f"Lifetime `stat`: {'; '.join(said)}. One cell of this module keeps reaching its "
                        "high-voltage limit first at the top of charge — the pattern of top-end imbalance. "
                        "A single reading cannot say whether it is still happening: capture `bat "
                        f"{st.address or pos}` at 100 % SOC and idle, and `stat {st.address or pos}` again "
                        "in a week."
                    ),
                    evidence=refs,
                )
            )
        if sc is not None and sc >= LIFETIME_SC_WARN and (Cause.OVER_CURRENT, pos) not in already:
            out.append(_lifetime_sc(view, st, pos, sc))
    return out


SC_SYMPTOMS: Final = frozenset(
    {Symptom.WHOLE_BANK_SHUTDOWN, Symptom.INTERMITTENT_TRIPS, Symptom.NOT_DISCHARGING}
)
"""Owner symptoms a short-circuit trip would explain (the module's output cut until it is restarted)."""


def _lifetime_sc(view: CaseView, st: StatReading, pos: int, sc: int) -> Finding:
    """A lifetime ``SC Times`` count read once: a note, unless the owner's symptom is what it explains.

    Fact: the counter is a lifetime total (``console_fields.md``: ``stat`` counters never reset), so a
    few short-circuit trips over years of service cannot be dated; issue 11 item 7 and the real report
    esphome/feature-requests#3114 (SC Times 3 on a working US5000) — a note unless it rises between
    captures (``_rising``) or matches the symptom (:data:`SC_SYMPTOMS`), then a lead to re-check.
    """
    matching = [i for i, s in enumerate(view.symptoms) if s in SC_SYMPTOMS]
    refs = [_ref(st, "SC Times")]
    if matching:
        refs.append(cite.key(f"symptoms[{matching[0]}]"))
        return Finding(
            code=Cause.OVER_CURRENT,
            severity=FindingSeverity.WARNING,
            module=pos,
            confidence=C.WEAK,
            message=(
                f"Lifetime `stat`: SC Times {sc}, and the owner reports {view.symptoms[matching[0]].value}"
                " — a short-circuit trip cuts the module off until it is restarted. Short-circuit "
                "protection should never trip; have the DC cables and lugs of this module checked and "
                f"capture `stat {st.address or pos}` again after the next trip to see whether it rises."
            ),
            evidence=refs,
        )
    return Finding(
        code=Cause.OVER_CURRENT,
        severity=FindingSeverity.INFO,
        module=pos,
        confidence=C.WEAK,
        message=(
            f"Lifetime `stat`: SC Times {sc} — a total over the module's life that cannot be dated, with "
            "no symptom it would explain. Noted, not a fault: a second `stat` that shows it rising, or a "
            "trip that matches it, would make it one."
        ),
        evidence=refs,
    )


RECENT_DAYS: Final = 14
"""Days before the case's date within which BMS log protections count as current."""


def _recent_log_protections(view: CaseView, kind: EventKind) -> dict[int, list[BatteryEvent]]:
    """Protections of ``kind`` in the modules' own BMS ``log`` within RECENT_DAYS, by position."""
    as_of = view.as_of()
    by_pos: dict[int, list[BatteryEvent]] = {}
    log_lines = view.bms_log_lines()
    for e in view.events.where(EventQuery(origin="bms", kinds=frozenset({kind}))):
        if (
            e.kind != kind
            or e.severity != Severity.FAULT
            or (e.provenance.source, e.provenance.line) not in log_lines
            or e.time is None
        ):
            continue
        if as_of is not None and (as_of - e.time.date()).days > RECENT_DAYS:
            continue
        pos = _log_position(view, e)
        if pos is not None:
            by_pos.setdefault(pos, []).append(e)
    return by_pos


def _log_protections(view: CaseView, already: set[tuple[Cause, int | None]]) -> list[Finding]:
    """Recent protections in a module's own BMS ``log``.

    Over-voltage: the top-end imbalance of field_failures.md #3 when that module's cells are spread
    (``fault``: rebalance), otherwise context (``info``). Under-voltage: the module protected itself
    against a deep discharge (``cell_under_voltage``: isolate and assess it) — a ``fault`` when the bank
    shut down or stopped discharging, or the owner saw its ALM LED, else a ``warning``.
    """
    out: list[Finding] = []
    for pos, evs in sorted(_recent_log_protections(view, EventKind.CELL_OVER_VOLTAGE).items()):
        if (Cause.CELL_OVER_VOLTAGE, pos) in already:
            continue
        spread = _module_spread(view, pos)
        imbalanced = spread is not None and spread > CELL_SPREAD_FAULT_MV
        out.append(
            Finding(
                code=Cause.CELL_OVER_VOLTAGE,
                severity=FindingSeverity.FAULT if imbalanced else FindingSeverity.INFO,
                module=pos,
                confidence=C.FIRM if imbalanced else C.EVEN,
                message=(
                    f"The module's own BMS log shows {_count(evs, 'over-voltage')}"
                    + (
                        f", and its cells are {spread} mV apart: one high cell reaches the limit first at "
                        "the "
                        "top of charge and stops the charge for the whole module (top-end imbalance)."
                        if imbalanced
                        else "; its cells are not shown spread, so this is context only."
                    )
                ),
                evidence=[cite.line(e.provenance) for e in evs[:3]],
            )
        )
    uv = _recent_log_protections(view, EventKind.CELL_UNDER_VOLTAGE)
    if len(uv) >= 2:
        # several modules cut off together: the bank was run flat (one module is not the cause)
        evs = [e for es in uv.values() for e in es]
        out.append(
            Finding(
                code=Cause.CELL_UNDER_VOLTAGE,
                severity=FindingSeverity.WARNING,
                module=None,
                confidence=C.FAIR,
                message=(
                    f"{len(uv)} modules' own BMS logs show under-voltage protections ({_count(evs, 'in all')}"
                    "): the whole bank was run down to its cut-off, not one module failing. Fix: raise the "
                    "inverter's discharge cut-off (end-of-discharge SOC or voltage) and check its discharge "
                    "current limit."
                ),
                evidence=[cite.line(e.provenance) for e in evs[:4]],
            )
        )
        return out
    for pos, evs in sorted(uv.items()):
        if (Cause.CELL_UNDER_VOLTAGE, pos) in already:
            continue
        m = view.module(pos)
        led_alarm = m is not None and m.led is not None and m.led.value not in ("green", "green_flashing")
        bank = any(s in view.symptoms for s in (Symptom.WHOLE_BANK_SHUTDOWN, Symptom.NOT_DISCHARGING))
        fault = bank or led_alarm or len(uv) == 1
        refs = [cite.line(e.provenance) for e in evs[:3]]
        if led_alarm and m is not None and m.stack_index is not None:
            refs.append(cite.key(f"stack[{m.stack_index}].led"))
        out.append(
            Finding(
                code=Cause.CELL_UNDER_VOLTAGE,
                severity=FindingSeverity.FAULT if fault else FindingSeverity.WARNING,
                module=pos,
                confidence=C.LIKELY if fault else C.TENTATIVE,
                message=(
                    f"The module's own BMS log shows {_count(evs, 'under-voltage')}: it cut itself off to "
                    "protect its cells from a deep discharge"
                    + (" and the bank shut down" if bank else "")
                    + ". It needs taking out and assessing on its own (cells at or above 2.0 V?)."
                ),
                evidence=refs,
            )
        )
    return out


def _count(evs: list[BatteryEvent], what: str) -> str:
    days = len({e.time.date() for e in evs if e.time is not None})
    latest = max(e.time for e in evs if e.time is not None)
    kind = "" if what == "in all" else f"{what} "
    return f"{len(evs)} {kind}protection(s) on {days} day(s) (latest {latest:%Y-%m-%d %H:%M})"


def _log_position(view: CaseView, e: BatteryEvent) -> int | None:
    if e.module_address is not None:
        return view.position_of(e.module_address)
    return view.console_positions.get(e.provenance.source)


def _module_spread(view: CaseView, pos: int) -> int | None:
    """mV: the module's widest cell spread at the top of charge (``bat``), else its ``soh`` voltages."""
    spreads: list[int] = []
    for b in view.bat_of(pos):
        volts = [c.voltage_mv for c in b.table.cells if c.voltage_mv is not None]
        socs = [c.soc_pct for c in b.table.cells if c.soc_pct is not None]
        if len(volts) >= 2 and (
            max(volts) >= ENVELOPE_MIN_CELL_MV or (socs and max(socs) >= ENVELOPE_MIN_SOC_PCT)
        ):
            spreads.append(max(volts) - min(volts))
    for sr in view.soh:
        if sr.position == pos:
            volts = [c.voltage_mv for c in sr.table.cells if c.voltage_mv is not None]
            if len(volts) >= 2 and max(volts) >= ENVELOPE_MIN_CELL_MV:
                spreads.append(max(volts) - min(volts))
    return max(spreads) if spreads else None


SHUTDOWN_KINDS: Final = frozenset(
    {
        EventKind.BMS_COMMS_LOST,
        EventKind.BMS_PROTECTION,
        EventKind.BMS_FAULT,
        EventKind.LOW_SOC_SHUTDOWN,
        EventKind.BATTERY_UNDER_VOLTAGE,
        EventKind.CELL_UNDER_VOLTAGE,
        EventKind.DISCHARGE_OVER_CURRENT,
        EventKind.OVER_TEMPERATURE,
        EventKind.UNDER_TEMPERATURE,
    }
)
"""Inverter-log events that mark the bank going down (the BMS stopped it or stopped talking)."""
TRIP_LEAD_S: Final = 6 * 3600
"""s: a module's protection counts as the trip behind an inverter-logged shutdown when it comes at most
this long before it (a module cuts off, the rest carry the load until they too give up)."""
CLOCK_SLACK_S: Final = 10 * 60
"""s: the BMS's and the inverter's clocks are set by hand and drift; events this close are taken as
simultaneous, so a module event up to this long after the inverter's still counts."""


def _module_trips(view: CaseView) -> EventRows:
    """Protections that name their module and have an exact time, from every origin (the BMS log,
    earlier ``pwr`` snapshots, an inverter log that names the module). The latest ``pwr`` is left out:
    its states are the live picture the BMS-state rules read, not a moment in the sequence."""
    live = {s.source for s in view.pwr[-1:]}
    live_lines = {(s.source, r.line) for s in view.pwr[-1:] for r in s.table.rows}
    kinds = frozenset(k for k, cause in KIND_CAUSE.items() if cause != Cause.CELL_OVER_VOLTAGE)
    # a cell over-voltage ends a charge; it does not shut a bank down
    candidates = view.events.where(EventQuery(kinds=kinds, fault=True, exact=True, names_module=True))
    position = {m: view.position_of(m) for m in candidates.modules()}
    return candidates.subset(
        [
            not (source in live and (source, line) in live_lines) and position[module] is not None
            for source, line, module in candidates.cited_modules()
        ]
    )


_SHUTDOWN: Final = EventQuery(
    origin="inverter", timed=True, names_module=False, kinds=SHUTDOWN_KINDS, not_info=True
)
"""The inverter's own record of the bank going down (no module named)."""


def _shutdown_near(view: CaseView, trip_s: list[float]) -> tuple[BatteryEvent | None, list[int]]:
    """The first (oldest) inverter-logged shutdown with module protections from :data:`TRIP_LEAD_S`
    before it to :data:`CLOCK_SLACK_S` after it, and the indexes of those protections (``trip_s``:
    their times, s since 1970 UTC); (None, every index) without one."""
    for sd in _candidates(view.events.where(_SHUTDOWN), trip_s):
        assert sd.time is not None
        at = sd.time.timestamp()
        near = [i for i, t in enumerate(trip_s) if -TRIP_LEAD_S <= t - at <= CLOCK_SLACK_S]
        if near:
            return sd, near
    return None, list(range(len(trip_s)))


def _candidates(shutdowns: EventRows, trips_s: list[float]) -> Iterator[BatteryEvent]:
    """The shutdowns that may have a protection near them, oldest first. From an inverter log read as
    columns (a year of rows), only those with one within a second of the window become objects."""
    if not shutdowns.timeline.parts:
        yield from shutdowns
        return
    import numpy as np

    sd_s = np.asarray(shutdowns.values("seconds"), dtype=np.float64)
    trip_s = np.sort(np.asarray(trips_s, dtype=np.float64))
    lo = np.searchsorted(trip_s, sd_s - TRIP_LEAD_S - 1, side="left")
    hi = np.searchsorted(trip_s, sd_s + CLOCK_SLACK_S + 1, side="right")
    for k in np.flatnonzero(hi > lo).tolist():
        yield shutdowns[k]


def _first_trip(view: CaseView) -> list[Finding]:
    """With a whole-bank shutdown: the module whose protection comes first in the case's one timeline.

    The timeline (``view.events``) holds the modules' BMS log, their earlier ``pwr`` states and the
    inverter's log, all in the site's timezone. When the inverter logged the shutdown, only module
    protections from :data:`TRIP_LEAD_S` before it to :data:`CLOCK_SLACK_S` after it are candidates
    (an older trip is another incident), and the inverter's line is cited as the moment the bank went
    down. Seed guide: one module's trip can shut the whole bank down; the first to trip is the one to
    isolate.
    """
    if Symptom.WHOLE_BANK_SHUTDOWN not in view.symptoms:
        return []
    trips = _module_trips(view)
    if not trips:
        return []
    # every trip has an exact time; their times, modules and origins are read without event objects
    at, module, origin = trips.values("seconds"), trips.values("module"), trips.values("origin")
    shutdown, near = _shutdown_near(view, at)
    k = min(near, key=at.__getitem__)  # the first of the earliest
    first = trips[k]
    assert first.time is not None
    pos = view.position_of(first.module_address)
    if pos is None:  # pragma: no cover - _module_trips keeps only mapped modules
        return []
    others = [i for i in near if module[i] != module[k]]
    tie = [i for i in others if abs(at[i] - at[k]) <= CLOCK_SLACK_S and origin[i] != origin[k]]
    same_clock_tie = [i for i in others if at[i] == at[k] and origin[i] == origin[k]]
    where = _where(first)
    msg = (
        f"The bank shut down and the first protection in the case's timeline is on the module at "
        f"position {pos} (address {first.module_address}): {first.text or first.code} at "
        f"{first.time:%Y-%m-%d %H:%M} ({where})"
    )
    if shutdown is not None and shutdown.time is not None:
        lead = (shutdown.time - first.time).total_seconds()
        when = (
            f"{_minutes(lead)} before"
            if lead > 0
            else "at the same time as"
            if lead == 0
            else f"{_minutes(-lead)} after (within the clocks' slack)"
        )
        msg += (
            f", {when} the inverter logged '{(shutdown.code + ' ') if shutdown.code else ''}{shutdown.text}' "
            f"({_where(shutdown)})"
        )
    if others:
        later = sorted({view.position_of(module[i]) or 0 for i in others} - {0})
        msg += (
            f"; {len(others)} protection(s) on other modules (position {', '.join(map(str, later))}) followed"
        )
    msg += ". That module tripped the bank."
    confidence = C.STRONG if shutdown is not None else C.PROBABLE
    if same_clock_tie or tie:
        confidence = C.EVEN
        msg += (
            " Another module's protection is at nearly the same time"
            + (" on a different clock" if tie else "")
            + ", so the order is not certain."
        )
    evidence = [cite.line(first.provenance)]
    if shutdown is not None:
        evidence.append(cite.line(shutdown.provenance))
    evidence.append(cite.key("symptoms"))
    severity = FindingSeverity.FAULT
    if (
        KIND_CAUSE[first.kind] == Cause.CELL_UNDER_VOLTAGE
        and len(_recent_log_protections(view, EventKind.CELL_UNDER_VOLTAGE)) >= 2
    ):
        # every module's log shows its under-voltage cut-off: the bank was run flat (_log_protections says
        # so), and the first to reach its cut-off is the lowest, not a failed module to isolate. Found by
        # the simulator's over_current seed 26 (bank drained by a too-high discharge limit: label no culprit).
        severity = FindingSeverity.WARNING
        msg = msg.replace(
            ". That module tripped the bank.",
            ". Several modules' own logs show the same cut-off, so the bank was run down: position "
            f"{pos} reached it first (the lowest module), which is worth watching, not isolating.",
        )
    return [
        Finding(
            code=KIND_CAUSE[first.kind],
            severity=severity,
            module=pos,
            confidence=confidence,
            message=msg,
            evidence=evidence,
        )
    ]


def _where(e: BatteryEvent) -> str:
    return f"{e.provenance.source} line {e.provenance.line}"


def _minutes(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m} min" if m < 120 else f"{m / 60:.1f} h"
