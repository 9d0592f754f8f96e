"""Step 3 — cells: imbalance inside a validity envelope; weak cell vs recoverable imbalance.

Facts:
- LFP's voltage curve is flat mid-SOC, so the plateau hides imbalance; the top of charge reveals it,
  and the BMS's passive balancers (~50 mA per cell) only work there (``hardware/specs.md`` §1 VIC536
  [T]; ``field_failures.md`` #6 [C]: BAL=Y on all cells while Idle at 98-100 % SOC, spread ≈80 mV).
- Spread above ~30 mV is imbalance; above ~50 mV balancing is not keeping up (specs.md §1 SIMP, SERV [T]).
- A cell that keeps diverging across captures, or returns after a rebalancing cycle, is a weak cell
  (spec cause table); one that sags > 50 mV under load but not at rest has high resistance
  (field_failures.md #10 [T]).
- Older and deep-cycled modules are more prone (seed guide) — used as context only.

The envelope (:func:`envelope`): top of charge (SOC ≥ 90 % or highest cell ≥ 3.40 V), current ≤ 0.1 C,
cell temperatures 10-40 °C. Outside it a large spread is said with low confidence (``warning`` →
monitor) and the evidence gaps ask for a reading inside it; it never becomes a fault.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.isolation import module_capacity_ah
from pylondiag.diagnosis.thresholds import (
    BALANCE_CURRENT_MA,
    CELL_SPREAD_FAULT_MV,
    CELL_SPREAD_WARN_MV,
    ENVELOPE_MAX_C_RATE,
    ENVELOPE_MAX_TEMP_MC,
    ENVELOPE_MIN_CELL_MV,
    ENVELOPE_MIN_SOC_PCT,
    ENVELOPE_MIN_TEMP_MC,
    IMPEDANCE_EXCESS_MV,
    IMPEDANCE_MAX_GAP_H,
    IMPEDANCE_MIN_CHARGE_C,
    IMPEDANCE_MIN_SOC_PCT,
    IMPEDANCE_REST_MAX_C,
    IMPEDANCE_RISE_FACTOR,
    OLD_MODULE_YEARS,
    OUTLIER_MIN_MV,
    PLATEAU_MAX_MV,
    REST_CURRENT_MA,
    SAG_MAX_SOC_PCT,
    SAG_MIN_C_RATE,
    SAG_MIN_SOC_PCT,
    SAG_REST_MAX_MV,
    SAG_UNDER_LOAD_MV,
    WEAK_CELL_GROWTH_MV,
    WEAK_CELL_IMPROVEMENT_MV,
    WEAK_CELL_MIN_HOURS,
)
from pylondiag.model.case import HistoryEvent
from pylondiag.model.console import BatCell
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import BatReading, CaseView

AFTER_CYCLE: Final = "After the rebalancing cycle of"
"""Opens the sentence that says what the owner's rebalancing cycle (case history) shows — its result
read from a later capture, or what to capture to see it. The owner summary takes that sentence in place
of the generic outcome phrase (the cycle was done: its result decides rebalance again vs weak cell)."""


@dataclass(frozen=True)
class CellStats:
    """One ``bat`` reading, summarised."""

    reading: BatReading
    cells: tuple[BatCell, ...]
    spread_mv: int
    median_mv: float
    lo: BatCell
    hi: BatCell
    soc_pct: int | None
    current_ma: int | None
    temp_lo_mc: int | None
    temp_hi_mc: int | None
    in_envelope: bool
    why_not: tuple[str, ...]
    soc_lo_pct: int | None = None
    """The lowest per-cell SOC when ``bat`` prints one per cell and they differ (US3000C B69.25: 5, 92 and
    100 % in one table of a rebuilt module, mman/node-red-contrib-pylontech-health's real capture);
    ``soc_pct`` is the highest."""

    def deficit(self, cell: int) -> float | None:
        for c in self.cells:
            if c.cell == cell and c.voltage_mv is not None:
                return self.median_mv - c.voltage_mv
        return None

    def outliers(self) -> list[BatCell]:
        """Cells at least OUTLIER_MIN_MV below the median, lowest first."""
        low = [
            c
            for c in self.cells
            if c.voltage_mv is not None and self.median_mv - c.voltage_mv >= OUTLIER_MIN_MV
        ]
        return sorted(low, key=lambda c: c.voltage_mv or 0)

    def conditions(self) -> str:
        parts = []
        if self.soc_lo_pct is not None and self.soc_lo_pct != self.soc_pct:
            parts.append(f"SOC {self.soc_lo_pct}-{self.soc_pct} % by cell (the gauge differs cell to cell)")
        elif self.soc_pct is not None:
            parts.append(f"{self.soc_pct} % SOC")
        if self.current_ma is not None:
            parts.append("idle" if abs(self.current_ma) < 200 else f"{self.current_ma / 1000:+.1f} A")
        if self.temp_hi_mc is not None:
            parts.append(f"{self.temp_hi_mc / 1000:.1f} °C")
        return ", ".join(parts)


def envelope(
    soc: int | None,
    max_cell_mv: int | None,
    current_ma: int | None,
    temps: tuple[int | None, int | None],
    cap_ah: float,
) -> tuple[bool, tuple[str, ...]]:
    """Whether a reading can show imbalance, and the reasons when it cannot."""
    why: list[str] = []
    top = (soc is not None and soc >= ENVELOPE_MIN_SOC_PCT) or (
        max_cell_mv is not None and max_cell_mv >= ENVELOPE_MIN_CELL_MV
    )
    if not top:
        why.append(
            f"not at the top of charge ({soc} % SOC)" if soc is not None else "not at the top of charge"
        )
    if current_ma is not None and abs(current_ma) > ENVELOPE_MAX_C_RATE * cap_ah * 1000:
        why.append(f"under {abs(current_ma) / 1000:.1f} A of current")
    lo, hi = temps
    if lo is not None and lo < ENVELOPE_MIN_TEMP_MC:
        why.append(f"cold ({lo / 1000:.1f} °C)")
    if hi is not None and hi > ENVELOPE_MAX_TEMP_MC:
        why.append(f"hot ({hi / 1000:.1f} °C)")
    return not why, tuple(why)


def summarise(view: CaseView, r: BatReading) -> CellStats | None:
    cells = tuple(c for c in r.table.cells if c.voltage_mv is not None)
    if len(cells) < 2:
        return None
    volts = [c.voltage_mv for c in cells if c.voltage_mv is not None]
    lo = min(cells, key=lambda c: c.voltage_mv or 0)
    hi = max(cells, key=lambda c: c.voltage_mv or 0)
    socs = [c.soc_pct for c in cells if c.soc_pct is not None]
    soc = max(socs) if socs else _pwr_soc(view, r)
    currents = [c.current_ma for c in cells if c.current_ma is not None]
    current = max(currents, key=abs) if currents else None
    temps = [c.temperature_mc for c in cells if c.temperature_mc is not None]
    t = (min(temps) if temps else None, max(temps) if temps else None)
    m = view.module(r.position) if r.position is not None else None
    ok, why = envelope(soc, hi.voltage_mv, current, t, module_capacity_ah(m.model if m else None))
    return CellStats(
        reading=r,
        cells=cells,
        spread_mv=max(volts) - min(volts),
        median_mv=statistics.median(volts),
        lo=lo,
        hi=hi,
        soc_pct=soc,
        current_ma=current,
        temp_lo_mc=t[0],
        temp_hi_mc=t[1],
        in_envelope=ok,
        why_not=why,
        soc_lo_pct=min(socs) if socs else None,
    )


def _pwr_soc(view: CaseView, r: BatReading) -> int | None:
    for snap in reversed(view.pwr):
        if snap.source != r.source:
            continue
        for row in snap.table.rows:
            if row.address == r.address and row.soc_pct is not None:
                return row.soc_pct
    return None


def _t(s: CellStats) -> datetime | None:
    return s.reading.time


def _age_context(view: CaseView, position: int) -> str:
    m = view.module(position)
    bits: list[str] = []
    as_of = view.as_of() or date.today()
    if m and m.installed:
        y, mo = (int(x) for x in m.installed.split("-")[:2])
        years = (as_of.year - y) + (as_of.month - mo) / 12
        if years >= OLD_MODULE_YEARS:
            bits.append(
                f"installed {m.installed} ({years:.1f} years old, the age at which imbalance is common)"
            )
    st = view.stat_of(position)
    if st and st.stat.cycle_count:
        bits.append(f"{st.stat.cycle_count} full cycles")
    return f" Context: {', '.join(bits)}." if bits else ""


def _bal_note(s: CellStats) -> str:
    flags = [c for c in s.cells if c.balancing is not None]
    if not flags:
        return ""
    on = [c.cell for c in flags if c.balancing]
    off = [c.cell for c in flags if not c.balancing]
    if not on:
        return " No cell is balancing (BAL=N on all)."
    if not off:
        return f" The balancers are on for all {len(on)} cells (BAL=Y)."
    return (
        f" The balancers are on for {len(on)} cells (BAL=Y) and off for cell{'s' if len(off) > 1 else ''} "
        f"{', '.join(map(str, off))}: the high cells are bled down towards the low one."
    )


def _cell_refs(s: CellStats, cells: list[BatCell]) -> list[EvidenceRef]:
    refs = [cite.line(c.provenance) for c in cells]
    if s.hi not in cells:
        refs.append(cite.line(s.hi.provenance))
    return refs


def _describe(s: CellStats) -> str:
    outl = s.outliers()
    if outl:
        main = outl[0]
        others = [c for c in s.cells if c is not main and c.voltage_mv is not None]
        o_lo = min(c.voltage_mv or 0 for c in others)
        o_hi = max(c.voltage_mv or 0 for c in others)
        text = (
            f"Cell {main.cell} at {(main.voltage_mv or 0) / 1000:.3f} V while the other cells span "
            f"{o_lo / 1000:.3f}-{o_hi / 1000:.3f} V (spread {s.spread_mv} mV) at {s.conditions()}"
        )
        if len(outl) > 1:
            rest = ", ".join(f"cell {c.cell} ({(c.voltage_mv or 0) / 1000:.3f} V)" for c in outl[1:4])
            text += f"; {rest} also lag{'s' if len(outl) == 2 else ''}"
        return text + "."
    return (
        f"Cell spread {s.spread_mv} mV (cell {s.lo.cell} {(s.lo.voltage_mv or 0) / 1000:.3f} V to cell "
        f"{s.hi.cell} "
        f"{(s.hi.voltage_mv or 0) / 1000:.3f} V) at {s.conditions()}."
    )


def findings(view: CaseView) -> list[Finding]:
    out: list[Finding] = []
    by_pos: dict[int, list[CellStats]] = {}
    for r in view.bat:
        if r.position is None:
            continue
        s = summarise(view, r)
        if s is not None:
            by_pos.setdefault(r.position, []).append(s)
    for pos, series in sorted(by_pos.items()):
        out += _module_findings(view, pos, series)
    return out


def _module_findings(view: CaseView, pos: int, series: list[CellStats]) -> list[Finding]:
    inside = [s for s in series if s.in_envelope]
    sag = _sag(pos, series) or _impedance(view, pos, series)
    if sag is not None:
        return [sag]
    if not inside:
        worst = max(series, key=lambda s: s.spread_mv)
        if worst.spread_mv <= CELL_SPREAD_FAULT_MV:
            return []
        under_load = any("current" in w for w in worst.why_not)
        return [
            Finding(
                code=Cause.CELL_IMBALANCE,
                severity=FindingSeverity.INFO,
                module=pos,
                confidence=C.CONJECTURE if under_load else C.WEAK,
                message=(
                    f"{_describe(worst)} This reading is outside the validity envelope "
                    f"({'; '.join(worst.why_not)}), so the spread is not judged: mid-SOC and under current "
                    "it "
                    "includes load effects, and the LFP plateau hides state of charge. It says nothing "
                    "either "
                    "way until a reading at the top of charge, idle."
                ),
                evidence=_cell_refs(worst, worst.outliers()[:2] or [worst.lo]),
            )
        ]
    dated = sorted((s for s in inside if s.reading.time is not None), key=lambda s: (_t(s), s.reading.seq))
    current = dated[-1] if dated else max(inside, key=lambda s: s.reading.seq)
    if current.spread_mv <= CELL_SPREAD_WARN_MV:
        return []
    desc = _describe(current)
    context = _age_context(view, pos)
    bal = _bal_note(current)
    refs = _cell_refs(current, current.outliers()[:3] or [current.lo])
    if current.spread_mv <= CELL_SPREAD_FAULT_MV:
        trend = _trend(current, dated)
        if trend is not None and trend.growing:
            return [
                Finding(
                    code=Cause.CELL_IMBALANCE,
                    severity=FindingSeverity.FAULT,
                    module=pos,
                    confidence=C.PROBABLE,
                    message=(
                        f"{desc}{bal} {trend.text} It keeps diverging: within what the balancers correct "
                        f"(≤ {CELL_SPREAD_FAULT_MV} mV) today but losing ground, so a controlled rebalancing "
                        "(100 % held for 6-8 h) now; if the gap returns after it, the cell is weak and the "
                        f"module must be replaced.{context}"
                    ),
                    evidence=[*refs, trend.ref],
                )
            ]
        return [
            Finding(
                code=Cause.CELL_IMBALANCE,
                severity=FindingSeverity.WARNING,
                module=pos,
                confidence=C.FAIR,
                message=(
                    f"{desc} That is above the {CELL_SPREAD_WARN_MV} mV a healthy module keeps but within "
                    "what "
                    f"the balancers can still correct (≤ {CELL_SPREAD_FAULT_MV} mV).{bal}"
                    f"{f' {trend.text} Improving: the balancers are winning.' if trend else ''}{context}"
                ),
                evidence=[*refs, trend.ref] if trend else refs,
            )
        ]
    # Fault-level spread at the top of charge: weak cell or recoverable imbalance?
    verdict = _weak_or_imbalance(view, current, dated)
    code, conf, why, extra_refs = verdict
    single = len(inside) == 1 and not extra_refs
    if single and code == Cause.CELL_IMBALANCE:
        why += " A single reading: one more after the rebalancing cycle confirms it."
    return [
        Finding(
            code=code,
            severity=FindingSeverity.FAULT,
            module=pos,
            confidence=conf,
            message=f"{desc}{bal} {why}{context}".replace("  ", " "),
            evidence=refs + extra_refs,
        )
    ]


def _weak_or_imbalance(
    view: CaseView, current: CellStats, dated: list[CellStats]
) -> tuple[Cause, float, str, list[EvidenceRef]]:
    outl = current.outliers()
    low = outl[0] if outl else current.lo
    cycles = sorted(view.history_of(HistoryEvent.REBALANCE_CYCLE), key=lambda h: h.date)
    if cycles:
        last = cycles[-1].date
        # a capture without a time is taken as of when the owner looked (observed_at); with neither, the
        # reading's order against the cycle is unknown (found by perturbing the weak-cell example)
        taken_at = current.reading.time or view.observed_at
        cur_day = taken_at.date() if taken_at is not None else None
        if cur_day is None or cur_day <= last:
            # the owner's cycle came after the newest reading, or on its day (only the cycle's date is
            # known: the reading may be from before or during the hold; spec: weak_cell is an imbalance that
            # returns AFTER a cycle), or the reading is not dated: its result is not in the evidence
            idx = view.history.index(cycles[-1])
            taken, when = _not_after_cycle(cur_day, last)
            return (
                Cause.CELL_IMBALANCE,
                C.FAIR,
                f"{AFTER_CYCLE} {last} (history) {taken}, so its result is not known yet: capture "
                f"`bat {current.reading.address or current.reading.position}` at the top of charge (100 %, "
                f"idle) {when}; if cell {low.cell} is still behind, it is a weak cell and the module needs "
                "replacing; if not, the cycle worked.",
                [cite.key(f"history[{idx}]")],
            )
        if cur_day > last:
            before = [s for s in dated if s.reading.time is not None and s.reading.time.date() < last]
            if before:
                prev = before[-1]
                d0, d1 = prev.deficit(low.cell), current.deficit(low.cell)
                if d0 is not None and d1 is not None and d0 - d1 >= WEAK_CELL_IMPROVEMENT_MV:
                    return (
                        Cause.CELL_IMBALANCE,
                        C.LIKELY,
                        f"{AFTER_CYCLE} {last} it improved (cell {low.cell} was {d0:.0f} mV below the "
                        f"median, now {d1:.0f} mV): another cycle (100 % held for 6-8 h, then re-check) "
                        "should finish the job.",
                        [cite.line(_cell(prev, low.cell).provenance)],
                    )
            idx = view.history.index(cycles[-1])
            return (
                Cause.WEAK_CELL,
                C.STRONG,
                f"{AFTER_CYCLE} {last} (history) the imbalance is back: balancing does not hold cell "
                f"{low.cell}, so it is a weak cell and the module needs replacing.",
                [cite.key(f"history[{idx}]")],
            )
    # Repeat captures over time without a rebalancing cycle: the trend is said, the verdict stays
    # rebalance (spec: cell_imbalance = 'first time'; weak_cell = returns or worsens *after* a cycle).
    trend = ""
    refs: list[EvidenceRef] = []
    earlier = [
        s
        for s in dated
        if s is not current
        and s.reading.time is not None
        and current.reading.time is not None
        and (current.reading.time - s.reading.time).total_seconds() >= WEAK_CELL_MIN_HOURS * 3600
        and s.spread_mv > CELL_SPREAD_FAULT_MV
    ]
    if earlier and outl:
        prev = earlier[0]
        prev_out = prev.outliers()
        if prev_out and prev_out[0].cell == low.cell:
            d0, d1 = prev.deficit(low.cell), current.deficit(low.cell)
            assert current.reading.time is not None and prev.reading.time is not None
            hours = (current.reading.time - prev.reading.time).total_seconds() / 3600
            if d0 is not None and d1 is not None:
                growing = d1 - d0 >= WEAK_CELL_GROWTH_MV
                trend = (
                    f" {hours:.0f} h earlier cell {low.cell} was already the low cell ({d0:.0f} mV below the "
                    f"median, now {d1:.0f} mV)"
                    + (
                        ": it keeps diverging, so if it does not recover after the rebalancing cycle the "
                        "cell is weak and the module must be replaced."
                        if growing
                        else "."
                    )
                )
                refs = [cite.line(_cell(prev, low.cell).provenance)]
    return (
        Cause.CELL_IMBALANCE,
        C.STRONG if len(dated) > 1 else C.PROBABLE,
        f"That is beyond the {CELL_SPREAD_FAULT_MV} mV the ~50 mA balancers keep up with: a controlled "
        f"rebalancing (100 % held for 6-8 h) is the first step.{_days_to_close(view, current)}{trend}",
        refs,
    )


def _not_after_cycle(cur_day: date | None, last: date) -> tuple[str, str]:
    """Why the reading (of ``cur_day``) cannot show the result of the cycle of ``last``, and when to capture
    the one that can: not dated; before the cycle; or the cycle's own day (before or during the hold)."""
    if cur_day is None:
        return (
            "no cell reading is known to have been taken: this one is not dated (no time in the capture, no "
            "observed date)",
            "now",
        )
    if cur_day < last:
        return f"no cell reading was taken (this one is from {cur_day})", "now"
    return (
        "no cell reading is known to have been taken: this one is from the same day and may be from before "
        "or during the 6-8 h hold",
        "after the hold",
    )


def _days_to_close(view: CaseView, s: CellStats) -> str:
    """At rest, a cell still on the plateau beside a full one: how slowly ~50 mA closes that gap. A rebuilt
    US3000C read 3340 mV beside 3495 mV at rest (mman/node-red-contrib-pylontech-health, real capture);
    one 6-8 h hold bleeds ~0.4 Ah per cell, far less than such a gap."""
    lo, hi = s.lo.voltage_mv, s.hi.voltage_mv
    resting = s.current_ma is not None and abs(s.current_ma) < REST_CURRENT_MA
    if not resting or lo is None or hi is None or lo > PLATEAU_MAX_MV or hi < ENVELOPE_MIN_CELL_MV:
        return ""
    m = view.module(s.reading.position) if s.reading.position is not None else None
    cap = module_capacity_ah(m.model if m else None)
    per_day = BALANCE_CURRENT_MA * 24 / 1000
    addr = s.reading.address or s.reading.position
    return (
        f" At rest cell {s.lo.cell} is still on the plateau ({lo / 1000:.3f} V) while cell {s.hi.cell} "
        f"is full ({hi / 1000:.3f} V): a charge gap of several percent, and ~{BALANCE_CURRENT_MA} mA of "
        f"balancing moves at most {per_day:.1f} Ah a day per cell ({per_day / cap * 100:.1f} % of "
        f"{cap:.0f} Ah), so expect to repeat the 100 % hold over several days, capturing `bat {addr}` "
        "after each."
    )


@dataclass(frozen=True)
class _Trend:
    """How the current low cell moved since the earliest top-of-charge reading of the module."""

    growing: bool
    text: str
    ref: EvidenceRef


def _trend(current: CellStats, dated: list[CellStats]) -> _Trend | None:
    """The low cell against the earliest top-of-charge reading at least :data:`WEAK_CELL_MIN_HOURS`
    before: further behind by :data:`WEAK_CELL_GROWTH_MV` (it keeps diverging) or closer by
    :data:`WEAK_CELL_IMPROVEMENT_MV` (the balancers are winning); None when neither or not comparable.

    Compare each capture against the earlier ones (method): a spread still inside the balancers' reach
    today but grown since the last capture will not stay there (spec: ``weak_cell`` is a cell that keeps
    diverging; before a rebalancing cycle the first step is ``cell_imbalance`` → rebalance). Found by
    adding a capture a month before monitor-early-imbalance with cell 7 at 18 mV below the median (now
    56 mV): the diagnosis was 'no action needed now' and never mentioned the earlier capture.
    """
    outl = current.outliers()
    t1 = current.reading.time
    if not outl or t1 is None:
        return None
    low = outl[0]
    earlier = [
        s
        for s in dated
        if s is not current
        and s.reading.time is not None
        and (t1 - s.reading.time).total_seconds() >= WEAK_CELL_MIN_HOURS * 3600
    ]
    if not earlier:
        return None
    prev = earlier[0]
    d0, d1 = prev.deficit(low.cell), current.deficit(low.cell)
    if d0 is None or d1 is None:
        return None
    growing = d1 - d0 >= WEAK_CELL_GROWTH_MV
    if not growing and d0 - d1 < WEAK_CELL_IMPROVEMENT_MV:
        return None
    assert prev.reading.time is not None
    hours = (t1 - prev.reading.time).total_seconds() / 3600
    ago = f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} h"
    text = (
        f"{ago} earlier ({prev.reading.time:%Y-%m-%d}, also at the top of charge) cell {low.cell} was "
        f"{d0:.0f} mV below the median, now {d1:.0f} mV."
    )
    return _Trend(growing, text, cite.line(_cell(prev, low.cell).provenance))


def _cell(s: CellStats, index: int) -> BatCell:
    return next(c for c in s.cells if c.cell == index)


def _near(a: CellStats, b: CellStats) -> bool:
    """Two readings of one module close enough in time to compare cell by cell: both dated within
    :data:`IMPEDANCE_MAX_GAP_H`, or (undated) neighbours in the same capture file."""
    ta, tb = a.reading.time, b.reading.time
    if ta is not None and tb is not None:
        return abs((tb - ta).total_seconds()) <= IMPEDANCE_MAX_GAP_H * 3600
    return a.reading.source == b.reading.source and abs(a.reading.seq - b.reading.seq) <= 2


def _rises(rest: CellStats, loaded: CellStats) -> dict[int, int]:
    v0 = {c.cell: c.voltage_mv for c in rest.cells if c.voltage_mv is not None}
    return {
        c.cell: c.voltage_mv - v0[c.cell] for c in loaded.cells if c.voltage_mv is not None and c.cell in v0
    }


def _impedance(view: CaseView, pos: int, series: list[CellStats]) -> Finding | None:
    """Item 5 of issue 11, under current as well as at rest: the cell that is lowest at rest rises far
    more than its neighbours when a small charge current flows (and falls back when it stops).

    Fact: a cell lower in charge sits on the flatter part of the LFP curve and should rise *less* than
    the others under the same charge current; rising the most means a high internal (ohmic and
    polarisation) resistance — a damaged cell that balancing cannot fix (field_failures.md #10 for the
    discharge side). Real case: GPollakDiener US2000C module 6, cell 12: 3333 mV at rest, 3491 mV at
    1.6 A of charge (+158 mV; the other cells +61..+112, median +84), back to 3374 mV at rest
    (tests/realworld/gpollak-us2000c-cell12-low-two-days).
    """
    m = view.module(pos)
    cap_ma = module_capacity_ah(m.model if m else None) * 1000
    rest = [
        s for s in series if s.current_ma is not None and abs(s.current_ma) <= IMPEDANCE_REST_MAX_C * cap_ma
    ]
    loaded = [
        s for s in series if s.current_ma is not None and s.current_ma >= IMPEDANCE_MIN_CHARGE_C * cap_ma
    ]
    for a in rest:
        outl = a.outliers()
        if not outl or a.soc_pct is None or a.soc_pct < IMPEDANCE_MIN_SOC_PCT:
            continue
        low = outl[0].cell
        for b in loaded:
            if not _near(a, b):
                continue
            rises = _rises(a, b)
            others = [v for k, v in rises.items() if k != low]
            if low not in rises or len(others) < 2:
                continue
            med = statistics.median(others)
            r = rises[low]
            if med <= 0 or r - med < IMPEDANCE_EXCESS_MV or r < IMPEDANCE_RISE_FACTOR * med:
                continue
            cb = _cell(b, low)
            return Finding(
                code=Cause.WEAK_CELL,
                severity=FindingSeverity.FAULT,
                module=pos,
                confidence=C.LIKELY,
                message=(
                    f"{_describe(a)} Under {(b.current_ma or 0) / 1000:.1f} A of charge cell {low} rises "
                    f"{r} mV to {(cb.voltage_mv or 0) / 1000:.3f} V while the other cells rise "
                    f"{min(others)}-{max(others)} mV (median {med:.0f}). A cell lower in charge should rise "
                    "less, not more: its internal resistance is high, so it is a weak cell that balancing "
                    "will not fix — the module needs replacing."
                ),
                evidence=[*_cell_refs(a, outl[:3]), cite.line(cb.provenance)],
            )
    return None


def _sag(pos: int, series: list[CellStats]) -> Finding | None:
    """A cell that sags > 50 mV below the median under load (≥ 0.2 C) but is normal at rest."""
    loaded = [
        s
        for s in series
        if s.current_ma is not None
        and s.current_ma < 0
        and s.outliers()
        and s.median_mv - (s.outliers()[0].voltage_mv or 0) >= SAG_UNDER_LOAD_MV
    ]
    rest = [s for s in series if s.current_ma is not None and abs(s.current_ma) < REST_CURRENT_MA]
    for s in loaded:
        if s.soc_pct is not None and not SAG_MIN_SOC_PCT <= s.soc_pct <= SAG_MAX_SOC_PCT:
            continue  # near empty or full the curve is steep: a low-capacity cell sags there too
        cap_ma = abs(s.current_ma or 0)
        # the C-rate check uses 50 Ah when unknown (most common module); heavier modules need more current
        if cap_ma < SAG_MIN_C_RATE * 50_000:
            continue
        cell = s.outliers()[0]
        at_rest = [(r, d) for r in rest if (d := r.deficit(cell.cell)) is not None]
        # normal at rest means close to the others in every rest reading, above as well as below: a cell
        # far above them at rest (the top of charge) or far below is a capacity-loss or low cell, whose
        # voltage also drops under load (field_failures.md #11), not a high-resistance one (#10). Found by
        # simulator cell_under_voltage seed 27: "sits within -258 mV of the others at rest" made it weak_cell.
        if at_rest and all(abs(d) <= SAG_REST_MAX_MV for _, d in at_rest):
            r, d = min(at_rest, key=lambda x: abs(x[1]))
            return Finding(
                code=Cause.WEAK_CELL,
                severity=FindingSeverity.FAULT,
                module=pos,
                confidence=C.PROBABLE,
                message=(
                    f"Cell {cell.cell} sags to {(cell.voltage_mv or 0) / 1000:.3f} V, "
                    f"{s.median_mv - (cell.voltage_mv or 0):.0f} mV below the median, under "
                    f"{abs(s.current_ma or 0) / 1000:.1f} A of discharge, but sits within {abs(d):.0f} mV of "
                    "the others "
                    "at rest: its internal resistance has risen. A high-resistance cell is not "
                    "recoverable by "
                    "balancing."
                ),
                evidence=[cite.line(cell.provenance), cite.line(_cell(r, cell.cell).provenance)],
            )
    return None
