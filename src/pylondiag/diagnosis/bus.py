"""Bus rules — what the CAN / RS485 traffic between the stack and the inverter says.

Reads ``view.bus`` (:class:`~pylondiag.model.bus.BusFacts`); per-module RS485 readings (0x42/0x44)
arrive as console records and are judged by the console families, not here.

Facts and sources (``shared/domain/protocols``): the BMS asks for its charge voltage / current and
discharge current limits in CAN 0x351 (RS485 0x63 system, 0x92 per module); protection and alarm flags
travel in 0x359 (V1.2 firmware) or 0x35A (newer firmware), and a stack that sends neither set is itself
a fault signal (can.md §5); 0x359 byte 4 is the number of packs online (can.md §2); the inverter answers
with 0x305 about once a second (can.md §1); an RS485 pack that never answers a poll is on the wrong port,
baud rate (DIP 1, rs485.md §1) or address.
"""

from __future__ import annotations

from typing import Final

from pylondiag.diagnosis import cite
from pylondiag.diagnosis import confidence as conf
from pylondiag.model.bus import BmsRequest, BusAlarm, BusLink, BusRef, ModuleCountReading
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.stack import CaseView

FAULT: Final = FindingSeverity.FAULT
WARNING: Final = FindingSeverity.WARNING

CVL_TOLERANCE_V: Final = 0.1
"""V: an inverter charge voltage this far above the BMS's requested CVL (0x351) is beyond the stack's
limit; below it is rounding of the 0.1 V field (can.md §2). Tool parameter."""
CURRENT_TOLERANCE: Final = 0.05
"""Fraction: an inverter current setting more than 5 % above the BMS's largest request is beyond it."""
MIN_ROUNDS: Final = 3
"""Rounds of battery frames (the set is sent about once a second, can.md §1): fewer and a missing frame
proves nothing."""
FRAMES_PER_ROUND: Final = 6
"""Frames in one round of the battery's set (0x351, 0x355, 0x356, 0x359/0x35A, 0x35C/0x35F, 0x35E)."""
HEARTBEAT_WINDOW_S: Final = 10.0
"""s: a capture this long with battery frames and no 0x305 means the inverter is not answering (it sends
0x305 about once a second, can.md §1). Tool parameter (ten missed beats)."""
HEARTBEAT_GAP_S: Final = 10.0
"""s: a gap this long between 0x305 frames is a stalling inverter link. Tool parameter."""
MIN_UNANSWERED_POLLS: Final = 3
"""RS485 requests without any reply before the stack counts as silent (one lost reply is noise)."""

_CONDITION_CAUSE: Final[dict[str, Cause]] = {
    "cell_over_voltage": Cause.CELL_OVER_VOLTAGE,
    "cell_under_voltage": Cause.CELL_UNDER_VOLTAGE,
    "over_temperature": Cause.OVER_TEMPERATURE,
    "under_temperature": Cause.UNDER_TEMPERATURE,
    "charge_over_current": Cause.OVER_CURRENT,
    "discharge_over_current": Cause.OVER_CURRENT,
    "short_circuit": Cause.OVER_CURRENT,
    "system_error": Cause.BMS_HARDWARE_FAULT,
    "contactor": Cause.BMS_HARDWARE_FAULT,
    "internal_comm": Cause.MODULE_NOT_COMMUNICATING,
    "cell_imbalance": Cause.CELL_IMBALANCE,
}
"""Bus alarm condition → spec cause code (diagnosis-format.md). ``general`` has no cause of its own."""
_WHICH_MODULE_UNKNOWN: Final = frozenset({"system_error", "contactor", "cell_imbalance"})
"""Conditions whose verdict needs the module named (replace, rebalance): a stack-level bus flag cannot,
so it is a warning that asks for the console capture naming it."""

_WORDS: Final[dict[str, str]] = {
    "cell_over_voltage": "over-voltage",
    "cell_under_voltage": "under-voltage",
    "over_temperature": "over-temperature",
    "under_temperature": "low temperature",
    "charge_over_current": "charge over-current",
    "discharge_over_current": "discharge over-current",
    "short_circuit": "short circuit",
    "system_error": "BMS system error",
    "contactor": "contactor fault",
    "internal_comm": "internal communication failure",
    "cell_imbalance": "cell imbalance",
}


def findings(view: CaseView) -> list[Finding]:
    if not view.has_bus():
        return []
    out = _settings_vs_requests(view)
    out += _alarm_flags(view)
    out += _module_count(view)
    out += _silent_addresses(view)
    for link in view.bus.links:
        out += _can_link(link) if link.kind == "can" else _rs485_link(link)
    return out


# ---------------------------------------------------------------- citations
def ref(r: BusRef) -> EvidenceRef:
    """A bus frame as evidence: its line and text (a BLF frame, which has no line, by the file alone)."""
    if r.line is None:
        return EvidenceRef(source=r.source, key=f"frame {r.index}" if r.index else "frames")
    return cite.at(r.source, r.line, r.raw)


def where(r: BusRef, last: BusRef | None = None) -> str:
    """``can/x.log line 12`` (``… lines 12-340``) or ``frame 12 of can/x.blf``."""
    if r.line is None:
        return f"frame {r.index} of {r.source}" if r.index else r.source
    if last is not None and last.line is not None and last.line != r.line:
        return f"{r.source} lines {r.line}-{last.line}"
    return f"{r.source} line {r.line}"


def _refs(r: BusRef, last: BusRef | None) -> list[EvidenceRef]:
    out = [ref(r)]
    if last is not None and last.line is not None and last.line != r.line:
        out.append(ref(last))
    return out


# ---------------------------------------------------------------- inverter settings vs BMS requests
def _top(reqs: list[BmsRequest], attr: str) -> BmsRequest:
    return max(reqs, key=lambda r: float(getattr(r, attr)))


def _has_flag(view: CaseView, conditions: set[str]) -> bool:
    return any(a.condition in conditions for a in view.bus.alarms)


def _settings_vs_requests(view: CaseView) -> list[Finding]:
    """The inverter's charge voltage / currents against the largest the BMS ever asked for."""
    inv = view.inverter
    reqs = view.bus.stack_requests()
    if inv is None or not reqs:
        return []
    out: list[Finding] = []
    if inv.charge_voltage_v is not None:
        top = _top(reqs, "charge_voltage_v")
        if inv.charge_voltage_v > top.charge_voltage_v + CVL_TOLERANCE_V:
            out.append(
                Finding(
                    code=Cause.INVERTER_CHARGE_LIMITS,
                    severity=FAULT,
                    module=None,
                    confidence=conf.FIRM,
                    message=(
                        f"The inverter charges to {inv.charge_voltage_v:g} V but the battery's BMS asks "
                        "for at "
                        f"most {top.charge_voltage_v:g} V (charge voltage limit on the bus, "
                        f"{where(top.ref)}). "
                        "Charging above the BMS's request drives cells into over-voltage protection. Fix: "
                        "set "
                        f"the inverter's charge voltage to {top.charge_voltage_v:g} V or less, or let it "
                        "follow "
                        "the BMS (battery type Pylontech / lithium with BMS communication)."
                    ),
                    evidence=[cite.key("inverter.charge_voltage_v"), ref(top.ref)],
                )
            )
    out += _currents_vs_requests(view, reqs)
    return out


def _currents_vs_requests(view: CaseView, reqs: list[BmsRequest]) -> list[Finding]:
    """Current settings above the largest the BMS asked for, when the bus also shows the over-current
    flags. The BMS's current requests move with SOC and temperature (a short capture does not show the
    largest), and an inverter that follows the BMS obeys them anyway: without trips this proves nothing."""
    inv = view.inverter
    assert inv is not None
    out: list[Finding] = []
    checks = (
        ("max_charge_current_a", "charge_current_a", "charge_over_current", Cause.INVERTER_CHARGE_LIMITS, "charge"),  # noqa: E501
        ("max_discharge_current_a", "discharge_current_a", "discharge_over_current", Cause.OVER_CURRENT, "discharge"),  # noqa: E501
    )  # fmt: skip
    for setting, field, flag, cause, word in checks:
        value = getattr(inv, setting)
        if value is None or not _has_flag(view, {flag}):
            continue
        top = _top(reqs, field)
        limit = float(getattr(top, field))
        if limit and value > limit * (1 + CURRENT_TOLERANCE):
            out.append(
                Finding(
                    code=cause,
                    severity=FAULT,
                    module=None,
                    confidence=conf.STRONG,
                    message=(
                        f"The inverter may {word} at {value:g} A but the BMS asks for at most {limit:g} A "
                        f"({where(top.ref)}), and the bus shows {word} over-current flags. Fix: set the "
                        f"inverter's maximum {word} current to {limit:g} A or less."
                    ),
                    evidence=[cite.key(f"inverter.{setting}"), ref(top.ref)],
                )
            )
    return out


# ---------------------------------------------------------------- alarm and protection flags
def _alarm_flags(view: CaseView) -> list[Finding]:
    """Each stack-level flag episode → its cause. RS485 0x44 is judged per module by the console rules."""
    by_key: dict[tuple[Cause, str], list[BusAlarm]] = {}
    for a in view.bus.alarms:
        if a.kind == "rs485" and a.frame == "0x44":
            continue
        cause = _CONDITION_CAUSE.get(a.condition)
        if cause is not None:
            by_key.setdefault((cause, a.level), []).append(a)
    out: list[Finding] = []
    for (cause, level), alarms in by_key.items():
        first = alarms[0]
        frames = sum(a.frames for a in alarms)
        unknown_module = all(a.condition in _WHICH_MODULE_UNKNOWN for a in alarms)
        severe = level == "protection" and first.verified and not unknown_module
        what = _WORDS.get(first.condition, first.condition.replace("_", " "))
        kind = "protection" if level == "protection" else "alarm"
        names = ", ".join(sorted({f"{a.frame} {a.flag.split('@')[0]}" for a in alarms}))
        ev = [e for a in alarms[:3] for e in _refs(a.ref, a.last)]
        out.append(
            Finding(
                code=cause,
                severity=FAULT if severe else WARNING,
                module=None,
                confidence=(conf.STRONG if severe else conf.FAIR) if first.verified else conf.WEAK,
                message=(
                    f"The stack's BMS raised {what} {kind} on the {first.kind.upper()} bus ({names}): "
                    f"{len(alarms)} episode(s), {frames} frame(s), first at {where(first.ref, first.last)}."
                    + ("" if first.verified else " This RS485 0x62 bit layout is unverified.")
                    + (
                        " The bus does not say which module: capture `pwr` on the master's console to name "
                        "it."
                        if not severe or unknown_module
                        else ""
                    )
                ),
                evidence=ev,
            )
        )
    return out


# ---------------------------------------------------------------- module count
def _latest_count(view: CaseView) -> ModuleCountReading | None:
    counts = view.bus.module_counts
    return counts[-1] if counts else None


def _module_count(view: CaseView) -> list[Finding]:
    """Packs the BMS reports online against ``case.yaml`` and the inverter's module setting."""
    latest = _latest_count(view)
    if latest is None or latest.count == 0:
        return []
    n = latest.count
    out: list[Finding] = []
    listed = len(view.case.stack) if view.case else 0
    multi_group = bool(view.case) and any((m.group or 0) > 0 for m in view.case.stack)  # type: ignore[union-attr]
    if listed and n < listed and not multi_group:
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FAULT,
                module=None,
                confidence=conf.LIKELY,
                message=(
                    f"The BMS reports {n} module(s) online on the bus ({where(latest.ref)}) but case.yaml "
                    "lists "
                    f"{listed}: {listed - n} module(s) in the stack are not seen by the master (link cable, "
                    "port, power switch or a dead BMS). Fix: check the RUN LED and link cables of every "
                    "module; capture `pwr` on the master's console to see which address is Absent."
                ),
                evidence=[ref(latest.ref), cite.key("stack")],
            )
        )
    inv = view.inverter
    if inv is not None and inv.configured_modules is not None and inv.configured_modules != n:
        out.append(
            Finding(
                code=Cause.MODULE_COUNT_MISMATCH,
                severity=FAULT,
                module=None,
                confidence=conf.STRONG,
                message=(
                    f"The inverter is set for {inv.configured_modules} battery module(s) but the BMS "
                    f"reports {n} "
                    f"on the bus ({where(latest.ref)}). Fix: set the inverter's battery module count to {n}"
                    + (" once every module is back online." if listed and n < listed else ".")
                ),
                evidence=[cite.key("inverter.configured_modules"), ref(latest.ref)],
            )
        )
    counts = {c.count for c in view.bus.module_counts if c.count}
    if len(counts) > 1:
        lo = min(view.bus.module_counts, key=lambda c: c.count or 10**6)
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=WARNING,
                module=None,
                confidence=conf.FAIR,
                message=(
                    "The module count on the bus changed during the capture "
                    f"({', '.join(map(str, sorted(counts)))}"
                    f"; {lo.count} at {where(lo.ref, lo.last)}): a module drops off the link now and then "
                    "(loose link cable or a BMS that resets). Fix: reseat the link cables; capture `pwr` "
                    "when it happens."
                ),
                evidence=[ref(lo.ref), ref(latest.ref)],
            )
        )
    return out


def _silent_addresses(view: CaseView) -> list[Finding]:
    """RS485 addresses polled that never answered, inside the stack (a hole before an answering address,
    or within ``case.yaml``'s module count). Probing one address past the last module is normal."""
    answering = view.bus.answering_addresses
    if not answering:
        return []
    listed = len(view.case.stack) if view.case else 0
    top = max(max(answering), listed)
    out: list[Finding] = []
    link = next((lk for lk in view.bus.links if lk.kind == "rs485" and lk.first is not None), None)
    for addr in view.bus.silent_addresses:
        if addr > top or link is None or link.first is None:
            continue
        pos = view.position_of(addr) or addr
        out.append(
            Finding(
                code=Cause.MODULE_NOT_COMMUNICATING,
                severity=FAULT,
                module=pos,
                confidence=conf.PROBABLE,
                message=(
                    f"Address {addr} (RS485 ADR 0x{addr + 1:02X}) did not answer its polls in {link.source} "
                    f"while addresses {', '.join(map(str, answering))} did: that module is not on the link "
                    "(switched off, link cable or port, or a dead BMS). Fix: check its power switch, RUN LED "
                    "and link cables."
                ),
                evidence=[ref(link.first)],
            )
        )
    return out


# ---------------------------------------------------------------- link health
def _can_link(link: BusLink) -> list[Finding]:
    out: list[Finding] = []
    if link.battery_frames == 0 and link.inverter_frames and link.first_heartbeat is not None:
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=conf.PROBABLE,
                message=(
                    f"{link.source}: the inverter sends its keep-alive (0x305, {link.inverter_frames} "
                    "frames) but "
                    "the battery sends nothing on CAN: the cable is on the battery's RS485 port instead of "
                    "CAN, "
                    "the master is not the module wired to the inverter, or the CAN pins are swapped. Fix: "
                    "connect the inverter to the master's CAN port with the inverter's pin-out."
                ),
                evidence=[ref(link.first_heartbeat)],
            )
        )
        return out
    if link.first_battery is None:
        return out
    if link.span_s is not None:
        long_enough = link.span_s >= HEARTBEAT_WINDOW_S
    else:
        long_enough = link.battery_frames >= FRAMES_PER_ROUND * HEARTBEAT_WINDOW_S
    if link.alarm_frames == 0 and (long_enough or link.battery_frames >= FRAMES_PER_ROUND * MIN_ROUNDS):
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=conf.FAIR,
                message=(
                    f"{link.source}: the battery sends {link.battery_frames} frames "
                    f"({', '.join(link.ids)}) but "
                    "neither alarm frame set (0x359 or 0x35A), so the inverter never learns of an alarm or "
                    "protection. A real Pylontech master sends one of them every second: the device on the "
                    "bus is not speaking the Pylontech protocol in full (a BMS emulator, or the wrong "
                    "protocol "
                    "selected). Fix: select the Pylontech CAN protocol on both ends; update the battery "
                    "firmware if it persists."
                ),
                evidence=[ref(link.first_battery)],
            )
        )
    if link.inverter_frames == 0 and long_enough:
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=conf.PROBABLE,
                message=(
                    f"{link.source}: the battery sent {link.battery_frames} frames"
                    + (f" over {link.span_s:.0f} s" if link.span_s else "")
                    + " but the inverter never answered (no 0x305 keep-alive): it is not listening to the "
                    "battery on CAN. Fix: set the inverter's battery type / BMS protocol to Pylontech (CAN, "
                    "500 kbit/s), check that the cable is in the inverter's BMS CAN port with the right "
                    "pin-out, and that the bus is terminated at both ends."
                ),
                evidence=[ref(link.first_battery)],
            )
        )
    elif link.heartbeat_gap_s is not None and link.heartbeat_gap_s >= HEARTBEAT_GAP_S and link.last_heartbeat:
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=WARNING,
                module=None,
                confidence=conf.TENTATIVE,
                message=(
                    f"{link.source}: the inverter's keep-alive (0x305) stopped for "
                    f"{link.heartbeat_gap_s:.0f} s "
                    "during the capture: the CAN link to the inverter drops out (connector, termination, "
                    "or the inverter's BMS port). Fix: reseat the CAN cable and check the termination."
                ),
                evidence=[ref(link.last_heartbeat)]
                + ([ref(link.first_heartbeat)] if link.first_heartbeat else []),
            )
        )
    return out


def _rs485_link(link: BusLink) -> list[Finding]:
    if link.battery_frames or link.unanswered < MIN_UNANSWERED_POLLS or link.first is None:
        return []
    return [
        Finding(
            code=Cause.INVERTER_COMMS_CONFIG,
            severity=FAULT,
            module=None,
            confidence=conf.REASONABLE,
            message=(
                f"{link.source}: {link.unanswered} RS485 polls and not one answer from the battery: the "
                "poller "
                "is on the wrong port (the RS485 RJ45, not CAN or Console), at the wrong baud rate (DIP "
                "switch "
                "1 on the master: down = 115200, up = 9600; restart the master after changing it), or at an "
                "address no module has. Fix: check the port, pins 7/8 = A/B (swap the pair if silent), and "
                "the baud rate."
            ),
            evidence=[ref(link.first)],
        )
    ]
