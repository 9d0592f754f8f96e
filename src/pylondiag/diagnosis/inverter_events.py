"""Inverter event logs (method step 2): comms failures after a change; trips against the inverter's limits.

Rules and their facts (``shared/domain/inverters/``):

* **Comms after a change** (``settings.md``: "comms fault (F58 / W31 / Battery COM Fail / BMS Lost /
  W000 / ID157 / #67) that starts right after an inverter replacement, factory reset or firmware
  update ⇒ check these settings first (battery type reverted to lead-acid/voltage mode, protocol
  index shifted, CAN vs RS485 port swapped)"). BMS-comms events that *begin* after
  ``inverter_replaced`` / ``inverter_firmware_update`` (``case.yaml`` history or ``inverter.*_on``),
  or after a change the log itself records (mode change, firmware/version mismatch), plus a battery
  type / protocol setting that does not match the brand's Pylontech setting
  (:mod:`~pylondiag.diagnosis.brand_settings`) → ``inverter_comms_config``
  with the exact setting for that brand. Codes that by themselves mean "wrong battery selected" (Solis
  BatName-FAIL, Fox BMS type/manufacturer mismatch, Solis lead-acid temperature codes) are the same
  finding without a change date.
* **Over-voltage / over-current against the inverter's limits**: over-voltage events with a charge
  voltage above :data:`~pylondiag.diagnosis.thresholds.MAX_CHARGE_VOLTAGE_V` → ``inverter_charge_limits``;
  charge over-current with a charge-current limit above what the modules take
  (:data:`~pylondiag.diagnosis.thresholds.RECOMMENDED_CURRENT_A` x modules) → ``inverter_charge_limits``;
  discharge over-current with a discharge limit above it → ``over_current``. Without the setting the
  events are a warning naming the setting to check.

A finding that rests on a code the code table marks unverified says so.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from pylondiag.diagnosis import changes, cite
from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.brand_settings import (
    PYLONTECH_SETTINGS,
    PylontechSetting,
    setting_mismatch,
)
from pylondiag.diagnosis.thresholds import (
    MAX_CHARGE_VOLTAGE_V,
    RECOMMENDED_CHARGE_VOLTAGE_V,
    RECOMMENDED_CURRENT_A,
)
from pylondiag.domain.inverter_codes import canonical_brand, normalize_code
from pylondiag.model.case import HistoryEvent
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity
from pylondiag.model.event import BatteryEvent, EventKind
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import EventQuery, EventRows, TextTest

__all__ = ["PYLONTECH_SETTINGS", "PylontechSetting", "findings", "setting_mismatch"]

FAULT, WARNING, INFO = FindingSeverity.FAULT, FindingSeverity.WARNING, FindingSeverity.INFO


CONFIG_CODES: Final[dict[str, frozenset[str]]] = {
    "solis": frozenset({"8214", "8224", "8225"}),
    "foxess": frozenset({normalize_code("FC8.b0"), normalize_code("FC8.b2")}),
}
"""Codes that by themselves mean the wrong battery brand/type is selected (codes_solis.md 8214
BatName-FAIL and 8224/8225 lead-acid-only codes; codes_foxess.md FC8.b0/b2 type/manufacturer mismatch)."""

CHANGE_TEXT: Final = re.compile(
    r"mode[_ ]?change|firmware|version (mismatch|inconsisten)|software version", re.I
)
"""Log entries that record a configuration or firmware change (Deye F13 Working_Mode_Change, Lux W008,
Growatt 405/106, Sofar ID183-185)."""

MIN_COMMS_EVENTS: Final = 1
"""BMS-comms events after the change needed (one is enough when the settings are wrong)."""
MIN_LIMIT_EVENTS: Final = 1
"""Over-voltage / over-current events needed before the inverter's limits are questioned."""

MIN_OV_DAYS_FOR_WARNING: Final = 3
"""Over-voltage events with a sane (or unknown) charge voltage are context (info) until they recur on this
many days; then a high cell is worth re-checking (warning). A BMS may flag over-voltage once at the top of
a charge without anything being wrong."""

_OV: Final = frozenset({EventKind.BATTERY_OVER_VOLTAGE, EventKind.CELL_OVER_VOLTAGE})


_INVERTER: Final = EventQuery(origin="inverter", timed=True)


def findings(view: CaseView) -> list[Finding]:
    events = view.events.where(_INVERTER)
    if not events:
        return []
    return _comms_after_change(view, events) + _limits(view, events)


def _of(events: EventRows, **query: Any) -> EventRows:
    """The inverter events (``events``: all of them, timed) that ``query`` (:class:`EventQuery`) wants."""
    return events.timeline.where(EventQuery(origin="inverter", timed=True, **query))


# ---------------------------------------------------------------- comms after a change
def _brand(view: CaseView, events: EventRows) -> str | None:
    inv = view.inverter
    if inv is not None and inv.brand is not None:
        name = canonical_brand(inv.brand.value)
        if name:
            return name
    brands = {e.brand for e in events.timeline.objects if e.origin == "inverter" and e.time and e.brand}
    brands |= {c.brand for c in (*events.timeline.parts, *view.inverter_status) if c.brand and len(c)}
    return brands.pop() if len(brands) == 1 else None


def _change(view: CaseView, events: EventRows, zone: ZoneInfo) -> tuple[datetime, EvidenceRef, str] | None:
    """The latest inverter change: (start of that day or time, citation, words). A change the story dates
    counts only if recent (:func:`~pylondiag.diagnosis.changes.recent_day`): a swap three years before a
    2026 log is not what the log's failures "begin after" (found with the cold-mornings example)."""
    found: list[tuple[datetime, EvidenceRef, str]] = []
    for i, h in enumerate(view.history):
        if h.event in (HistoryEvent.INVERTER_REPLACED, HistoryEvent.INVERTER_FIRMWARE_UPDATE) and (
            changes.recent_day(view, h.date)
        ):
            found.append((_day_start(h.date, zone), cite.key(f"history[{i}]"), _CHANGE_WORDS[h.event]))
    inv = view.inverter
    if inv is not None and inv.replaced_on and changes.recent_day(view, inv.replaced_on):
        found.append(
            (_day_start(inv.replaced_on, zone), cite.key("inverter.replaced_on"), "inverter replacement")
        )
    if inv is not None and inv.firmware_updated_on and changes.recent_day(view, inv.firmware_updated_on):
        found.append(
            (
                _day_start(inv.firmware_updated_on, zone),
                cite.key("inverter.firmware_updated_on"),
                "firmware update",
            )
        )
    latest = _of(events, text=_records_change).latest()  # of equal times the first, as max() takes
    for e in [*([latest] if latest else []), *_status_changes(view)]:
        if e.time is not None:
            found.append(
                (e.time, cite.line(e.provenance), f"'{(e.code + ' ') if e.code else ''}{e.text}' in the log")
            )
    return max(found, key=lambda x: x[0]) if found else None


def _records_change(code: str | None, text: str) -> bool:
    """The code or message records a configuration or firmware change (:data:`CHANGE_TEXT`)."""
    return bool(CHANGE_TEXT.search(text) or CHANGE_TEXT.search(code or ""))


def _status_changes(view: CaseView) -> list[BatteryEvent]:
    """Status rows (kept as columns) whose code or message records a change: each distinct message is
    tested once and only matching rows become event objects."""
    out: list[BatteryEvent] = []
    for c in view.inverter_status:
        wanted = [i for i, p in enumerate(c.pairs) if _records_change(p.code, p.text)]
        if wanted:
            out += c.events(c.pair_rows(wanted))
    return out


_CHANGE_WORDS: Final = {
    HistoryEvent.INVERTER_REPLACED: "inverter replacement",
    HistoryEvent.INVERTER_FIRMWARE_UPDATE: "inverter firmware update",
}


def _day_start(d: date, zone: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=zone)


def _config_code(brand: str | None) -> TextTest:
    """A test on (code, message): the code by itself means the wrong battery is selected
    (:data:`CONFIG_CODES`)."""
    codes = CONFIG_CODES.get(brand or "", frozenset())
    return lambda code, _text: bool(code) and normalize_code(code or "") in codes


def _comms_after_change(view: CaseView, events: EventRows) -> list[Finding]:
    zone = ZoneInfo(view.timezone)
    brand = _brand(view, events)
    spec = PYLONTECH_SETTINGS.get(brand or "")
    comms = _of(events, kinds=frozenset({EventKind.BMS_COMMS_LOST}), not_info=True)
    config_hits = _of(events, text=_config_code(brand))
    inv = view.inverter
    wrong = setting_mismatch(brand, inv.battery_type if inv else None, inv.battery_protocol if inv else None)
    setting_refs = [cite.key(f"inverter.{k}") for k in wrong]
    how = _instruction(brand, spec)
    out: list[Finding] = []

    change = _change(view, events, zone)
    after = comms if change is None else comms.since(change[0])
    before = comms.before(change[0]) if change is not None else comms.subset([False] * len(comms))
    began_after = change is not None and len(after) >= MIN_COMMS_EVENTS and not before
    unverified = _unverified(after or comms)
    none_before = ", none before"
    if change is not None and not _covers_before(view, events, change[0]):
        start = _log_start(view, events)
        when = start.astimezone(zone).strftime("%Y-%m-%d") if start is not None else "?"
        none_before = (
            f"; the log starts on {when}, after the change, so it cannot show whether they began with it"
        )

    if config_hits:
        first = config_hits[0]
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=C.FIRM,
                message=(
                    f"The inverter reports '{first.code} {first.text}'"
                    f"{f' ({len(config_hits)} times)' if len(config_hits) > 1 else ''}: the battery "
                    "brand/type "
                    f"selected does not match the Pylontech BMS. Fix: {how}."
                ),
                evidence=[cite.line(e.provenance) for e in config_hits[:3]] + setting_refs,
            )
        )
        return out
    if began_after and change is not None:
        if wrong:
            detail = ", ".join(_describe_setting(k, inv) for k in wrong)
            msg = (
                f"BMS communication failures begin after the {change[2]} ({len(after)} event(s) from "
                f"{_when(after[0], zone)}{none_before}) and the inverter's {detail} is not the Pylontech "
                "setting. "
                f"Fix: {how}.{unverified}"
            )
            sev, conf = FAULT, C.NEAR_CERTAIN
        elif inv is not None and (inv.battery_type or inv.battery_protocol):
            msg = (
                f"BMS communication failures begin after the {change[2]} ({len(after)} event(s) from "
                f"{_when(after[0], zone)}{none_before}) although the battery settings given look right. "
                "After a swap "
                "or update check the cable is in the BMS (CAN) port, not RS485, that DIP switch 1 (baud) "
                "matches, "
                f"and that the settings really read: {how}.{unverified}"
            )
            sev, conf = WARNING, C.EVEN
        else:
            msg = (
                f"BMS communication failures begin after the {change[2]} ({len(after)} event(s) from "
                f"{_when(after[0], zone)}{none_before}): an update or a new inverter typically resets the "
                "battery type "
                f"to lead-acid or shifts the protocol index. Check and set: {how}.{unverified}"
            )
            sev, conf = FAULT, C.REASONABLE if none_before == ", none before" else C.FAIR
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=sev,
                module=None,
                confidence=conf,
                message=msg,
                evidence=[cite.line(e.provenance) for e in after[:3]] + [change[1], *setting_refs],
            )
        )
    elif wrong and comms:
        detail = ", ".join(_describe_setting(k, inv) for k in wrong)
        out.append(
            Finding(
                code=Cause.INVERTER_COMMS_CONFIG,
                severity=FAULT,
                module=None,
                confidence=C.STRONG,
                message=(
                    f"{len(comms)} BMS communication failure(s) in the inverter log and the inverter's "
                    f"{detail} is "
                    f"not the Pylontech setting. Fix: {how}.{_unverified(comms)}"
                ),
                evidence=[cite.line(e.provenance) for e in comms[:3]] + setting_refs,
            )
        )
    elif comms:
        out.append(_unexplained_comms(view, comms, how))
    return out


def _unexplained_comms(view: CaseView, comms: EventRows, how: str) -> Finding:
    """BMS communication failures that no setting or change explains: a lead (warning), never nothing.

    The inverter recorded a fault; "no fault" would hide it. Without the inverter's battery settings
    and the recent history the cause cannot be named, so this asks for them and lists the checks
    that settle it (settings.md; panel_dip.md §3: DIP switch 1 sets the RS485 baud rate, not CAN's).
    With the settings given and right, failures that come and go point at the link itself: a loose or
    faulty cable / RJ45 plug, termination, the wrong port, or a master BMS that resets
    (codes_deye_sunsynk.md W31 and F58 "if intermittent → comms hardware or BMS resets";
    field_failures.md #15). The message ends with ``Fix:`` so that the steps and the summary say the
    check instead of "no action needed" (a ``monitor`` outcome: no module needs work, the link does).
    The contract has no stack-level cause for a physical link fault, so the code stays
    ``inverter_comms_config`` at warning level (spec request in the rules engineer's note).
    """
    inv = view.inverter
    given = inv is not None and bool(inv.battery_type or inv.battery_protocol)
    first, last = comms[0], comms[-1]
    zone = ZoneInfo(view.timezone)
    span = (
        f"on {_when(first, zone)}" if len(comms) == 1 else f"from {_when(first, zone)} to {_when(last, zone)}"
    )
    cable = (
        "the BMS cable: with the system off, reseat it at both ends or swap in a known-good one with the "
        "pinout the inverter's manual gives; check that it is in the master's CAN/BMS port and the "
        "inverter's BMS port and, on RS485, that DIP switch 1 (baud) matches the inverter"
    )
    if given:
        why = (
            "The battery settings given look right, so what is left is the link itself: a loose or faulty "
            "cable or plug, the wrong port, or a master BMS that resets (in the cold, for one) drops it now "
            "and then. "
            f"Fix: check {cable}; keep the setting: {how}."
        )
    else:
        why = (
            "The inverter's battery type / protocol setting and recent changes are not given, so the "
            f"setting comes first. Fix: check the setting ({how}), then {cable}."
        )
    return Finding(
        code=Cause.INVERTER_COMMS_CONFIG,
        severity=WARNING,
        module=None,
        confidence=C.WEAK,
        message=(
            f"{len(comms)} BMS communication failure(s) in the inverter log {span}. {why} If they recur, "
            f"capture `pwr` and `log` on the master's console while the fault shows.{_unverified(comms)}"
        ),
        evidence=[cite.line(e.provenance) for e in comms[:3]],
    )


def _instruction(brand: str | None, spec: PylontechSetting | None) -> str:
    if spec is None:
        return (
            "set the battery type to lithium (BMS-controlled) and the BMS protocol / brand to Pylontech (no "
            f"brand-specific setting is documented for {brand or 'this inverter'}; see its manual)"
        )
    return f"{spec.instruction} (settings.md, confidence {spec.confidence})"


def _describe_setting(key: str, inv: object) -> str:
    value = getattr(inv, key, None)
    return f"{'battery type' if key == 'battery_type' else 'BMS protocol'} '{value}'"


def _when(e: BatteryEvent, zone: ZoneInfo) -> str:
    """The event's time as the site's wall clock: a log written in UTC (``Z``) or another offset is
    shown in ``site.timezone`` like every other time of the report (case-format.md: times are local
    time of ``site.timezone``). Found by writing the cold-mornings log in UTC for a New York site: its
    06:41 trips were reported as 11:41."""
    return e.time.astimezone(zone).strftime("%Y-%m-%d %H:%M") if e.time else "?"


def _log_start(view: CaseView, events: EventRows) -> datetime | None:
    """The first time the inverter's log covers: its earliest timed event or status row."""
    firsts: list[datetime | None] = [e.time for e in events[:1]]
    firsts += [c.event(int(c.utc_s.argmin())).time for c in view.inverter_status if len(c)]
    known = [t for t in firsts if t is not None]
    return min(known) if known else None


def _covers_before(view: CaseView, events: EventRows, t: datetime) -> bool:
    """The log holds a row before ``t``: its silence before ``t`` means something. A log that starts
    after an inverter change cannot show that comms failures were absent before it (evidence not
    supplied is not evidence of health)."""
    start = _log_start(view, events)
    return start is not None and start < t


def _unverified(events: EventRows) -> str:
    codes = sorted(events.unverified_codes())
    return f" (Rests on code(s) {', '.join(codes)}, unverified in the code table.)" if codes else ""


# ---------------------------------------------------------------- limits
def _stack_current_a(view: CaseView) -> tuple[float | None, int]:
    """Continuous current the stack takes/supplies (A), and the module count it is based on."""
    mods = [m for m in view.modules if m.stack_index is not None] or view.modules
    if not mods:
        return None, 0
    return sum(RECOMMENDED_CURRENT_A.get(m.model or "", RECOMMENDED_CURRENT_A["US2000C"]) for m in mods), len(
        mods
    )


def _limits(view: CaseView, events: EventRows) -> list[Finding]:
    inv = view.inverter
    out: list[Finding] = []
    ov = _of(events, kinds=_OV, not_info=True)
    if len(ov) >= MIN_LIMIT_EVENTS:
        volts = inv.charge_voltage_v if inv else None
        ev = [cite.line(e.provenance) for e in ov[:3]]
        if volts is not None and volts > MAX_CHARGE_VOLTAGE_V:
            out.append(
                Finding(
                    code=Cause.INVERTER_CHARGE_LIMITS,
                    severity=FAULT,
                    module=None,
                    confidence=C.FIRM,
                    message=(
                        f"{len(ov)} over-voltage event(s) in the inverter log while its charge voltage is "
                        "set to "
                        f"{volts:g} V, above the stack's {MAX_CHARGE_VOLTAGE_V:g} V. Fix: set the charge "
                        f"(bulk/absorption and float) voltage to {RECOMMENDED_CHARGE_VOLTAGE_V:g} V or "
                        "less, or let "
                        f"the BMS set it over CAN.{_unverified(ov)}"
                    ),
                    evidence=[*ev, cite.key("inverter.charge_voltage_v")],
                )
            )
        else:
            ov_days = ov.dates(ZoneInfo(view.timezone))
            known = (
                f"the inverter's charge voltage {volts:g} V is within the stack's limit, so a single high "
                "cell "
                "(an imbalanced module) is the likely cause: read 'bat N' at the top of charge"
                if volts is not None
                else "the inverter's charge voltage is not known. Check it is at most "
                f"{MAX_CHARGE_VOLTAGE_V:g} V (the BMS recommends {RECOMMENDED_CHARGE_VOLTAGE_V:g} V); "
                "if it is, read 'bat N' at the top of charge for a high cell"
            )
            out.append(
                Finding(
                    code=Cause.CELL_OVER_VOLTAGE,
                    severity=WARNING if len(ov_days) >= MIN_OV_DAYS_FOR_WARNING else INFO,
                    module=None,
                    confidence=C.EVEN,
                    message=(
                        f"{len(ov)} over-voltage event(s) on {len(ov_days)} day(s) in the inverter log; "
                        f"{known}.{_unverified(ov)}"
                    ),
                    evidence=ev,
                )
            )
    stack_a, n = _stack_current_a(view)
    for kind, attr, code, word in (
        (EventKind.CHARGE_OVER_CURRENT, "max_charge_current_a", Cause.INVERTER_CHARGE_LIMITS, "charge"),
        (EventKind.DISCHARGE_OVER_CURRENT, "max_discharge_current_a", Cause.OVER_CURRENT, "discharge"),
    ):
        hits = _of(events, kinds=frozenset({kind}), not_info=True)
        if len(hits) < MIN_LIMIT_EVENTS:
            continue
        ev = [cite.line(e.provenance) for e in hits[:3]]
        limit = getattr(inv, attr, None) if inv else None
        if limit is not None and stack_a is not None and limit > stack_a:
            out.append(
                Finding(
                    code=code,
                    severity=FAULT,
                    module=None,
                    confidence=C.STRONG,
                    message=(
                        f"{len(hits)} {word} over-current event(s) in the inverter log while its maximum "
                        f"{word} "
                        f"current is {limit:g} A, more than the {stack_a:g} A the {n} module(s) handle "
                        f"continuously. Fix: set the maximum {word} current to {stack_a:g} A or less (or add "
                        f"modules).{_unverified(hits)}"
                    ),
                    evidence=[*ev, cite.key(f"inverter.{attr}")],
                )
            )
        else:
            if limit is None:
                target = (
                    f"{stack_a:g} A"
                    if stack_a is not None
                    else "25 A per US2000C, 37 A per US3000C, 80 A per US5000"
                )
                why = f"the inverter's maximum {word} current is not known. Check it is at most {target}"
            else:
                why = f"the inverter's maximum {word} current ({limit:g} A) is within what the modules handle"
            out.append(
                Finding(
                    code=Cause.OVER_CURRENT,
                    severity=WARNING,
                    module=None,
                    confidence=C.EVEN,
                    message=(
                        f"{len(hits)} {word} over-current event(s) in the inverter log; {why}. Large loads, "
                        "or a "
                        f"cold battery whose BMS lowers its limit, trip it.{_unverified(hits)}"
                    ),
                    evidence=ev,
                )
            )
    return out
