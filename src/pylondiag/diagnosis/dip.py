"""Step 4a — DIP switches and masters of a single-group stack: the baud bit, group bits where a
single group must have none, exactly one master.

The real hardware (``shared/domain/README.md``; ``hardware/panel_dip.md`` §3-§4 [M: EASY15, UP2500,
APT Veyron]):

- The ADD (DIP) switch has 4 bits, switch 1 first. **Bit 1** = RS485 baud to the inverter (OFF =
  115200, ON = 9600); it must be the same on every module and match the inverter.
- **Bits 2-4** = the group number, set **only on the master of each group** in a multi-group (LV-HUB)
  system (:mod:`pylondiag.diagnosis.groups`); in a single group they are 000 on every module.
- **Slaves** leave all group bits OFF; their address (1..16 in ``pwr``) is assigned automatically
  along the link chain from the master, not by DIP. DIP advice copied from other brands' manuals
  (a per-module address such as "0001" on the master) is wrong for Pylontech US modules.
- **Master** = the module whose Link Port 0 is empty, cabled to the inverter; exactly one per group.
  Two "masters" = the link chain is broken or mis-cabled, or two strings are joined wrongly.
"""

from __future__ import annotations

from collections import Counter

from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.layout import (
    captured_master,
    group_of_bits,
    is_multi_group,
    listed_modules,
    stack_ref,
    true_master,
)
from pylondiag.model.case import Role
from pylondiag.model.diagnosis import Cause, Finding, FindingSeverity
from pylondiag.model.stack import CaseView, ModuleView

FAULT = FindingSeverity.FAULT


def findings(view: CaseView) -> list[Finding]:
    """Baud bit on every listed module; in a single group, group bits and the one master."""
    listed = listed_modules(view)
    out = _baud(listed)
    if not is_multi_group(listed):
        out += _single_group_bits(listed)
        out += _masters(view, listed)
    return out


def _baud(listed: list[ModuleView]) -> list[Finding]:
    """Switch 1 (RS485 baud) must match on every module; the majority (the master's on a tie) is right."""
    out: list[Finding] = []
    with_dip = [m for m in listed if m.dip]
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
                            confidence=C.FIRM,
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
                            evidence=stack_ref(m, "dip"),
                        )
                    )
    return out


def _single_group_bits(listed: list[ModuleView]) -> list[Finding]:
    """Single group: only a 000 group field is valid, on every module."""
    out: list[Finding] = []
    with_dip = [m for m in listed if m.dip]
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
                confidence=C.FIRM,
                message=(
                    f"{why[0].upper()}{why[1:]}. Fix: on position {m.position} set switches 2, 3 and 4 "
                    "OFF "
                    f"(DIP '{m.dip[0]}000'; keep switch 1 as on the other modules)."
                ),
                evidence=stack_ref(m, "dip") + stack_ref(m, "role"),
            )
        )
    return out


def _masters(view: CaseView, listed: list[ModuleView]) -> list[Finding]:
    """Exactly one master in a single-group stack (from roles, as wired). In an LV-HUB system the group
    masters are judged by their group numbers (:mod:`pylondiag.diagnosis.groups`)."""
    out: list[Finding] = []
    members = listed
    where = "the stack"
    masters = [m for m in members if m.role == Role.MASTER]
    roles_known = all(m.role is not None for m in members)
    if len(masters) > 1:
        keep = captured_master(view, masters, members) or true_master(masters, members)
        names = ", ".join(str(x.position) for x in masters)
        for m in masters:
            if m is keep:
                continue
            out.append(
                Finding(
                    code=Cause.DIP_MULTIPLE_MASTERS,
                    severity=FAULT,
                    module=m.position,
                    confidence=C.FIRM,
                    message=(
                        f"Positions {names} are all set up as master of {where}; only one module may be "
                        "master — the one whose Link Port 0 is empty and that is cabled to the inverter "
                        f"(here position {keep.position}). "
                        "Two masters mean the link chain is broken or two strings are joined wrongly. "
                        f"Fix: on position {m.position} connect Link Port 0 to Link Port 1 of its "
                        "neighbour in the chain, unplug any inverter cable from it, and set its switches "
                        "2-4 OFF."
                    ),
                    evidence=stack_ref(m, "role") + stack_ref(keep, "role"),
                )
            )
    elif not masters and roles_known and members:
        first = min(members, key=lambda m: (m.address or 99, m.position))
        out.append(
            Finding(
                code=Cause.DIP_NO_MASTER,
                severity=FAULT,
                module=None,
                confidence=C.LIKELY,
                message=(
                    f"No module of {where} is the master: every module is listed as a slave. Exactly one "
                    "module must have its Link Port 0 empty and be cabled to the inverter (CAN or "
                    "RS485). "
                    f"Fix: make position {first.position} the master — inverter cable into its CAN/RS485 "
                    "port, nothing in its Link Port 0 — and chain the others from its Link Port 1."
                ),
                evidence=[r for m in members for r in stack_ref(m, "role")][:6],
            )
        )
    return out
