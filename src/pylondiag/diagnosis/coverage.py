"""What the case actually read of each module: absent evidence is not normal evidence (issue 11 item 1).

Not a rule family: the engine asks it before it may call a stack ``no_fault``, and the LED answers ask
it which readings belong to which position.

A module's **states were read** when a record that carries its BMS states is in the case for its
position: a present row of a ``pwr`` table (base/volt/current/temperature states), ``pwr N``, ``bat N``
(cell states) or ``stat N`` (protection counters). ``info`` (model, firmware, barcode), ``soh`` (per
cell SOH counts) and ``pwrsys`` (the master's totals: module count, system SOC/SOH) are used for what
they hold and no more: they never make a module "read" (``shared/domain/hardware/console_fields.md``:
none of them prints a module's live state words).

The stack's **membership is known** when ``case.yaml`` lists the stack or a whole ``pwr`` table was read
(it prints a row for every address the master can hold, present or Absent; a table with rows missing —
garbled, or elided in a quoted excerpt — does not tell it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import EventQuery


@dataclass(frozen=True)
class Coverage:
    """Which positions had their states read, which known positions did not, and what else is known."""

    read: frozenset[int]
    """Positions with a ``pwr`` row, ``pwr N``, ``bat N`` or ``stat N`` of their own."""
    unread: tuple[int, ...]
    """Known positions (``case.yaml`` or any reading) whose states were not read, in order."""
    membership_known: bool
    """``case.yaml`` lists the stack, or a ``pwr`` table was read."""
    other_records: tuple[str, ...]
    """Console commands that were read but carry no module states (``info``, ``soh``, ``pwrsys``, ``log``)."""
    cells_unread: tuple[tuple[int, tuple[int, ...]], ...] = ()
    """(position, cell indices) missing from the position's latest ``bat N``: a row skipped as unreadable
    or a table cut short. Those cells' voltages are unknown, not normal."""

    @property
    def complete(self) -> bool:
        """Every module of a known stack had its states read."""
        return bool(self.read) and not self.unread and self.membership_known and not self.cells_unread


CELLS_PER_MODULE: Final = 15
"""``bat N`` prints 15 rows, cells 0..14 (``shared/domain/hardware/specs.md``, Cells: 15S, [C])."""


def cells_unread(view: CaseView) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Per position, the cells missing from its latest ``bat N`` table (numbered 0..14, or 1..15 should
    a firmware count from one)."""
    latest = {b.position: b for b in view.bat if b.position is not None}
    out: list[tuple[int, tuple[int, ...]]] = []
    for position in sorted(latest):
        printed = {c.cell for c in latest[position].table.cells}
        first = 1 if printed and min(printed) == 1 else 0
        missing = tuple(i for i in range(first, first + CELLS_PER_MODULE) if i not in printed)
        if printed and missing:
            out.append((position, missing))
    return tuple(out)


def of(view: CaseView) -> Coverage:
    """The coverage of ``view``: pure, from the view's readings."""
    read: set[int] = set()
    for snap in view.pwr:
        for r in snap.present_rows():
            pos = view.position_of(r.address)
            if pos is None and not view.modules:
                pos = r.address
            if pos is not None:
                read.add(pos)
    for rec in (*view.bat, *view.pwr_detail, *view.stats):
        if rec.position is not None:
            read.add(rec.position)
    known = [m.position for m in view.modules]
    unread = tuple(p for p in known if p not in read)
    membership = any(s.rows_complete() for s in view.pwr) or bool(view.case is not None and view.case.stack)
    other: list[str] = []
    if view.infos:
        other.append("info")
    if view.soh:
        other.append("soh")
    if view.pwrsys:
        other.append("pwrsys")
    if view.logs:
        other.append("log")
    return Coverage(
        read=frozenset(read),
        unread=unread,
        membership_known=membership,
        other_records=tuple(other),
        cells_unread=cells_unread(view),
    )


def positions_text(positions: list[int] | tuple[int, ...]) -> str:
    """``position 1``, ``positions 1 and 3``, ``positions 1, 2 and 4``."""
    names = [str(p) for p in positions]
    if len(names) <= 1:
        return "position " + "".join(names)
    return "positions " + ", ".join(names[:-1]) + " and " + names[-1]


def known_facts(view: CaseView) -> list[str]:
    """What the records without module states do tell (for the summary of a case that cannot be judged):
    module count and SOC/SOH from ``pwrsys``, model/firmware/barcode from ``info``, SOH from ``soh``."""
    facts: list[str] = []
    for ps in view.pwrsys[-1:]:
        sys_rec = ps.record
        bits = []
        if sys_rec.total_num is not None:
            present = f", {sys_rec.present_num} present" if sys_rec.present_num is not None else ""
            bits.append(f"{sys_rec.total_num} modules{present}")
        if sys_rec.system_soc_pct is not None:
            bits.append(f"system SOC {sys_rec.system_soc_pct} %")
        if sys_rec.system_soh_pct is not None:
            bits.append(f"system SOH {sys_rec.system_soh_pct} %")
        if bits:
            facts.append("the master's `pwrsys` reports " + ", ".join(bits))
    for inf in view.infos:
        rec = inf.info
        firmware = f"firmware {rec.main_soft_version}" if rec.main_soft_version else None
        bits = [b for b in (rec.device_name, firmware) if b]
        if rec.barcode:
            bits.append(f"barcode {rec.barcode}")
        if bits:
            where = f"position {inf.position}" if inf.position is not None else "the module read"
            facts.append(f"`info` of {where}: {', '.join(bits)}")
    for sr in view.soh:
        cells = sr.table.cells
        abnormal = [c.cell for c in cells if (c.soh_status or "").strip().lower() not in ("", "normal")]
        where = f"position {sr.position}" if sr.position is not None else "the module read"
        state = f"cell(s) {', '.join(map(str, abnormal))} Abnormal" if abnormal else "every cell Normal"
        facts.append(f"`soh` of {where}: {len(cells)} cells, {state}")
    return facts


def no_fault_blockers(view: CaseView, cover: Coverage) -> list[str]:
    """Why a case without findings cannot be called ``no_fault`` on its module data (empty when it can).

    Each reason is a clause for the summary ("Not enough evidence to decide: ...").
    """
    if not cover.read:
        held = [f"`{c}`" for c in _held(view, cover)]
        if not view.has_console() and not held and not view.has_events():
            if view.has_bus():
                return ["no module states were read: the CAN bus carries the stack's totals and flags only"]
            return ["no console capture or event log was readable"]
        if view.has_events() and not held:
            return ["no module states were read: only the inverter's event log was supplied"]
        return [f"no module states were read: the console capture holds only {positions_text_words(held)}"]
    if cover.unread:
        return [f"the states of {positions_text(cover.unread)} were not read"]
    if cover.cells_unread:
        return [f"{_cells_text(cover.cells_unread)} could not be read"]
    if not cover.membership_known:
        return [
            f"only {positions_text(sorted(cover.read))} {'was' if len(cover.read) == 1 else 'were'} read "
            "and the rest of the stack is not known (no whole `pwr` table, with a row for every address, "
            "and no stack in case.yaml)"
        ]
    return []


def _held(view: CaseView, cover: Coverage) -> list[str]:
    """The console commands a case without module states holds: the records that say something
    (``info``, ``soh``, ``pwrsys``, ``log``) and those the rules do not read (``time``, ``help``...)."""
    return list(dict.fromkeys([*cover.other_records, *view.console_unused]))


def positions_text_words(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def gaps(view: CaseView, cover: Coverage) -> list[str]:
    """Exact captures that would let the case be judged, for the modules not read."""
    out: list[str] = []
    held_commands = _held(view, cover) if not cover.read else []
    if held_commands:
        held = positions_text_words([f"`{c}`" for c in held_commands])
        told = (
            "model, firmware, SOH or module count, but no module states"
            if cover.other_records
            else "no module states"
        )
        out.append(
            f"The console capture holds only {held}: {told}. On the master's console run `pwr`, then "
            "`bat N` and `stat N` for each module N."
        )
    if cover.read and cover.unread:
        cmds = ", ".join(
            dict.fromkeys(f"`bat {_addr(view, p)}`, `stat {_addr(view, p)}`" for p in cover.unread[:8])
        )
        verb = "was" if len(cover.unread) == 1 else "were"
        where = positions_text(cover.unread)
        out.append(
            f"{where[0].upper()}{where[1:]} of the stack {verb} not read: run `pwr` on the master's console "
            f"(every module's state in one table) and {cmds}."
        )
    if cover.cells_unread:
        cmds = ", ".join(f"`bat {_addr(view, p)}`" for p, _ in cover.cells_unread[:8])
        said = _cells_text(cover.cells_unread[:8])
        out.append(
            f"{said[0].upper()}{said[1:]} could not be read (a line garbled or cut short): that voltage is "
            f"unknown, not normal. Capture {cmds} again."
        )
    if cover.read and not cover.membership_known:
        out.append(
            "Only part of the stack was read and the stack itself is not described: run `pwr` on the "
            "master's console (one row per module) and list the modules in case.yaml (stack[])."
        )
    return out


def _cells_text(unread: tuple[tuple[int, tuple[int, ...]], ...]) -> str:
    """``cell 7 of position 2``, ``cells 3 and 4 of position 1 and cell 9 of position 5``."""
    parts = []
    for position, cells in unread:
        noun = "cell" if len(cells) == 1 else "cells"
        parts.append(f"{noun} {positions_text_words([str(c) for c in cells])} of position {position}")
    return positions_text_words(parts)


def _addr(view: CaseView, position: int) -> int:
    m = view.module(position)
    return m.address if m is not None and m.address is not None else position


def line_positions(view: CaseView) -> dict[tuple[str, int], int]:
    """(source, line) of every reading that belongs to one module → its position: ``pwr`` rows, ``pwr N``,
    ``bat N`` (header and cells), ``stat N`` counters, and events that name a module. Lets a stack-level
    finding be tied to the modules whose readings it cites, and no others."""
    out: dict[tuple[str, int], int] = {}
    for snap in view.pwr:
        for r in snap.present_rows():
            pos = view.position_of(r.address)
            if pos is not None:
                out[(snap.source, r.line)] = pos
    for b in view.bat:
        if b.position is not None:
            out[(b.source, b.table.provenance.line)] = b.position
            for c in b.table.cells:
                out[(b.source, c.line)] = b.position
    for d in view.pwr_detail:
        if d.position is not None:
            out[(d.source, d.detail.provenance.line)] = d.position
            for kv in d.detail.fields:
                out[(d.source, kv.line)] = d.position
    for st in view.stats:
        if st.position is not None:
            out[(st.source, st.stat.provenance.line)] = st.position
            for line in st.stat.lines.values():
                out[(st.source, line)] = st.position
    for source, line, module in view.events.where(EventQuery(names_module=True)).cited_modules():
        pos = view.position_of(module)
        if pos is not None:
            out.setdefault((source, line), pos)
    return out
