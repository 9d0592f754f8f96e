"""Step 4 — configuration: masters, group numbers, baud bit, addresses, module count, mixed models,
inverter battery settings and charge limits.

The real hardware (``shared/domain/README.md``; ``hardware/panel_dip.md`` §3-§4 [M: EASY15, UP2500,
APT Veyron]):

- The ADD (DIP) switch has 4 bits, switch 1 first. **Bit 1** = RS485 baud to the inverter (OFF =
  115200, ON = 9600); it must be the same on every module and match the inverter.
- **Bits 2-4** = the group number, set **only on the master of each group** in a multi-group (LV-HUB)
  system: 000 = single group, 100 = group 1, 010 = 2, 110 = 3, 001 = 4, 101 = 5, 011 = 6, 111 = 7
  (bit 2 is the least significant). Group numbers are unique and sequential across groups.
- **Slaves** leave all group bits OFF; their address (1..16 in ``pwr``) is assigned automatically
  along the link chain from the master, not by DIP. DIP advice copied from other brands' manuals
  (a per-module address such as "0001" on the master) is wrong for Pylontech US modules.
- **Master** = the module whose Link Port 0 is empty, cabled to the inverter; exactly one per group.
  Two "masters" = the link chain is broken or mis-cabled, or two strings are joined wrongly.
- The newest model/firmware must be the master in a mixed-generation stack (§4 rule 2 [T]).
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis.brand_settings import setting_mismatch, spec_for
from pylondiag.diagnosis.isolation import module_capacity_ah
from pylondiag.diagnosis.thresholds import (
    CAPACITY_MISMATCH_FRACTION,
    MAX_CHARGE_VOLTAGE_V,
    MAX_DISCHARGE_CURRENT_A,
    MODEL_CLASS,
    MODEL_GENERATION,
    RECOMMENDED_CHARGE_VOLTAGE_V,
    RECOMMENDED_CURRENT_A,
)
from pylondiag.model.case import HistoryEvent, Inverter, Role, Symptom
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, ModuleView

FAULT = FindingSeverity.FAULT
WARNING = FindingSeverity.WARNING
INFO = FindingSeverity.INFO

GROUP_BITS: Final[dict[int, str]] = {n: f"{n & 1}{(n >> 1) & 1}{(n >> 2) & 1}" for n in range(8)}
"""Group number → switches 2-4 (bit 2 is the LSB): 1 → '100', 2 → '010', 3 → '110'."""


def group_of_bits(dip: str) -> int:
    return int(dip[1]) + 2 * int(dip[2]) + 4 * int(dip[3])


def _switches(bits: str) -> str:
    on = [str(i) for i, b in enumerate(bits, start=2) if b == "1"]
    off = [str(i) for i, b in enumerate(bits, start=2) if b == "0"]
    parts = []
    if on:
        parts.append(f"switch{'es' if len(on) > 1 else ''} {', '.join(on)} ON")
    if off:
        parts.append(f"switch{'es' if len(off) > 1 else ''} {', '.join(off)} OFF")
    return " and ".join(parts)


def _ref(m: ModuleView, field: str) -> list[EvidenceRef]:
    r = cite.stack_key(m.stack_index, field)
    return [r] if r else []


def findings(view: CaseView) -> list[Finding]:
    out: list[Finding] = []
    out += _dip_rules(view)
    out += _address_rules(view)
    out += _missing_from_pwr(view)
    out += _mixed_models(view)
    out += _inverter_rules(view)
    out += _comms(view)
    return out


# ---------------------------------------------------------------- DIP / master / group
def _dip_rules(view: CaseView) -> list[Finding]:
    """Baud bit consistency, group bits on slaves, group numbering, masters per group."""
    out: list[Finding] = []
    listed = [m for m in view.modules if m.stack_index is not None]
    with_dip = [m for m in listed if m.dip]
    multi_group = any((m.group or 0) > 0 for m in listed) or (
        any(m.role == Role.MASTER and m.dip and group_of_bits(m.dip) > 0 for m in listed)
        and sum(1 for m in listed if m.role == Role.MASTER) > 1
    )

    # Bit 1: the RS485 baud must be the same on every module.
    if len(with_dip) >= 2:
        bauds = Counter(m.dip[0] for m in with_dip if m.dip)
        if len(bauds) > 1:
            master_bit = next((m.dip[0] for m in with_dip if m.role == Role.MASTER and m.dip), None)
            common, n_common = bauds.most_common(1)[0]
            tie = list(bauds.values()).count(n_common) > 1
            right = master_bit if (tie and master_bit) else common
            for m in with_dip:
                if m.dip and m.dip[0] != right:
                    want = "OFF (115200 baud)" if right == "0" else "ON (9600 baud)"
                    out.append(
                        Finding(
                            code=Cause.INVERTER_COMMS_CONFIG,
                            severity=FAULT,
                            module=m.position,
                            confidence=0.85,
                            message=(
                                f"DIP switch 1 (RS485 baud to the inverter) on position {m.position} is "
                                f"{'ON (9600)' if m.dip[0] == '1' else 'OFF (115200)'} while the other "
                                "modules "
                                f"have it {want}; it must be the same on every module and match the "
                                "inverter. "
                                f"Fix: on position {m.position} set switch 1 {want.split(' ')[0]}, then "
                                "restart "
                                "the BMS (the switch is read at start-up)."
                            ),
                            evidence=_ref(m, "dip"),
                        )
                    )

    if not multi_group:
        # Single group: only a 000 group field is valid, on every module.
        for m in with_dip:
            if not m.dip or group_of_bits(m.dip) == 0:
                continue
            if m.role == Role.MASTER:
                code, why = (
                    Cause.DIP_ADDRESS_GAP,
                    f"position {m.position} is the master of a single-group stack but its switches 2-4 "
                    f"({m.dip[1:]}) set group {group_of_bits(m.dip)}; without an LV-HUB the group must be 0",
                )
            else:
                code, why = (
                    Cause.DIP_MULTIPLE_MASTERS,
                    f"position {m.position} is {'a slave' if m.role == Role.SLAVE else 'not the master'} "
                    "but its "
                    f"switches 2-4 ({m.dip[1:]}) set group {group_of_bits(m.dip)}, as only a group master's "
                    "do — "
                    "typically a per-module address copied from another brand's manual; Pylontech slaves get "
                    "their address from the link chain",
                )
            out.append(
                Finding(
                    code=code,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.85,
                    message=(
                        f"{why[0].upper()}{why[1:]}. Fix: on position {m.position} set switches 2, 3 and 4 "
                        "OFF "
                        f"(DIP '{m.dip[0]}000'; keep switch 1 as on the other modules)."
                    ),
                    evidence=_ref(m, "dip") + _ref(m, "role"),
                )
            )
    else:
        out += _multi_group(view, listed)

    # Masters per group (from roles, as wired). In a multi-group system only modules whose group is
    # given can be placed in a group.
    groups: dict[int, list[ModuleView]] = {}
    for m in listed:
        if multi_group and m.group is None:
            continue
        groups.setdefault(m.group or 0, []).append(m)
    for g, members in sorted(groups.items()):
        if multi_group:
            break  # group masters are judged by their group numbers (_multi_group)
        masters = [m for m in members if m.role == Role.MASTER]
        where = f"group {g}" if multi_group else "the stack"
        roles_known = all(m.role is not None for m in members)
        if len(masters) > 1:
            keep = _captured_master(view, masters, members) or true_master(masters, members)
            names = ", ".join(str(x.position) for x in masters)
            for m in masters:
                if m is keep:
                    continue
                out.append(
                    Finding(
                        code=Cause.DIP_MULTIPLE_MASTERS,
                        severity=FAULT,
                        module=m.position,
                        confidence=0.85,
                        message=(
                            f"Positions {names} are all set up as master of {where}; only one module may be "
                            "master — the one whose Link Port 0 is empty and that is cabled to the inverter "
                            f"(here position {keep.position}). "
                            "Two masters mean the link chain is broken or two strings are joined wrongly. "
                            f"Fix: on position {m.position} connect Link Port 0 to Link Port 1 of its "
                            "neighbour in the chain, unplug any inverter cable from it, and set its switches "
                            "2-4 OFF."
                        ),
                        evidence=_ref(m, "role") + _ref(keep, "role"),
                    )
                )
        elif not masters and roles_known and members:
            first = min(members, key=lambda m: (m.address or 99, m.position))
            out.append(
                Finding(
                    code=Cause.DIP_NO_MASTER,
                    severity=FAULT,
                    module=None,
                    confidence=0.75,
                    message=(
                        f"No module of {where} is the master: every module is listed as a slave. Exactly one "
                        "module must have its Link Port 0 empty and be cabled to the inverter (CAN or "
                        "RS485). "
                        f"Fix: make position {first.position} the master — inverter cable into its CAN/RS485 "
                        "port, nothing in its Link Port 0 — and chain the others from its Link Port 1."
                    ),
                    evidence=[r for m in members for r in _ref(m, "role")][:6],
                )
            )
    return out


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
        key=lambda m: (chain_fit(m, members), m.address == 1, _generation(m), -m.position),
    )


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
            fix = f"set {_switches(GROUP_BITS[want])}" if want else "set its group number on switches 2-4"
            out.append(
                Finding(
                    code=Cause.DIP_NO_MASTER,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.8,
                    message=(
                        f"Position {m.position} is the master of group {want or '?'} in a multi-group "
                        "(LV-HUB) "
                        "system but its switches 2-4 are all OFF (group 0), so the hub sees no master for "
                        f"that group. Fix: on position {m.position} {fix}."
                    ),
                    evidence=_ref(m, "dip") + _ref(m, "group"),
                )
            )
            continue
        numbered.append((n, m))
    if not numbered:
        return out
    captured = _captured_master(view, [m for _, m in numbered], listed)
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
                confidence=0.85 if dup else 0.8,
                message=(
                    f"Position {m.position} is a group master in a multi-group (LV-HUB) system and {why}. "
                    f"Fix: on position {m.position} set group {want}: {_switches(GROUP_BITS[want])} "
                    "(switch 1 unchanged), then restart the BMS."
                ),
                evidence=_ref(m, "dip")
                + [r for k, x in numbered if k == n and x is not m for r in _ref(x, "dip")],
            )
        )
    for n, m in numbered:
        if m.group is not None and m.group != n and not any(f.module == m.position for f in out):
            out.append(
                Finding(
                    code=Cause.DIP_ADDRESS_GAP,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.7,
                    message=(
                        f"Position {m.position} masters group {m.group} but its switches 2-4 "
                        f"({(m.dip or '')[1:]}) "
                        f"set group {n}. Fix: on position {m.position} set {_switches(GROUP_BITS[m.group])}."
                    ),
                    evidence=_ref(m, "dip") + _ref(m, "group"),
                )
            )
    return out


def _captured_master(
    view: CaseView, masters: list[ModuleView], listed: list[ModuleView]
) -> ModuleView | None:
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


def _generation(m: ModuleView) -> int:
    return MODEL_GENERATION.get(m.model or "", 0)


# ---------------------------------------------------------------- addresses
def _address_rules(view: CaseView) -> list[Finding]:
    """``stack[].address`` duplicates and gaps (addresses run 1..N along each group's link chain)."""
    out: list[Finding] = []
    listed = [m for m in view.modules if m.stack_index is not None]
    masters = [m for m in listed if m.role == Role.MASTER]
    keep = true_master(masters, listed) if masters else None
    single_group = not any((m.group or 0) > 0 for m in listed)
    for c in view.address_conflicts:
        if single_group and len(masters) > 1:
            break  # two masters make two chains that both count from 1: dip_multiple_masters says it
        ms = [x for x in (view.module(p) for p in c.positions) if x is not None]
        if len(ms) > 1 and all(x.role == Role.MASTER for x in ms):
            continue  # two masters both at address 1: dip_multiple_masters says it
        misfits = [x for x in ms if keep is not None and x is not keep and not _fits(keep, x)]
        culprits = misfits if 0 < len(misfits) < len(ms) else ms[1:]
        for m in culprits:
            out.append(
                Finding(
                    code=Cause.DIP_DUPLICATE_ADDRESS,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.8,
                    message=(
                        f"Positions {', '.join(map(str, c.positions))} share BMS address {c.address}. On US "
                        "modules the address is assigned along the link chain from the master, so a repeat "
                        "means two chains (two masters) or a module not linked in where it should be. Fix: "
                        f"check that position {m.position}'s Link Port 0 is cabled to Link Port 1 of its "
                        "neighbour towards the master and that its switches 2-4 are OFF; then restart and "
                        "read "
                        "the addresses from `pwr`."
                    ),
                    evidence=[r for x in ms for r in _ref(x, "address")],
                )
            )
    multi = any((m.group or 0) > 0 for m in listed)
    groups: dict[int, list[ModuleView]] = {}
    for m in listed:
        if multi and m.group is None:
            continue
        groups.setdefault(m.group or 0, []).append(m)
    for members in groups.values():
        with_addr = [m for m in members if m.address is not None]
        addrs = sorted({m.address for m in with_addr if m.address is not None})
        if not addrs or len(with_addr) != len(members) or view.address_conflicts:
            continue
        expected = list(range(1, len(addrs) + 1))
        if addrs == expected:
            continue
        wrong = [m for m in with_addr if m.address not in expected]
        for m in wrong:
            out.append(
                Finding(
                    code=Cause.DIP_ADDRESS_GAP,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.65,
                    message=(
                        f"The modules' addresses are {addrs}, not 1..{len(addrs)} in order: position "
                        f"{m.position} is at address {m.address}. The BMS numbers modules along the link "
                        "chain, "
                        "so a gap means a module is not linked in, the chain is out of order, or switches "
                        "are "
                        "set as another brand's per-module address. Fix: with the stack off, check every "
                        "link "
                        "cable (Link Port 1 → Link Port 0 of the next), set every slave's switches 2-4 OFF, "
                        "restart and read the addresses from `pwr`."
                    ),
                    evidence=[r for x in with_addr for r in _ref(x, "address")][:8],
                )
            )
    return out


def _fits(master: ModuleView, m: ModuleView) -> bool:
    d = abs(m.position - master.position)
    return m.address == d + 1


def _missing_from_pwr(view: CaseView) -> list[Finding]:
    """Modules listed in ``case.yaml`` but Absent from the master's latest ``pwr``."""
    snap = view.latest_pwr()
    if snap is None:
        return []
    if view.case is None or not view.case.stack:
        return _pwr_holes(view)
    if any((m.group or 0) > 0 for m in view.case.stack):
        return []  # a group master's `pwr` shows only its own group: no count to compare
    present = {r.address for r in snap.present_rows()}
    rows = {r.address: r for r in snap.table.rows}
    out: list[Finding] = []
    listed = [m for m in view.modules if m.stack_index is not None]
    if len(present) >= len(listed):
        return []
    claimed = {m.address for m in listed if m.address is not None}

    def address_of(m: ModuleView) -> int | None:
        """Given, or (position = address) when no other module claims that address."""
        if m.address is not None:
            return m.address
        return m.position if m.position not in claimed else None

    missing = [m for m in listed if address_of(m) is not None and address_of(m) not in present]
    if not missing and all(m.address is None for m in listed):
        # no mapping: count only
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FAULT,
                module=None,
                confidence=0.6,
                message=(
                    f"case.yaml lists {len(listed)} modules but the master's `pwr` shows only "
                    f"{len(present)} present. "
                    "A module in the stack is not seen by the master (link cable, port, or a dead BMS). "
                    "Fix: add "
                    "each module's address to case.yaml, or check the LED and link cables of every module."
                ),
                evidence=[cite.line(snap.table.provenance), cite.key("stack")],
            )
        )
        return out
    for m in missing:
        addr = address_of(m)
        row = rows.get(addr or 0)
        ev = [cite.line(row.provenance)] if row is not None else [cite.line(snap.table.provenance)]
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FAULT,
                module=m.position,
                confidence=0.8,
                message=(
                    f"Position {m.position} (address {addr}"
                    f"{'' if m.address is not None else ', taken as its position'}) is in the stack but the "
                    "master's `pwr` shows it Absent: the master does not see it. Likely a link cable or port "
                    "fault, the module switched off, or a dead BMS. Fix: check its power switch and the link "
                    "cable into its Link Port 0."
                ),
                evidence=ev + _ref(m, "address"),
            )
        )
    return out


def _pwr_holes(view: CaseView) -> list[Finding]:
    """Without a ``case.yaml`` stack: an address Absent below the highest present one is a module the
    master no longer hears (addresses run 1..N along the chain, so a hole is a silent module)."""
    snap = view.latest_pwr()
    if snap is None:
        return []
    present = sorted(r.address for r in snap.present_rows())
    if not present:
        return []
    out: list[Finding] = []
    for r in snap.table.rows:
        if r.absent and r.address < present[-1]:
            pos = view.position_of(r.address) or r.address
            out.append(
                Finding(
                    code=Cause.MODULE_NOT_COMMUNICATING,
                    severity=FAULT,
                    module=pos,
                    confidence=0.6,
                    message=(
                        f"Address {r.address} is Absent in the master's `pwr` while address {present[-1]} "
                        "further along the chain is present: the module at that address is not talking to "
                        "the master (switched off, link port or cable, or a dead BMS). Fix: check that "
                        "module's "
                        "power switch, RUN LED and link cables; add case.yaml with each module's position."
                    ),
                    evidence=[cite.line(r.provenance)],
                )
            )
    return out


# ---------------------------------------------------------------- models
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
            ev = _ref(m, "model") or _info_ref(view, m)
            if not ev:
                continue
            out.append(
                Finding(
                    code=Cause.MIXED_MODELS,
                    severity=FAULT,
                    module=m.position,
                    confidence=0.8,
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
    if len(gens) > 1 and master is not None and _generation(master) < max(gens):
        newest = max(known, key=_generation)
        out.append(
            Finding(
                code=Cause.MIXED_MODELS,
                severity=WARNING,
                module=master.position,
                confidence=0.6,
                message=(
                    f"Mixed generations ({', '.join(sorted({m.model or '' for m in known}))}) with the older "
                    f"{master.model} at position {master.position} as master; the newest model must be the "
                    "master "
                    f"(e.g. position {newest.position}, {newest.model}). SOC differences between "
                    "generations at the "
                    "same voltage are a gauge artefact first, not a fault. Fix: make the newest module the "
                    "master."
                ),
                evidence=_ref(master, "model") + _ref(master, "role") + _ref(newest, "model"),
            )
        )
    return out


def _info_ref(view: CaseView, m: ModuleView) -> list[EvidenceRef]:
    for inf in view.infos:
        if inf.position == m.position:
            kv = next((f for f in inf.info.fields if f.key.strip().lower() == "device name"), None)
            return [cite.line(kv.provenance if kv else inf.info.provenance)]
    return []


# ---------------------------------------------------------------- inverter settings
def _stack_count(view: CaseView) -> int:
    listed = [m for m in view.modules if m.stack_index is not None]
    if listed:
        return len(listed)
    snap = view.latest_pwr()
    return len(snap.present_rows()) if snap else len(view.modules)


def _inverter_rules(view: CaseView) -> list[Finding]:
    inv = view.inverter
    if inv is None:
        return []
    out: list[Finding] = []
    n = _stack_count(view)
    mods = [m for m in view.modules if m.stack_index is not None] or view.modules
    if inv.configured_modules is not None and n and inv.configured_modules != n:
        out.append(
            Finding(
                code=Cause.MODULE_COUNT_MISMATCH,
                severity=FAULT,
                module=None,
                confidence=0.85,
                message=(
                    f"The inverter is set for {inv.configured_modules} battery modules but the stack has "
                    f"{n}. Its "
                    "charge/discharge limits and SOC are then wrong for the real stack. "
                    f"Fix: set the inverter's battery module count to {n}."
                ),
                evidence=[cite.key("inverter.configured_modules"), cite.key("stack")],
            )
        )
    if inv.configured_capacity_ah is not None and mods:
        cap = sum(module_capacity_ah(m.model) for m in mods)
        if abs(inv.configured_capacity_ah - cap) > CAPACITY_MISMATCH_FRACTION * cap:
            out.append(
                Finding(
                    code=Cause.MODULE_COUNT_MISMATCH,
                    severity=FAULT,
                    module=None,
                    confidence=0.75 if all(m.model for m in mods) else 0.55,
                    message=(
                        f"The inverter's battery capacity is set to {inv.configured_capacity_ah:g} Ah but "
                        f"{len(mods)} "
                        f"module(s) of this stack are rated {cap:g} Ah together. Fix: set the inverter's "
                        "battery "
                        f"capacity to {cap:g} Ah."
                    ),
                    evidence=[cite.key("inverter.configured_capacity_ah"), cite.key("stack")],
                )
            )
    if inv.charge_voltage_v is not None and inv.charge_voltage_v > MAX_CHARGE_VOLTAGE_V:
        out.append(
            Finding(
                code=Cause.INVERTER_CHARGE_LIMITS,
                severity=FAULT,
                module=None,
                confidence=0.8,
                message=(
                    f"The inverter's charge voltage is {inv.charge_voltage_v:g} V, above the stack's "
                    f"{MAX_CHARGE_VOLTAGE_V:g} V limit; it drives cells into over-voltage protection at the "
                    "top of "
                    f"charge (steady red ALM). Fix: set the charge (bulk/absorption and float) voltage to "
                    f"{RECOMMENDED_CHARGE_VOLTAGE_V:g} V or less, or let the BMS set it over CAN."
                ),
                evidence=[cite.key("inverter.charge_voltage_v")],
            )
        )
    if inv.max_discharge_current_a is not None and mods:
        limit = sum(_max_discharge(view, m) for m in mods)
        if inv.max_discharge_current_a > limit:
            trips = _over_current_evidence(view)
            out.append(
                Finding(
                    code=Cause.OVER_CURRENT,
                    severity=FAULT,
                    module=None,
                    confidence=0.8 if trips else 0.6,
                    message=(
                        f"The inverter may draw {inv.max_discharge_current_a:g} A but the {len(mods)} "
                        "module(s) "
                        f"can supply at most {limit:g} A together (the BMS's own maximum per module); above "
                        "that "
                        "their discharge over-current protection trips"
                        + (" — and the case shows such trips" if trips else "")
                        + f". Fix: set the inverter's maximum discharge current to {limit:g} A or less."
                    ),
                    evidence=[cite.key("inverter.max_discharge_current_a"), cite.key("stack"), *trips[:3]],
                )
            )
    if inv.max_charge_current_a is not None and mods:
        limit = sum(RECOMMENDED_CURRENT_A.get(m.model or "", RECOMMENDED_CURRENT_A["US2000C"]) for m in mods)
        if inv.max_charge_current_a > limit:
            out.append(
                Finding(
                    code=Cause.INVERTER_CHARGE_LIMITS,
                    severity=FAULT,
                    module=None,
                    confidence=0.7 if all(m.model for m in mods) else 0.5,
                    message=(
                        f"The inverter's maximum charge current is {inv.max_charge_current_a:g} A, more "
                        "than the "
                        f"{limit:g} A the {len(mods)} module(s) take continuously. Fix: set the maximum "
                        "charge "
                        f"current to {limit:g} A or less."
                    ),
                    evidence=[cite.key("inverter.max_charge_current_a"), cite.key("stack")],
                )
            )
    return out


def _max_discharge(view: CaseView, m: ModuleView) -> float:
    """A: the module's ``info`` Max Dischg Curr when captured, else the model's figure."""
    for inf in view.infos:
        if inf.position == m.position and inf.info.max_discharge_current_ma:
            return abs(inf.info.max_discharge_current_ma) / 1000
    return MAX_DISCHARGE_CURRENT_A.get(m.model or "", MAX_DISCHARGE_CURRENT_A["US2000C"])


def _over_current_evidence(view: CaseView) -> list[EvidenceRef]:
    """Trips seen in the case: DOC/COC counters above zero, over-current events, or the owner's symptoms."""
    refs: list[EvidenceRef] = []
    for st in view.stats:
        for label in ("DOC Times", "DOC2 Times", "COC Times", "COC2 Times"):
            v = st.stat.counters.get(label)
            line = st.stat.lines.get(label)
            if v and line:
                refs.append(cite.at(st.source, line, label))
    for e in view.events:
        if e.kind.value in ("discharge_over_current", "charge_over_current"):
            refs.append(cite.line(e.provenance))
    if refs and view.symptoms:
        refs.append(cite.key("symptoms"))
    return refs


def _comms(view: CaseView) -> list[Finding]:
    """Battery type / protocol after an inverter swap or firmware update (settings.md; field_failures #15)."""
    inv = view.inverter or Inverter()
    out: list[Finding] = []
    brand, spec = spec_for(inv.brand.value if inv.brand else None)
    wrong = setting_mismatch(brand, inv.battery_type, inv.battery_protocol)
    wrong_type, wrong_proto = "battery_type" in wrong, "battery_protocol" in wrong
    how = (
        f"{spec.instruction} (settings.md, confidence {spec.confidence})"
        if spec is not None
        else "battery type lithium (use BMS) and the protocol / battery brand Pylontech (settings.md)"
    )
    changed = [
        h
        for h in view.history
        if h.event in (HistoryEvent.INVERTER_REPLACED, HistoryEvent.INVERTER_FIRMWARE_UPDATE)
    ]
    comms_symptom = Symptom.BMS_COMMS_ALARM in view.symptoms
    ev: list[EvidenceRef] = []
    if wrong_type:
        ev.append(cite.key("inverter.battery_type"))
    if wrong_proto:
        ev.append(cite.key("inverter.battery_protocol"))
    if wrong_type or wrong_proto:
        what = []
        if wrong_type:
            what.append(f"battery type '{inv.battery_type}' (must be the lithium / BMS mode)")
        if wrong_proto:
            what.append(f"BMS protocol '{inv.battery_protocol}'")
        if comms_symptom:
            ev.append(cite.key("symptoms"))
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=0.85,
                message=(
                    f"The inverter's {' and '.join(what)} is wrong for a Pylontech stack, so it cannot talk "
                    "to the "
                    f"BMS. Fix: {how}; cable the inverter's BMS port to the master's CAN port."
                ),
                evidence=ev,
            )
        )
        return out
    if comms_symptom and (changed or inv.replaced_on or inv.firmware_updated_on):
        refs = [cite.key("symptoms")]
        if changed:
            idx = view.history.index(changed[-1])
            refs.append(cite.key(f"history[{idx}]"))
        elif inv.replaced_on:
            refs.append(cite.key("inverter.replaced_on"))
        else:
            refs.append(cite.key("inverter.firmware_updated_on"))
        when = (
            changed[-1].event.value.replace("_", " ") if changed else "inverter replacement / firmware update"
        )
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=0.6,
                message=(
                    f"BMS communication alarms after an {when}: typically the battery type reverted to "
                    "lead-acid, "
                    "the protocol index shifted, the cable is on the wrong port (RS485 vs CAN) or DIP "
                    "switch 1 (baud) "
                    "does not match. Fix: on the inverter set battery type lithium/BMS and protocol "
                    "Pylontech; cable "
                    "its BMS port to the master's CAN port; if it uses RS485, set DIP switch 1 on every "
                    "module to match "
                    "its baud and restart the BMS."
                ),
                evidence=refs,
            )
        )
    return out
