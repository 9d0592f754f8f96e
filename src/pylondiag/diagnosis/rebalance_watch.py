"""Verdict on a controlled rebalancing hold from a series of one module's ``bat N`` readings (pure).

A rebalancing cycle holds the stack at 100 % for hours so the ~50 mA passive balancers can bleed the
high cells down to the low one (specs.md §1 VIC536 [T]; field_failures.md #6 [C]). Over the series:

* **balanced** — the latest top-of-charge spread is at or below the target (the "done" line of the
  rebalancing advice, :data:`~pylondiag.diagnosis.thresholds.CELL_SPREAD_WARN_MV`);
* **not_converging** — after :data:`STALL_WINDOW_H` at the top the spread has not come down by
  :data:`STALL_MIN_GAIN_MV` over the last window: the balancers are not winning, the same low cell
  stays low — a weak (leaky or high-resistance) cell;
* **hold_longer** — still coming down (or too early to say); at the hold limit, with the rate and the
  projected hours to the target.

Only readings at the top of charge with the charge current tapered count (the validity envelope of
the cell rules: :data:`~pylondiag.diagnosis.thresholds.ENVELOPE_MIN_SOC_PCT`,
:data:`~pylondiag.diagnosis.thresholds.ENVELOPE_MIN_CELL_MV`, and :data:`SETTLED_MAX_MA`); the others
are kept as evidence but judged as "not yet at the top".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pylondiag.diagnosis.thresholds import CELL_SPREAD_WARN_MV, ENVELOPE_MIN_CELL_MV, ENVELOPE_MIN_SOC_PCT

STALL_WINDOW_H = 2.0
"""h: the window over which a hold must show progress. Tool parameter [U]: at ~50 mA the balancers
move 0.1 Ah in 2 h, which on the steep top of the LFP curve is tens of mV for a cell a few tenths of
an Ah behind (specs.md §1 [T])."""
STALL_MIN_GAIN_MV = 5
"""mV: less improvement than this over :data:`STALL_WINDOW_H` is no progress (about the console's
reading-to-reading noise at the top, GPollakDiener series [C])."""

SETTLING_RISE_MV = 20
"""mV: a spread that widens faster than this over :data:`STALL_WINDOW_H` is still settling — the high
cells climbing the knee of the curve as the module tops up — not a verdict yet (until the hold limit).
Tool parameter [U]; a weak cell's spread at the top stays flat or creeps up a few mV. Still settling
at the hold limit is "hold longer", not a weak cell."""

SETTLED_MAX_MA = 2000
"""mA: a reading counts for the verdict once the charge current has tapered to this or less — the
module sits at the top and the balancers do the work. While the charger still pushes tens of amps the
cells climb the knee and the spread first widens. Tool parameter [U] (0.04 C on a 50 Ah US2000C,
below the 0.1 C validity envelope of the cell rules)."""

Verdict = Literal["balanced", "hold_longer", "not_converging"]


@dataclass(frozen=True)
class HoldReading:
    """One ``bat N`` reading during the hold."""

    time: datetime
    cells_mv: tuple[int, ...]
    soc_pct: int | None = None
    current_ma: int | None = None

    @property
    def spread_mv(self) -> int:
        return max(self.cells_mv) - min(self.cells_mv)

    @property
    def low_cell(self) -> int:
        return self.cells_mv.index(min(self.cells_mv))

    @property
    def at_top(self) -> bool:
        """At the top of charge with the charge current tapered (the hold proper)."""
        full = (self.soc_pct is not None and self.soc_pct >= ENVELOPE_MIN_SOC_PCT) or max(
            self.cells_mv
        ) >= ENVELOPE_MIN_CELL_MV
        return full and (self.current_ma is None or abs(self.current_ma) <= SETTLED_MAX_MA)


@dataclass(frozen=True)
class WatchVerdict:
    verdict: Verdict
    readings: int
    top_readings: int
    hours: float
    start_spread_mv: int | None
    end_spread_mv: int | None
    best_spread_mv: int | None
    target_mv: int
    rate_mv_per_h: float | None
    """Fall of the spread over the last window (mV/h; positive = improving)."""
    low_cell: int | None
    same_low_cell: bool
    hours_to_target: float | None
    reason: str

    def detail(self, module: int) -> str:
        """The figures in one line, for ``case.yaml`` ``history[].detail`` (engineer words)."""
        parts = [f"pylondiag watch, module {module}: {self.readings} reading(s) over {self.hours:.1f} h"]
        if self.start_spread_mv is not None:
            parts.append(
                f"cell spread {self.start_spread_mv} → {self.end_spread_mv} mV "
                f"(best {self.best_spread_mv}, target ≤ {self.target_mv})"
            )
        if self.rate_mv_per_h is not None:
            parts.append(f"falling {self.rate_mv_per_h:.1f} mV/h over the last {STALL_WINDOW_H:g} h")
        if self.low_cell is not None:
            parts.append(f"lowest cell {self.low_cell}" + (" throughout" if self.same_low_cell else ""))
        parts.append(f"verdict: {self.verdict.replace('_', ' ')} ({self.reason})")
        return "; ".join(parts)


def judge(
    readings: Sequence[HoldReading],
    *,
    target_mv: int = CELL_SPREAD_WARN_MV,
    hold_limit_h: float | None = None,
) -> WatchVerdict:
    """The verdict over ``readings`` (any order; sorted by time here)."""
    series = sorted(readings, key=lambda r: r.time)
    top = [r for r in series if r.at_top]
    hours = (series[-1].time - series[0].time).total_seconds() / 3600 if series else 0.0
    if not top:
        return _verdict(
            "hold_longer", series, top, hours, target_mv, None, None, "no reading at the top of charge yet"
        )
    top_hours = (top[-1].time - top[0].time).total_seconds() / 3600
    end = top[-1]
    rate = _rate(top)
    to_target = None
    if rate is not None and rate > 0 and end.spread_mv > target_mv:
        to_target = (end.spread_mv - target_mv) / rate
    if end.spread_mv <= target_mv:
        return _verdict(
            "balanced", series, top, hours, target_mv, rate, to_target, "spread at or below the target"
        )
    at_limit = hold_limit_h is not None and hours >= hold_limit_h
    settling = rate is not None and -rate * STALL_WINDOW_H > SETTLING_RISE_MV
    if settling:
        return _verdict(
            "hold_longer", series, top, hours, target_mv, rate, None, "cells still settling at the top"
        )
    if top_hours >= STALL_WINDOW_H and (rate is None or rate * STALL_WINDOW_H < STALL_MIN_GAIN_MV):
        why = (
            f"the spread fell less than {STALL_MIN_GAIN_MV} mV in {STALL_WINDOW_H:g} h at the top of charge: "
            "the balancers are not catching up with the low cell"
        )
        return _verdict("not_converging", series, top, hours, target_mv, rate, to_target, why)
    if at_limit:
        why = f"still improving at the {hold_limit_h:g} h hold limit" + (
            f"; about {to_target:.1f} h more to reach the target" if to_target is not None else ""
        )
        return _verdict("hold_longer", series, top, hours, target_mv, rate, to_target, why)
    return _verdict("hold_longer", series, top, hours, target_mv, rate, to_target, "still coming down")


def _rate(top: Sequence[HoldReading]) -> float | None:
    """Fall of the spread (mV/h) between the first reading of the last window and the last reading."""
    if len(top) < 2:
        return None
    end = top[-1]
    start = next((r for r in top if (end.time - r.time).total_seconds() / 3600 <= STALL_WINDOW_H), top[0])
    if start is end:
        start = top[-2]
    dt = (end.time - start.time).total_seconds() / 3600
    return (start.spread_mv - end.spread_mv) / dt if dt > 0 else None


def _verdict(
    verdict: Verdict,
    series: Sequence[HoldReading],
    top: Sequence[HoldReading],
    hours: float,
    target_mv: int,
    rate: float | None,
    to_target: float | None,
    reason: str,
) -> WatchVerdict:
    lows = {r.low_cell for r in top}
    return WatchVerdict(
        verdict=verdict,
        readings=len(series),
        top_readings=len(top),
        hours=hours,
        start_spread_mv=top[0].spread_mv if top else None,
        end_spread_mv=top[-1].spread_mv if top else None,
        best_spread_mv=min(r.spread_mv for r in top) if top else None,
        target_mv=target_mv,
        rate_mv_per_h=rate,
        low_cell=top[-1].low_cell if top else None,
        same_low_cell=len(lows) == 1,
        hours_to_target=to_target,
        reason=reason,
    )
