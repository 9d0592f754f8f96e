"""The stack's layout as the BMS sees it: group number switches, the link chain, the master.

Not a rule family: the helpers the DIP, group and address families share. Facts
(``shared/domain/hardware/panel_dip.md`` §3-§4 [M: EASY15, UP2500, APT Veyron]): the ADD switch has 4 bits,
switch 1 first; bits 2-4 are the group number, set only on a group master in an LV-HUB system (bit 2
the least significant); slaves get their address 1..16 along the link chain from the master.
"""

from __future__ import annotations

from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis.thresholds import MODEL_GENERATION
from pylondiag.model.case import Role
from pylondiag.model.diagnosis import EvidenceRef
from pylondiag.model.stack import CaseView, ModuleView

GROUP_BITS: Final[dict[int, str]] = {n: f"{n & 1}{(n >> 1) & 1}{(n >> 2) & 1}" for n in range(8)}
"""Group number → switches 2-4 (bit 2 is the LSB): 1 → '100', 2 → '010', 3 → '110'."""


def group_of_bits(dip: str) -> int:
    """Group number set on switches 2-4 of a 4-character DIP string (switch 1 first)."""
    return int(dip[1]) + 2 * int(dip[2]) + 4 * int(dip[3])


def switches(bits: str) -> str:
    on = [str(i) for i, b in enumerate(bits, start=2) if b == "1"]
    off = [str(i) for i, b in enumerate(bits, start=2) if b == "0"]
    parts = []
    if on:
        parts.append(f"switch{'es' if len(on) > 1 else ''} {', '.join(on)} ON")
    if off:
        parts.append(f"switch{'es' if len(off) > 1 else ''} {', '.join(off)} OFF")
    return " and ".join(parts)


def stack_ref(m: ModuleView, field: str) -> list[EvidenceRef]:
    r = cite.stack_key(m.stack_index, field)
    return [r] if r else []


def listed_modules(view: CaseView) -> list[ModuleView]:
    """Modules listed in ``case.yaml``'s ``stack`` (the ones whose switches and roles are known)."""
    return [m for m in view.modules if m.stack_index is not None]


def is_multi_group(listed: list[ModuleView]) -> bool:
    """An LV-HUB system: a module has a group, or several masters carry a group number."""
    return any((m.group or 0) > 0 for m in listed) or (
        any(m.role == Role.MASTER and m.dip and group_of_bits(m.dip) > 0 for m in listed)
        and sum(1 for m in listed if m.role == Role.MASTER) > 1
    )


def chain_fit(master: ModuleView, members: list[ModuleView]) -> int:
    """How many modules' addresses fit a link chain starting at ``master``: the BMS numbers modules
    1, 2, 3 ... along the chain, so a module k slots away (in one direction) should have address k+1."""
    best = 0
    for direction in (1, -1):
        score = 0
        for m in members:
            d = (m.position - master.position) * direction
            if m is not master and d > 0 and m.address == d + 1:
                score += 1
        best = max(best, score)
    return best


def true_master(masters: list[ModuleView], members: list[ModuleView]) -> ModuleView:
    """The master the others' addresses agree with; then address 1, the newest model, the first position."""
    return max(
        masters,
        key=lambda m: (chain_fit(m, members), m.address == 1, generation(m), -m.position),
    )


def captured_master(view: CaseView, masters: list[ModuleView], listed: list[ModuleView]) -> ModuleView | None:
    """The group master whose console the ``pwr`` was read on: its group (itself plus the modules whose
    addresses run on from it) has as many modules as ``pwr`` shows present. None when not unique."""
    snap = view.latest_pwr()
    if snap is None:
        return None
    noted = view.console_positions.get(snap.source)
    for m in masters:
        if m.position == noted:
            return m  # the capture says on whose console it was taken
    present = len(snap.present_rows())
    hits = [m for m in masters if 1 + chain_fit(m, listed) == present]
    return hits[0] if len(hits) == 1 else None


def generation(m: ModuleView) -> int:
    return MODEL_GENERATION.get(m.model or "", 0)


def fits_chain(master: ModuleView, m: ModuleView) -> bool:
    d = abs(m.position - master.position)
    return m.address == d + 1
