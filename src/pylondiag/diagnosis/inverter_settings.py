"""Step 4e — the inverter's battery settings in ``case.yaml``: module count and capacity, charge
voltage and currents, battery type and protocol.

Facts: ``shared/domain/hardware/specs.md`` (per-model currents, the 53.5 V charge ceiling),
``shared/domain/inverters/settings.md`` (battery type / protocol per brand, via
:mod:`pylondiag.diagnosis.brand_settings`), ``field_failures`` #15 (settings that revert after an
inverter swap or firmware update).
"""

from __future__ import annotations

from pylondiag.diagnosis import changes, cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.brand_settings import setting_mismatch, spec_for
from pylondiag.diagnosis.isolation import module_capacity_ah
from pylondiag.diagnosis.thresholds import (
    CAPACITY_MISMATCH_FRACTION,
    MAX_CHARGE_VOLTAGE_V,
    MAX_DISCHARGE_CURRENT_A,
    RECOMMENDED_CHARGE_VOLTAGE_V,
    RECOMMENDED_CURRENT_A,
)
from pylondiag.model.case import Inverter, Symptom
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.event import EventKind
from pylondiag.model.stack import CaseView, ModuleView
from pylondiag.model.timeline import EventQuery

FAULT = FindingSeverity.FAULT


def findings(view: CaseView) -> list[Finding]:
    """Count, capacity, voltage and current settings, then battery type and protocol."""
    return _inverter_rules(view) + _comms(view)


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
                confidence=C.FIRM,
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
                    confidence=C.LIKELY if all(m.model for m in mods) else C.TENTATIVE,
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
                confidence=C.STRONG,
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
                    confidence=C.STRONG if trips else C.FAIR,
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
                    confidence=C.PROBABLE if all(m.model for m in mods) else C.EVEN,
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
    over_current = frozenset({EventKind.DISCHARGE_OVER_CURRENT, EventKind.CHARGE_OVER_CURRENT})
    refs += [cite.line(e.provenance) for e in view.events.where(EventQuery(kinds=over_current))]
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
    changed = [(c.key, c.words) for c in changes.inverter_changes(view)]
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
                confidence=C.FIRM,
                message=(
                    f"The inverter's {' and '.join(what)} is wrong for a Pylontech stack, so it cannot talk "
                    "to the "
                    f"BMS. Fix: {how}; cable the inverter's BMS port to the master's CAN port."
                ),
                evidence=ev,
            )
        )
        return out
    if comms_symptom and changed:
        key, when = changed[-1]
        refs = [cite.key("symptoms"), cite.key(key)]
        # the brand's Pylontech setting given as it should be: after a swap the port, the cable's pinout
        # and the baud switch remain (field_failures #15), still a reconfiguration
        settings_right = spec is not None and bool(inv.battery_type or inv.battery_protocol)
        looks = (
            " The battery settings given look right, so the cable, port and DIP switch 1 come first."
            if settings_right
            else ""
        )
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=C.FAIR,
                message=(
                    f"BMS communication alarms after an {when}: typically the battery type reverted to "
                    "lead-acid, "
                    "the protocol index shifted, the cable is on the wrong port (RS485 vs CAN) or DIP "
                    "switch 1 (baud) "
                    "does not match. Fix: on the inverter set battery type lithium/BMS and protocol "
                    "Pylontech; cable "
                    "its BMS port to the master's CAN port; if it uses RS485, set DIP switch 1 on every "
                    "module to match "
                    f"its baud and restart the BMS.{looks}"
                ),
                evidence=refs,
            )
        )
    return out
