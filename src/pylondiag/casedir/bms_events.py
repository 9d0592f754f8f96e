"""BMS events (:class:`BatteryEvent`, ``origin="bms"``) derived from console records.

Sources: ``stat`` protection counters that rose between two readings of a module
(:func:`from_stat_rise`: one event per counter, timed "between the readings"), non-Normal state words
in ``pwr`` / ``pwr N`` (``Volt.St``, ``B.V.St``, ``Temp.St``,
``Curr.St``, ``Base.St``...), non-zero ``System Fault`` / event bitfields in ``pwr N``, and BMS
``log`` / ``data event`` entries (``hardware/console_fields.md``). Inverter events arrive in the
same shape from :mod:`pylondiag.evidence.inverter_log`, so rules read both alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pylondiag.model.console import EventLog, LogEntry, Provenance, PwrDetail, PwrRow, StatCounters
from pylondiag.model.event import BatteryEvent, EventKind, Severity

NORMAL_WORDS: Final = frozenset({"normal", "-", ""})
ALARM_WORDS: Final = ("high", "low", "alarm", "warn")
"""State words at alarm level; anything else non-Normal (Over, Under, Protect, Fault...) is protection."""


def state_level(word: str | None) -> str | None:
    """``None`` (normal/unknown), ``alarm`` or ``protect`` for a state word as printed."""
    if word is None:
        return None
    w = word.strip().lower()
    if w in NORMAL_WORDS:
        return None
    return "alarm" if any(a in w for a in ALARM_WORDS) else "protect"


def _volt_kind(word: str, cell: bool) -> EventKind:
    w = word.lower()
    low = any(t in w for t in ("low", "under", "uv", "lv"))
    if cell:
        return EventKind.CELL_UNDER_VOLTAGE if low else EventKind.CELL_OVER_VOLTAGE
    return EventKind.BATTERY_UNDER_VOLTAGE if low else EventKind.BATTERY_OVER_VOLTAGE


def _temp_kind(word: str) -> EventKind:
    w = word.lower()
    return (
        EventKind.UNDER_TEMPERATURE if any(t in w for t in ("low", "under")) else EventKind.OVER_TEMPERATURE
    )


def _curr_kind(word: str, current_ma: int | None) -> EventKind:
    w = word.lower()
    if "dis" in w or "dsg" in w or (current_ma is not None and current_ma < 0):
        return EventKind.DISCHARGE_OVER_CURRENT
    return EventKind.CHARGE_OVER_CURRENT


def from_pwr_row(row: PwrRow, time: datetime | None) -> list[BatteryEvent]:
    out: list[BatteryEvent] = []
    checks: list[tuple[str, str | None, EventKind | None]] = [
        ("Volt.St", row.volt_state, None),
        ("B.V.St", row.cell_volt_state, None),
        ("Temp.St", row.temp_state, None),
        ("B.T.St", row.cell_temp_state, None),
        ("M.T.St", row.mos_temp_state, EventKind.OVER_TEMPERATURE),
        ("Curr.St", row.curr_state, None),
        ("SysAlarm.St", row.system_alarm_state, EventKind.BMS_PROTECTION),
    ]
    for label, word, fixed in checks:
        level = state_level(word)
        if level is None or word is None:
            continue
        if fixed is not None:
            kind = fixed
        elif label in ("Volt.St", "B.V.St"):
            kind = _volt_kind(word, cell=label == "B.V.St")
        elif label in ("Temp.St", "B.T.St"):
            kind = _temp_kind(word)
        else:
            kind = _curr_kind(word, row.current_ma)
        out.append(
            BatteryEvent(
                time=time,
                origin="bms",
                code=f"{label}={word}",
                text=f"address {row.address} {label} {word}",
                kind=kind,
                severity=Severity.FAULT if level == "protect" else Severity.WARNING,
                module_address=row.address,
                provenance=row.provenance,
            )
        )
    base = (row.base_state or "").strip().lower()
    if base in ("protect", "shut", "fault", "error"):
        out.append(
            BatteryEvent(
                time=time,
                origin="bms",
                code=f"Base.St={row.base_state}",
                text=f"address {row.address} Base.St {row.base_state}",
                kind=EventKind.BMS_PROTECTION,
                severity=Severity.FAULT,
                module_address=row.address,
                provenance=row.provenance,
            )
        )
    return out


BENIGN_POWER_EVENTS: Final = frozenset({"COULFULL"})
"""``Power Events 0x2000 COULFULL`` = the gauge says full (HRAB pwr 2 [C]): not a fault."""


def from_pwr_detail(d: PwrDetail, time: datetime | None) -> list[BatteryEvent]:
    out: list[BatteryEvent] = []
    by_key = {kv.key.strip().lower(): kv for kv in d.each_field()}  # not kept built (issue 17, memory)
    if d.system_fault:
        kv = by_key.get("system fault")
        out.append(
            BatteryEvent(
                time=time,
                origin="bms",
                code=f"System Fault=0x{d.system_fault:X}",
                text=f"address {d.address} System Fault 0x{d.system_fault:X}",
                kind=EventKind.BMS_FAULT,
                severity=Severity.FAULT,
                module_address=d.address,
                provenance=kv.provenance if kv else d.provenance,
            )
        )
    names = [n for n in d.power_event_names if n.upper() not in BENIGN_POWER_EVENTS]
    if names:
        kv = by_key.get("power events")
        out.append(
            BatteryEvent(
                time=time,
                origin="bms",
                code=" ".join(names),
                text=f"address {d.address} Power Events {' '.join(names)}",
                kind=EventKind.BMS_PROTECTION,
                severity=Severity.WARNING,
                module_address=d.address,
                provenance=kv.provenance if kv else d.provenance,
            )
        )
    return out


_LOG_KEYWORDS: Final[tuple[tuple[tuple[str, ...], EventKind, Severity], ...]] = (
    (
        ("cell over", "bat ov", "cell ov", "overvolt", "over volt"),
        EventKind.CELL_OVER_VOLTAGE,
        Severity.FAULT,
    ),
    (("cell under", "bat uv", "undervolt", "under volt"), EventKind.CELL_UNDER_VOLTAGE, Severity.FAULT),
    (("over temp", "high temp", "overtemp"), EventKind.OVER_TEMPERATURE, Severity.FAULT),
    (("under temp", "low temp"), EventKind.UNDER_TEMPERATURE, Severity.FAULT),
    (("temperature high",), EventKind.OVER_TEMPERATURE, Severity.WARNING),
    (("temperature low",), EventKind.UNDER_TEMPERATURE, Severity.WARNING),
    (("over current", "overcurrent"), EventKind.CHARGE_OVER_CURRENT, Severity.FAULT),
    (("bmic", "afe", "fault", "failure"), EventKind.BMS_FAULT, Severity.FAULT),
    (("protect",), EventKind.BMS_PROTECTION, Severity.FAULT),
)


def from_log(log: EventLog, address: int | None, fallback_time: datetime | None) -> list[BatteryEvent]:
    out: list[BatteryEvent] = []
    for e in log.entries:
        text = (e.info or e.raw or "").strip()
        low = text.lower()
        kind, sev = EventKind.OTHER, Severity.INFO
        for words, k, s in _LOG_KEYWORDS:
            if any(w in low for w in words):
                kind, sev = k, s
                break
        out.append(
            BatteryEvent(
                time=e.time or fallback_time,
                origin="bms",
                code=e.code,
                text=text,
                kind=kind,
                severity=sev,
                module_address=address,
                provenance=_info_line(e),
            )
        )
    return out


def _info_line(e: LogEntry) -> Provenance:
    """The entry's ``Info`` line (what happened), when the entry is one ``key : value`` per line;
    else the entry's first line (``Index``). A citation then quotes the protection, not its index."""
    p = e.provenance
    keys = list(e.fields)
    if not e.info or "Info" not in keys or p.end_line is None or p.end_line - p.line + 1 != len(keys):
        return p
    return Provenance(source=p.source, line=p.line + keys.index("Info"), raw=e.info.strip())


STAT_COUNTER_KINDS: Final[dict[str, EventKind]] = {
    "Bat OV Times": EventKind.CELL_OVER_VOLTAGE,
    "Pwr OV Times": EventKind.BATTERY_OVER_VOLTAGE,
    "Bat UV Times": EventKind.CELL_UNDER_VOLTAGE,
    "Pwr UV Times": EventKind.BATTERY_UNDER_VOLTAGE,
    "COT Times": EventKind.OVER_TEMPERATURE,
    "DOT Times": EventKind.OVER_TEMPERATURE,
    "CUT Times": EventKind.UNDER_TEMPERATURE,
    "DUT Times": EventKind.UNDER_TEMPERATURE,
    "COC Times": EventKind.CHARGE_OVER_CURRENT,
    "COC2 Times": EventKind.CHARGE_OVER_CURRENT,
    "DOC Times": EventKind.DISCHARGE_OVER_CURRENT,
    "DOC2 Times": EventKind.DISCHARGE_OVER_CURRENT,
    "SC Times": EventKind.DISCHARGE_OVER_CURRENT,
    "BMICERR Times": EventKind.BMS_FAULT,
}
"""``stat`` protection counters (``hardware/console_fields.md``) → the kind of event each count is."""


STAT_RISE_FIELDS: Final = {
    "time",
    "occurred_after",
    "origin",
    "code",
    "text",
    "kind",
    "severity",
    "module_address",
    "provenance",
}
"""The fields a stat-rise event is given (its ``model_fields_set``), one set shared by every such event: a
bench capture of 20 MB has ~6,000 rises, and a set of its own per event is 728 B of its ~1.9 KB (issue 17,
memory). pydantic copies the set before changing a copy's (``model_copy``); nothing else changes it."""
CITATION_FIELDS: Final = {"source", "line", "raw"}
"""The fields a stat-rise event's citation is given, shared likewise (216 B an event)."""


def from_stat_rise(
    before: StatCounters,
    after: StatCounters,
    source: str,
    since: datetime | None,
    until: datetime | None,
    address: int | None,
) -> list[BatteryEvent]:
    """One event per protection counter that rose from ``before`` to ``after`` (lifetime totals: only a
    rise is news). The exact time is unknown: ``occurred_after=since``, ``time=until``; severity warning
    (how often, not when). Cites the later reading's counter line.

    Built without validation (``model_construct``: every value is already of its field's type) and with
    the shared field sets above; equal, field for field and fields set, to the validated events."""
    out: list[BatteryEvent] = []
    for label, kind in STAT_COUNTER_KINDS.items():
        a, b = before.counters.get(label), after.counters.get(label)
        if a is None or b is None or b <= a:
            continue
        line = after.lines.get(label)
        prov = (
            Provenance.model_construct(CITATION_FIELDS, source=source, line=line, raw=label)
            if line is not None
            else after.provenance
        )
        out.append(
            BatteryEvent.model_construct(
                STAT_RISE_FIELDS,
                time=until,
                occurred_after=since,
                origin="bms",
                code=f"stat {label} +{b - a}",
                text=f"address {address} `stat` {label} rose from {a} to {b} between two readings",
                kind=kind,
                severity=Severity.WARNING,
                module_address=address,
                provenance=prov,
            )
        )
    return out
