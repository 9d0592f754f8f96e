"""Step 4c — BMS addresses and presence: ``stack[].address`` duplicates and gaps, and modules the
master's ``pwr`` does not see.

Facts (``shared/domain/hardware/panel_dip.md`` §3-§4): the BMS numbers modules 1, 2, 3 ... along each
group's link chain from the master, so a repeated address means two chains (two masters) or a module
not linked in, a gap means a module missing from the chain, and an ``Absent`` row below the highest
present address is a module the master no longer hears.
"""

from __future__ import annotations

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.layout import fits_chain, stack_ref, true_master
from pylondiag.model.case import Role
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, ModuleView

FAULT = FindingSeverity.FAULT


def findings(view: CaseView) -> list[Finding]:
    """Address duplicates and gaps in ``case.yaml``, then modules missing from the latest ``pwr``."""
    return _address_rules(view) + _missing_from_pwr(view) + _dropped_out(view)


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
        misfits = [x for x in ms if keep is not None and x is not keep and not fits_chain(keep, x)]
        culprits = misfits if 0 < len(misfits) < len(ms) else ms[1:]
        for m in culprits:
            out.append(
                Finding(
                    code=Cause.DIP_DUPLICATE_ADDRESS,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.STRONG,
                    message=(
                        f"Positions {', '.join(map(str, c.positions))} share BMS address {c.address}. On US "
                        "modules the address is assigned along the link chain from the master, so a repeat "
                        "means two chains (two masters) or a module not linked in where it should be. Fix: "
                        f"check that position {m.position}'s Link Port 0 is cabled to Link Port 1 of its "
                        "neighbour towards the master and that its switches 2-4 are OFF; then restart and "
                        "read "
                        "the addresses from `pwr`."
                    ),
                    evidence=[r for x in ms for r in stack_ref(x, "address")],
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
        if not multi and _pwr_in_order(view, len(members)):
            out.append(_declared_off(view, addrs, with_addr))
            continue
        wrong = [m for m in with_addr if m.address not in expected]
        for m in wrong:
            out.append(
                Finding(
                    code=Cause.DIP_ADDRESS_GAP,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.REASONABLE,
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
                    evidence=[r for x in with_addr for r in stack_ref(x, "address")][:8],
                )
            )
    return out


def _pwr_in_order(view: CaseView, n: int) -> bool:
    """Whether the latest whole ``pwr`` shows exactly ``n`` modules at addresses 1..n: the BMS's own
    numbering of the chain is then in order, whatever ``case.yaml`` says."""
    snap = view.latest_pwr()
    if snap is None or not snap.rows_complete():
        return False
    return sorted(r.address for r in snap.present_rows()) == list(range(1, n + 1))


def _declared_off(view: CaseView, addrs: list[int], with_addr: list[ModuleView]) -> Finding:
    """``case.yaml`` addresses out of 1..N while the master's ``pwr`` lists the N modules at 1..N: the
    chain is numbered right and the typed addresses are another numbering (RS485 tools count the master as
    2: python-pylontech #23, "the starting address is 2"; Frankkkkk/python-pylontech #2's reply of a
    US3000 + US2000 has ADR 2). A DIP or cabling fault was claimed from the typed numbers alone."""
    snap = view.latest_pwr()
    assert snap is not None
    n = len(addrs)
    return Finding(
        code=Cause.DIP_ADDRESS_GAP,
        severity=FindingSeverity.INFO,
        module=None,
        confidence=C.REASONABLE,
        message=(
            f"case.yaml gives the addresses {addrs}, but the master's `pwr` lists {n} modules at "
            f"addresses 1..{n} in order: the BMS numbers the chain correctly, so nothing needs resetting. "
            "The addresses in case.yaml look written in another numbering (RS485 tools count the master "
            f"as 2); set them to 1..{n} as `pwr` shows, so each reading is put on the right module."
        ),
        evidence=[
            cite.line(snap.table.provenance),
            *[r for x in with_addr for r in stack_ref(x, "address")][:8],
        ],
    )


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

    absent = {r.address for r in snap.table.rows if r.absent}
    missing = [m for m in listed if address_of(m) in absent]
    if not missing and all(m.address is None for m in listed) and snap.rows_complete():
        # no mapping: count only
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FAULT,
                module=None,
                confidence=C.FAIR,
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
                confidence=C.STRONG,
                message=(
                    f"Position {m.position} (address {addr}"
                    f"{'' if m.address is not None else ', taken as its position'}) is in the stack but the "
                    "master's `pwr` shows it Absent: the master does not see it. Likely a link cable or port "
                    "fault, the module switched off, or a dead BMS. Fix: check its power switch and the link "
                    "cable into its Link Port 0."
                ),
                evidence=ev + stack_ref(m, "address"),
            )
        )
    return out


def _dropped_out(view: CaseView) -> list[Finding]:
    """Modules present in the latest ``pwr`` but Absent in an earlier one (a whole table): they left the
    master's view and came back — an intermittent link (a loose link cable or port) or a module that
    switched off or restarted (field_failures.md #7/#15: link cable, port; panel_dip.md §2: off/sleep).

    Compare each capture against the earlier ones (method): found by adding a later capture to the
    module-not-communicating example in which position 4 is back: the diagnosis never mentioned that it
    had been Absent, and called the dark LED the owner saw on it (when it was Absent) unexplained.
    A warning: the latest state is what counts, the drop-out is what to watch.
    """
    snap = view.latest_pwr()
    if snap is None or len(view.pwr) < 2 or any((m.group or 0) > 0 for m in view.modules):
        return []
    present = {r.address: r for r in snap.present_rows()}
    out: list[Finding] = []
    seen: set[int] = set()
    console = view.console_positions.get(snap.source)
    for earlier in reversed(view.pwr[:-1]):  # the most recent drop-out of each module
        if earlier.time is None or snap.time is None or earlier.time >= snap.time:
            continue
        if not earlier.rows_complete() or view.console_positions.get(earlier.source) != console:
            continue  # rows not read are unknown; another module's console sees another view
        for r in earlier.table.rows:
            now = present.get(r.address)
            if not r.absent or now is None or r.address in seen:
                continue
            seen.add(r.address)
            pos = view.position_of(r.address) or r.address
            out.append(
                Finding(
                    code=Cause.MODULE_NOT_COMMUNICATING,
                    severity=FindingSeverity.WARNING,
                    module=pos,
                    confidence=C.EVEN,
                    message=(
                        f"Position {pos} (address {r.address}) was Absent in the master's `pwr` of "
                        f"{earlier.time:%Y-%m-%d %H:%M} and is present in the latest "
                        f"({snap.time:%Y-%m-%d %H:%M}): "
                        "it dropped out of the master's view and came back - a loose link cable or port, or "
                        "the module switched off or restarted. Check the link cable into its Link Port 0 and "
                        "its power switch; if it drops out again, capture `pwr` while it is missing."
                    ),
                    evidence=[cite.line(r.provenance), cite.line(now.provenance)],
                )
            )
    return sorted(out, key=lambda f: f.module or 0)


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
                    confidence=C.FAIR,
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
