"""Home Assistant history export: Developer Tools → History → "Download data".

Shape (public sources in ``docs/inverter-logs.md``)::

    entity_id,state,last_changed
    sensor.ss_fault,F58,2026-11-18T07:12:40.000Z
    sensor.ss_fault,,2026-11-18T07:31:02.000Z
    sensor.battery_temperature,4.5,2026-11-18T07:00:00.000Z

One row per state *change* of an entity (HA records only changes; ``unavailable`` / ``unknown`` mean
HA lost the integration, not a battery event). ``last_changed`` is UTC ISO 8601.

What is read:

* **fault / alarm / warning / error / status / BMS entities** (by entity id): the state is split into
  its items (integrations join several active faults with ``", "`` — kellerza/sunsynk's fault sensor
  gives ``"F56 DC busbar voltage low, F58"``; goodwe's ``battery_error`` gives comma-joined texts);
  an item that appears is an event, an item that disappears is its ``cleared`` event. ``on`` of a
  problem binary sensor is an event named after the entity; a BMS connection entity going
  ``off`` / ``Disconnected`` is a BMS-comms event.
* **battery / ambient temperature entities** (``temp`` in the id, not the inverter's own heatsink /
  radiator / internal sensors) with numeric states: temperature readings for thermal correlation.

Everything else (power, SOC, energy...) is skipped and counted in the notes.
"""

from __future__ import annotations

import csv
import re
from typing import Final

from pylondiag.evidence.inverter_log import _build
from pylondiag.evidence.inverter_log._classify import classify
from pylondiag.evidence.inverter_log._context import Context, parse_float
from pylondiag.evidence.inverter_log._text import sniff_delimiter
from pylondiag.evidence.inverter_log._times import parse_times
from pylondiag.evidence.inverter_log.generic_csv import MAX_HEADER_CHARS
from pylondiag.evidence.inverter_log.log import InverterLog
from pylondiag.model.console import ParseWarning
from pylondiag.model.event import BatteryEvent, EventKind, TemperatureSample

SHAPE: Final = "home_assistant_history"
_HEADER_SEARCH_LINES: Final = 5

_EVENT_WORDS: Final = (
    "fault",
    "alarm",
    "warning",
    "error",
    "status",
    "bms",
    "alert",
    "code",
    "event",
    "protect",
)
_CONNECTION_WORDS: Final = ("connect", "comm", "link", "online")
_TEMP_EXCLUDE: Final = (
    "inverter",
    "radiator",
    "heatsink",
    "heat_sink",
    "igbt",
    "internal",
    "inner",
    "mos",
    "boost",
    "dc_temp",
    "ac_temp",
    "transformer",
    "module_temp",
    "cpu",
    "dsp",
)
_NO_DATA: Final = frozenset({"unavailable", "unknown", "none", "null"})
_NEUTRAL: Final = frozenset(
    {
        "",
        "0",
        "ok",
        "normal",
        "no error",
        "no errors",
        "no fault",
        "no faults",
        "no alarm",
        "no alarms",
        "no warning",
        "no warnings",
        "none active",
        "[]",
        "n/a",
        "off",
        "false",
        "connected",
        "clear",
        "nothing",
        "standby",
        "waiting",
        "running",
        "on-grid",
        "on grid",
        "off-grid",
        "self use",
        "idle",
        "charging",
        "discharging",
        "normal mode",
        "checking",
    }
)
_OFF_WORDS: Final = frozenset({"off", "disconnected", "false", "lost", "0", "offline", "not connected"})
_ON_WORDS: Final = frozenset({"on", "true", "1", "problem", "detected"})
_ITEM_SPLIT: Final = re.compile(r"[,;|]")
_CODE_ITEM: Final = re.compile(r"^(?P<code>(?:[A-Z]{1,3}|#)\s?\d{1,4})\b[\s:\-]*(?P<text>.*)$")


def find_header(lines: list[str]) -> tuple[int, str, dict[str, int]] | None:
    for i, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if len(line) > MAX_HEADER_CHARS:
            continue
        delimiter = sniff_delimiter(line)
        names = [
            f.strip().strip('"').lstrip("\ufeff").lower()
            for f in next(csv.reader([line], delimiter=delimiter))
        ]
        if {"entity_id", "state", "last_changed"} <= set(names):
            return i, delimiter, {n: names.index(n) for n in ("entity_id", "state", "last_changed")}
    return None


def _items(entity: str, state: str) -> list[str]:
    """The active fault items a state names (empty when it names none)."""
    s = state.strip()
    low = s.lower()
    if entity.startswith("binary_sensor.") or (
        low in _ON_WORDS | _OFF_WORDS and not entity.endswith("_code")
    ):
        if any(w in entity for w in _CONNECTION_WORDS):
            return ["BMS communication lost"] if low in _OFF_WORDS else []
        if low in _ON_WORDS:
            return [entity.split(".", 1)[-1].replace("_", " ")]
        return []
    if any(w in entity for w in _CONNECTION_WORDS) and "bms" in entity and low in _OFF_WORDS:
        return ["BMS communication lost"]
    items = [x for x in (part.strip() for part in _ITEM_SPLIT.split(s)) if x and x.lower() not in _NEUTRAL]
    if "status" in entity and not any(w in entity for w in ("fault", "alarm", "warning", "error")):
        items = [x for x in items if _CODE_ITEM.match(x) or classify(None, "", x).kind is not EventKind.OTHER]
    return items


def _split_item(item: str) -> tuple[str, str]:
    m = _CODE_ITEM.match(item)
    if m:
        return m["code"], m["text"].strip()
    if item.isdigit():
        return item, ""
    return "", item


def _is_temperature(entity: str) -> bool:
    eid = entity.lower()
    return "temp" in eid and not any(x in eid for x in _TEMP_EXCLUDE)


def read(ctx: Context) -> InverterLog:
    found = find_header(ctx.lines)
    assert found is not None
    header, delimiter, cols = found
    i_ent, i_state, i_time = cols["entity_id"], cols["state"], cols["last_changed"]
    need = max(cols.values()) + 1
    warnings: list[ParseWarning] = []
    rows: list[tuple[str, str, int]] = []
    stamps: list[str] = []
    reader = csv.reader(ctx.lines[header + 1 :], delimiter=delimiter)
    first = header + 2
    consumed = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            warnings.append(_build.warning(ctx, first + consumed, f"unreadable CSV row: {exc}"))
            consumed = reader.line_num
            continue
        line = first + consumed
        consumed = reader.line_num
        if not fields or not "".join(fields).strip():
            continue
        if len(fields) < need:
            warnings.append(
                _build.warning(ctx, line, f"{len(fields)} field(s), expected entity_id,state,last_changed")
            )
            continue
        rows.append((fields[i_ent].strip(), fields[i_state].strip(), line))
        stamps.append(fields[i_time].strip())

    column = parse_times(stamps, [r[2] for r in rows], ctx.zone, ctx.source)
    warnings.extend(column.warnings)
    events: list[BatteryEvent] = []
    temperatures: list[TemperatureSample] = []
    active: dict[str, dict[str, str]] = {}
    skipped: set[str] = set()
    no_data = 0
    for (entity, state, line), when in zip(rows, column.times, strict=True):
        if when is None:
            continue
        eid = entity.lower()
        if state.lower() in _NO_DATA:
            no_data += 1
            continue
        if _is_temperature(eid):
            value = parse_float(state)
            if value is not None:
                temperatures.append(
                    TemperatureSample(
                        time=when, celsius=value, sensor=entity, provenance=_build.provenance(ctx, line)
                    )
                )
                continue
        if not any(w in eid for w in _EVENT_WORDS) and not eid.startswith("binary_sensor."):
            skipped.add(entity)
            continue
        now = {_key(x): x for x in _items(eid, state)}
        before = active.get(entity, {})
        for key, item in now.items():
            if key not in before:
                code, text = _split_item(item)
                events.append(_build.event(ctx, when, line, code, text))
        for key, item in before.items():
            if key not in now:
                code, text = _split_item(item)
                events.append(_build.event(ctx, when, line, code, text, cleared=True))
        active[entity] = now
    notes = [f"Home Assistant history export, header on line {header + 1}", *column.notes]
    if skipped:
        notes.append(
            f"{len(skipped)} entities are neither fault/alarm/BMS nor temperature sensors and were not "
            f"read (e.g. {sorted(skipped)[0]})"
        )
    if no_data:
        notes.append(
            f"{no_data} 'unavailable'/'unknown' states (Home Assistant lost the integration; not battery "
            "events)"
        )
    warnings.sort(key=lambda w: w.line)
    return InverterLog(
        source=ctx.source,
        shape=SHAPE,
        brand=ctx.brand,
        encoding=ctx.encoding,
        events=events,
        temperatures=temperatures,
        warnings=warnings,
        notes=notes,
    )


def _key(item: str) -> str:
    return " ".join(item.lower().split())
