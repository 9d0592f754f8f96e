"""Step 4b — groups of an LV-HUB (multi-group) system: each group's master carries its own group number.

Facts (``shared/domain/hardware/panel_dip.md`` §3-§4 [M: EASY15, UP2500, APT Veyron]): switches 2-4
of a group master give the group number (100 = 1, 010 = 2, 110 = 3, 001 = 4 ...; bit 2 is the least
significant); numbers are unique and sequential across groups; a master left at 000 is not seen as
a group by the hub.
"""

from __future__ import annotations

from collections import Counter

from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.layout import (
    GROUP_BITS,
    captured_master,
    group_of_bits,
    is_multi_group,
    listed_modules,
    stack_ref,
    switches,
)
from pylondiag.model.case import Role
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, ModuleView

FAULT = FindingSeverity.FAULT


def findings(view: CaseView) -> list[Finding]:
    """Group numbers of the group masters; nothing for a single-group stack."""
    listed = listed_modules(view)
    if not is_multi_group(listed):
        return []
    return _multi_group(view, listed)


def _numbering_direction(numbered: list[tuple[int, ModuleView]]) -> int:
    """+1 when the group masters' numbers grow down the stack (top to bottom), -1 when they grow up it.

    Counted over every pair of masters by position; a tie (or too few distinct numbers) reads as +1,
    the case format's own order (``stack`` is listed top to bottom).
    """
    by_pos = sorted(numbered, key=lambda nm: nm[1].position)
    score = sum((b[0] > a[0]) - (b[0] < a[0]) for i, a in enumerate(by_pos) for b in by_pos[i + 1 :])
    return -1 if score < 0 else 1


def _multi_group(view: CaseView, listed: list[ModuleView]) -> list[Finding]:
    """LV-HUB systems: each group's master carries a unique, sequential group number on bits 2-4.

    The fix keeps the masters' order and renumbers them 1..G; a master whose number changes is a
    culprit (``dip_duplicate_address`` when its number was taken twice, else ``dip_address_gap``).
    Between two masters with the same number, the one whose console was captured (named in the
    capture's header comment, or its group's size matches the ``pwr`` table) keeps it; otherwise the
    one that comes first in the direction the other groups are numbered keeps it and the later one is
    renumbered, so the numbers end up running in order through the stack: a duplicate group number is
    almost always switches copied from an existing master onto a group added after it (panel_dip.md
    §3-4; the seed guide: "after adding or removing modules, always verify DIP switches"). Either
    renumbering would work electrically.
    """
    out: list[Finding] = []
    masters = [m for m in listed if m.role == Role.MASTER and m.dip]
    numbered: list[tuple[int, ModuleView]] = []
    for m in masters:
        n = group_of_bits(m.dip or "0000")
        if n == 0:
            want = m.group or 0
            fix = f"set {switches(GROUP_BITS[want])}" if want else "set its group number on switches 2-4"
            out.append(
                Finding(
                    code=Cause.DIP_NO_MASTER,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.STRONG,
                    message=(
                        f"Position {m.position} is the master of group {want or '?'} in a multi-group "
                        "(LV-HUB) "
                        "system but its switches 2-4 are all OFF (group 0), so the hub sees no master for "
                        f"that group. Fix: on position {m.position} {fix}."
                    ),
                    evidence=stack_ref(m, "dip") + stack_ref(m, "group"),
                )
            )
            continue
        numbered.append((n, m))
    if not numbered:
        return out
    captured = captured_master(view, [m for _, m in numbered], listed)
    way = _numbering_direction(numbered)
    order = sorted(
        numbered,
        key=lambda nm: (
            nm[0],
            nm[1] is not captured,
            nm[1].group not in (None, nm[0]),
            way * nm[1].position,
        ),
    )
    counts = Counter(n for n, _ in numbered)
    used = sorted({n for n, _ in numbered})
    for want, (n, m) in enumerate(order, start=1):
        if n == want:
            continue
        dup = counts[n] > 1
        others = ", ".join(str(x.position) for k, x in numbered if k == n and x is not m)
        why = (
            f"its switches 2-4 ({(m.dip or '')[1:]}) set group {n}, the same number as the group master at "
            f"position {others}; each group needs its own number"
            if dup
            else f"the group masters' numbers are {used}, not numbered from 1 in order"
        )
        out.append(
            Finding(
                code=Cause.DIP_DUPLICATE_ADDRESS if dup else Cause.DIP_ADDRESS_GAP,
                severity=FAULT,
                module=m.position,
                confidence=C.FIRM if dup else C.STRONG,
                message=(
                    f"Position {m.position} is a group master in a multi-group (LV-HUB) system and {why}. "
                    f"Fix: on position {m.position} set group {want}: {switches(GROUP_BITS[want])} "
                    "(switch 1 unchanged), then restart the BMS."
                ),
                evidence=stack_ref(m, "dip")
                + [r for k, x in numbered if k == n and x is not m for r in stack_ref(x, "dip")],
            )
        )
    for n, m in numbered:
        if m.group is not None and m.group != n and not any(f.module == m.position for f in out):
            out.append(
                Finding(
                    code=Cause.DIP_ADDRESS_GAP,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.PROBABLE,
                    message=(
                        f"Position {m.position} masters group {m.group} but its switches 2-4 "
                        f"({(m.dip or '')[1:]}) "
                        f"set group {n}. Fix: on position {m.position} set {switches(GROUP_BITS[m.group])}."
                    ),
                    evidence=stack_ref(m, "dip") + stack_ref(m, "group"),
                )
            )
    return out
