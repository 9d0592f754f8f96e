"""Each module compared with its neighbours at the same moment (issue 11 item 2).

The modules of one stack sit on one DC bus: in one ``pwr`` snapshot they share the bus voltage, carry
the same kind of current (all charging, all discharging or all at rest) and sit in the same room. A
module whose own cells spread far more than every neighbour's, in the same snapshot, is that module —
whatever the state of charge, because the comparison cancels what the absolute envelope of
:mod:`~pylondiag.diagnosis.cells` guards against (the LFP plateau, load, temperature).

Facts: ``pwr`` gives each module's lowest and highest cell voltage (``Vlow``/``Vhigh``) at one moment
(``hardware/console_fields.md`` [C]); modules in parallel share the bus voltage, so their cells sit at
the same average voltage and a healthy, balanced module shows the same few-mV spread as its
neighbours (real captures: five US2000-class modules discharging 2.2-3.6 A with spreads of 1-3 mV,
Hrabovszki [C]; four US5000 discharging 1.5-5.7 A, 1 mV each, guybw#3 [C]). A spread several tens of mV
larger than every neighbour's at the same moment is one module's cells out of step (a low or high cell:
imbalance or a weak cell — ``bat N`` at the top of charge tells which).

What this family says is a **warning** (``monitor``) with the figures of the comparison: it names the
module and asks for the reading that judges it; the cells family decides imbalance against weak cell.
Temperature is compared with the neighbours in :mod:`~pylondiag.diagnosis.bms_states` (hot spot at
similar current); the SOC gauge is not compared (generations drift apart at equal voltage — field
failures #2, irekzielinski#32 — so a SOC gap alone is no sign of a fault).
"""

from __future__ import annotations

import statistics
from typing import Final

from pylondiag.diagnosis import cite, coverage
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.thresholds import CELL_SPREAD_FAULT_MV, ENVELOPE_MIN_CELL_MV, ENVELOPE_MIN_SOC_PCT
from pylondiag.model.console import PwrRow
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, PwrSnapshot

MIN_MODULES: Final = 3
"""Modules in the snapshot: with two, neither can be called the odd one out."""
QUIET_SPREAD_MV: Final = 20
"""mV: every neighbour's cell spread must be at most this for the comparison to mean something (a
stack whose modules all spread under heavy load says nothing about one of them)."""
DEPART_MV: Final = 40
"""mV: a module's cell spread this much above its neighbours' median at the same moment departs from
them (ten times the 1-4 mV of the healthy real stacks above)."""
REST_MA: Final = 500
"""mA: below this a module counts as at rest when comparing current directions."""
CONFIDENCE: Final = C.FAIR
"""One direct sign with no corroboration."""


def _spread(r: PwrRow) -> int | None:
    if r.cell_voltage_low_mv is None or r.cell_voltage_high_mv is None:
        return None
    return r.cell_voltage_high_mv - r.cell_voltage_low_mv


def _direction(r: PwrRow) -> int:
    i = r.current_ma or 0
    return 0 if abs(i) < REST_MA else (1 if i > 0 else -1)


def findings(view: CaseView) -> list[Finding]:
    """One warning per module whose cell spread departs from its neighbours' in some snapshot."""
    out: dict[int, Finding] = {}
    for snap in view.pwr:
        for pos, f in _departures(view, snap):
            if pos not in out:
                out[pos] = f
    return [out[p] for p in sorted(out)]


def _at_top(r: PwrRow) -> bool:
    """Near full the cells fan out on the steep end of the curve and the absolute top-of-charge envelope
    of the cells family judges each module with a whole ``bat N`` on its own; the comparison is for
    everywhere else, and at the top for the modules whose cells were not all read."""
    return (r.soc_pct is not None and r.soc_pct >= ENVELOPE_MIN_SOC_PCT) or (
        r.cell_voltage_high_mv is not None and r.cell_voltage_high_mv >= ENVELOPE_MIN_CELL_MV
    )


def _departures(view: CaseView, snap: PwrSnapshot) -> list[tuple[int, Finding]]:
    rows = [r for r in snap.present_rows() if _spread(r) is not None]
    if len(rows) < MIN_MODULES or len({_direction(r) for r in rows}) != 1:
        return []
    at_top = any(_at_top(r) for r in rows)
    judged = _cells_judged(view) if at_top else set()
    found: list[tuple[int, Finding]] = []
    for r in rows:
        others = [_spread(o) or 0 for o in rows if o is not r]
        s = _spread(r) or 0
        med = statistics.median(others)
        pos = view.position_of(r.address)
        if pos is None or pos in judged or max(others) > QUIET_SPREAD_MV or s - med < DEPART_MV:
            continue
        if at_top and s <= CELL_SPREAD_FAULT_MV:  # near full healthy cells fan out: only past balancing
            continue
        found.append((pos, _finding(pos, r, s, others, med)))
    return found


def _range(values: list[int]) -> str:
    """``4-9`` or, when all are equal, ``6``."""
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def _cells_judged(view: CaseView) -> set[int]:
    """Positions whose every cell was read in a ``bat N``: at the top of charge the cells family judges
    them on their own cells. A module with no ``bat N``, or one with cells missing from it (a row garbled
    on the wire), is still compared here: its ``pwr`` Vlow/Vhigh is then the only word on its cells (a
    capture of ``pwr`` alone at 100 % is common, and was called no_fault with one module 89 mV apart).
    There, where healthy cells fan out, a module is named only past the spread the balancers keep up
    with (``CELL_SPREAD_FAULT_MV``, the cells family's line) as well as apart from its neighbours."""
    partial = {pos for pos, _ in coverage.cells_unread(view)}
    return {b.position for b in view.bat if b.position is not None and b.position not in partial}


def _finding(pos: int, r: PwrRow, s: int, others: list[int], med: float) -> Finding:
    i = (r.current_ma or 0) / 1000
    when = "at rest" if abs(i) < REST_MA / 1000 else f"{'charging' if i > 0 else 'discharging'} ({i:+.1f} A)"
    soc = f" at {r.soc_pct} %" if r.soc_pct is not None else ""
    return Finding(
        code=Cause.CELL_IMBALANCE,
        severity=FindingSeverity.WARNING,
        module=pos,
        confidence=CONFIDENCE,
        message=(
            f"Compared with its neighbours at the same moment: address {r.address}'s cells spread {s} mV "
            f"(Vlow {(r.cell_voltage_low_mv or 0) / 1000:.3f} V, "
            f"Vhigh {(r.cell_voltage_high_mv or 0) / 1000:.3f} V)"
            f" while the other {len(others)} modules, {when}{soc} on the same bus, spread {_range(others)} mV"
            f" (median {med:.0f}). One module's cells out of step with the rest is that "
            f"module, not the load or the room. Capture `bat {r.address}` at 100 % and idle to tell an "
            "imbalance (rebalance) from a weak cell (replace)."
        ),
        evidence=[cite.line(r.provenance)],
    )
