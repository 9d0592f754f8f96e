"""Home Assistant history and the Victron dbus-serialbattery log read into columns, as the row-wise
readers (:mod:`.home_assistant`, :mod:`.victron_serialbattery`) read them but without an object per row.

What the row-wise reader decides per row is decided here once per distinct value (an entity's state, a
driver message) and spread over the rows with numpy; times are read by
:mod:`~pylondiag.evidence.inverter_log._stamp_columns`. A file the column path cannot take whole (an
unreadable row, a time in no layout, TAI64N labels mixed with local times) returns None: the caller
reads it row by row, which reports each such row by line. Same events, readings and warnings either way
(tested against the row-wise readers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from pylondiag.evidence._gc import cycle_collection_paused
from pylondiag.evidence.inverter_log import (
    _build,
    _stamp_columns,
    home_assistant,
    luxpower_events,
    victron_serialbattery,
)
from pylondiag.evidence.inverter_log._context import parse_float
from pylondiag.evidence.inverter_log.columns import (
    CHUNK_ROWS,
    LogColumns,
    _Distinct,
    _split,
    _stamps,
    instants,
)
from pylondiag.model.columns import (
    KIND_INDEX,
    NO_MODULE,
    SEVERITY_INDEX,
    EventColumns,
    EventPair,
    FloatArray,
    IntArray,
    SeriesOrigin,
    TemperatureSeries,
)
from pylondiag.model.console import ParseWarning
from pylondiag.model.event import EventKind, Severity

_Times = tuple[IntArray, FloatArray, IntArray | None]
"""(site wall clock µs, UTC s, each time's own offset s or None) per row."""


@dataclass
class _Meanings:
    """Each distinct event (code, text, severity, cleared) classified once."""

    brand: str | None
    index: dict[tuple[str, str, Severity | None, bool, EventKind | None], int] = field(default_factory=dict)
    pairs: list[EventPair] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    severities: list[int] = field(default_factory=list)

    def of(
        self,
        code: str,
        text: str,
        severity: Severity | None = None,
        cleared: bool = False,
        kind: EventKind | None = None,
    ) -> int:
        """Index of this event's meaning (``kind``: a kind that replaces the classified one)."""
        key = (code, text, severity, cleared, kind)
        found = self.index.get(key)
        if found is not None:
            return found
        m = _build.meaning(self.brand, code, text, severity, cleared)
        self.index[key] = len(self.pairs)
        self.pairs.append(EventPair(code or None, text, m.verified, m.classified_by, m.clears))
        self.kinds.append(KIND_INDEX[kind or m.kind])
        self.severities.append(SEVERITY_INDEX[m.severity])
        return self.index[key]


def _events(
    source: str,
    zone: ZoneInfo,
    lines: Sequence[str],
    times: _Times,
    rows: IntArray,
    line: IntArray,
    meaning: IntArray,
    meanings: _Meanings,
) -> EventColumns:
    """Event columns: event ``k`` is on row ``rows[k]`` (its time), file line ``line[k]``, meaning
    ``meaning[k]``."""
    local_us, utc_s, offset_s = times
    n = rows.shape[0]
    kinds = np.array(meanings.kinds, dtype=np.int8)
    severities = np.array(meanings.severities, dtype=np.int8)
    return EventColumns(
        source=source,
        brand=meanings.brand,
        zone=zone,
        lines=lines,
        local_us=local_us[rows],
        utc_s=utc_s[rows],
        line=line.astype(np.int32),
        kind=kinds[meaning] if n else np.empty(0, np.int8),
        severity=severities[meaning] if n else np.empty(0, np.int8),
        temperature_c=np.full(n, np.nan),
        module=np.full(n, NO_MODULE, dtype=np.int32),
        pair=meaning.astype(np.int32),
        pairs=tuple(meanings.pairs),
        offset_s=offset_s[rows] if offset_s is not None else None,
    )


def _times(
    chunks: list[_stamp_columns.Stamps], first_line: int, zone: ZoneInfo, source: str
) -> tuple[_Times, list[ParseWarning]] | None:
    """A column's chunks resolved (:func:`_stamp_columns.resolve`) and placed in the site's zone."""
    resolved = _stamp_columns.resolve(chunks, first_line, zone, source)
    if resolved is None:
        return None
    local_us, utc_s = instants(resolved, zone)
    return (local_us, utc_s, resolved.offset_s), resolved.warnings


def _column_times(
    values: list[str], first_line: int, zone: ZoneInfo, source: str
) -> tuple[_Times, list[ParseWarning]] | None:
    """A whole column of time texts read chunk by chunk (:data:`CHUNK_ROWS` at a time) and resolved."""
    chunks = []
    for start in range(0, len(values), CHUNK_ROWS):
        stamps = _stamps(values[start : start + CHUNK_ROWS])
        if stamps is None:
            return None
        chunks.append(stamps)
    return _times(chunks, first_line, zone, source)


# ---------------------------------------------------------------- Home Assistant history
_SKIP, _READING, _STATE = 0, 1, 2


def home_assistant_columns(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    """A Home Assistant history export in columns; None when it needs the row-wise reader."""
    found = home_assistant.find_header(lines)
    if found is None:
        return None
    header, delimiter, cols = found
    i_ent, i_state, i_time = cols["entity_id"], cols["state"], cols["last_changed"]
    end = len(lines)
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    ncols = len(lines[header].split(delimiter))
    width = max(cols.values()) + 1
    entities = _Distinct(str.strip)
    states = _Distinct(str.strip)
    ent_ids: list[IntArray] = []
    state_ids: list[IntArray] = []
    chunks: list[_stamp_columns.Stamps] = []
    for start in range(header + 1, end, CHUNK_ROWS):
        chunk = lines[start : min(end, start + CHUNK_ROWS)]
        columns = _split(chunk, delimiter, ncols, width)
        if columns is None:
            return None
        stamps = _stamps(columns[i_time])
        if stamps is None:
            return None
        chunks.append(stamps)
        ent_ids.append(entities.codes(columns[i_ent], len(chunk)))
        state_ids.append(states.codes(columns[i_state], len(chunk)))
    got = _times(chunks, header + 2, zone, source)
    if got is None:
        return None
    times, warnings = got
    n = int(times[0].shape[0])
    line = np.arange(header + 2, header + 2 + n, dtype=np.int64)
    ent = np.concatenate(ent_ids) if ent_ids else np.empty(0, np.int64)
    state = np.concatenate(state_ids) if state_ids else np.empty(0, np.int64)
    quoted = cite if cite is not None else lines
    # entities as the row-wise reader keys them (stripped): raw spellings of one entity made one
    ents: list[str] = list(dict.fromkeys(str(e) for e in entities.meaning))
    canon = {e: i for i, e in enumerate(ents)}
    ent = np.array([canon[str(e)] for e in entities.meaning] or [0], dtype=np.int64)[ent]
    # one meaning per distinct (entity, state) seen
    pair_keys, pair = np.unique((ent << 32) | state, return_inverse=True)
    pair = pair.reshape(-1)
    action, celsius = [], []
    for key in pair_keys.tolist():
        a, value = _ha_action(ents[key >> 32], str(states.meaning[key & 0xFFFFFFFF]))
        action.append(a)
        celsius.append(value)
    row_action = np.array(action, dtype=np.int8)[pair] if action else np.empty(0, np.int8)
    readings = _ha_readings(
        row_action == _READING, ent, ents, pair, celsius, times, line, source, zone, quoted
    )
    events = _ha_events(row_action == _STATE, ent, pair, _HaPairs(ents, pair_keys, states), line, brand)
    cols_ = _events(source, zone, quoted, times, *events)
    return LogColumns(events=cols_, readings=readings, warnings=tuple(warnings))


def _ha_action(entity: str, state: str) -> tuple[int, float]:
    """What the row-wise reader does with a row of this entity and state (and the reading's °C)."""
    eid = entity.lower()
    if state.lower() in home_assistant._NO_DATA:
        return _SKIP, np.nan
    if home_assistant._is_temperature(eid):
        value = parse_float(state)
        if value is not None:
            return _READING, value
    if not any(w in eid for w in home_assistant._EVENT_WORDS) and not eid.startswith("binary_sensor."):
        return _SKIP, np.nan
    return _STATE, np.nan


def _ha_readings(
    mask: np.ndarray,
    ent: IntArray,
    ents: list[str],
    pair: IntArray,
    celsius: list[float],
    times: _Times,
    line: IntArray,
    source: str,
    zone: ZoneInfo,
    quoted: Sequence[str],
) -> TemperatureSeries:
    rows = np.flatnonzero(mask)
    sensors, origin = np.unique(ent[rows], return_inverse=True)
    first = np.full(sensors.shape[0], rows.shape[0], dtype=np.int64)
    np.minimum.at(first, origin.reshape(-1), np.arange(rows.shape[0]))
    order = np.argsort(first, kind="stable")  # origins numbered by first reading, as from_samples does
    renumber = np.empty_like(order)
    renumber[order] = np.arange(order.shape[0])
    return TemperatureSeries(
        zone=zone,
        utc_s=times[1][rows],
        celsius=np.array(celsius, dtype=np.float64)[pair[rows]] if rows.size else np.empty(0),
        origin=renumber[origin.reshape(-1)].astype(np.int32),
        line=line[rows].astype(np.int32),
        origins=tuple(SeriesOrigin(source=source, sensor=ents[int(sensors[k])], lines=quoted) for k in order),
    )


@dataclass(frozen=True)
class _HaPairs:
    """The distinct (entity, state) pairs of a history: ``keys[p]`` is entity << 32 | raw state."""

    entities: list[str]
    keys: IntArray
    states: _Distinct

    def items(self, p: int) -> dict[str, str]:
        """The active items pair ``p`` names, keyed as the row-wise reader keys them (-1: none)."""
        if p < 0:
            return {}
        key = int(self.keys[p])
        entity, state = self.entities[key >> 32], str(self.states.meaning[key & 0xFFFFFFFF])
        return {home_assistant._key(x): x for x in home_assistant._items(entity.lower(), state)}


def _ha_events(
    mask: np.ndarray, ent: IntArray, pair: IntArray, pairs: _HaPairs, line: IntArray, brand: str | None
) -> tuple[IntArray, IntArray, IntArray, _Meanings]:
    """Each state row compared with the previous state row of its entity: an item that appears is an
    event, an item that disappears its ``cleared`` event. Each distinct (before, now) is diffed once."""
    rows = np.flatnonzero(mask)
    by_entity = np.lexsort((rows, ent[rows]))
    sorted_rows = rows[by_entity]
    before = np.full(rows.shape[0], -1, dtype=np.int64)
    same = ent[sorted_rows[1:]] == ent[sorted_rows[:-1]]
    before_sorted = np.where(same, pair[sorted_rows[:-1]], -1)
    before[by_entity[1:]] = before_sorted
    now = pair[rows]
    span = pairs.keys.shape[0] + 1
    steps, step = np.unique((before + 1) * span + now, return_inverse=True)
    step = step.reshape(-1)
    meanings = _Meanings(brand)
    emitted: list[list[int]] = []
    for key in steps.tolist():
        b, n = divmod(key, span)
        emitted.append(_ha_diff(pairs.items(b - 1), pairs.items(n), meanings))
    counts = np.array([len(e) for e in emitted], dtype=np.int64)[step] if emitted else np.empty(0, np.int64)
    flat = np.array([m for e in emitted for m in e], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum([len(e) for e in emitted])[:-1])).astype(np.int64)
    event_rows = np.repeat(rows, counts)
    within = np.arange(event_rows.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    meaning = flat[np.repeat(starts[step], counts) + within] if event_rows.size else np.empty(0, np.int64)
    return event_rows, line[event_rows], meaning, meanings


def _ha_diff(was: dict[str, str], now: dict[str, str], meanings: _Meanings) -> list[int]:
    """Meanings of the events of one step from the items ``was`` active to those ``now`` active."""
    out = [meanings.of(*home_assistant._split_item(x)) for k, x in now.items() if k not in was]
    out += [meanings.of(*home_assistant._split_item(x), cleared=True) for k, x in was.items() if k not in now]
    return out


# ---------------------------------------------------------------- Victron dbus-serialbattery log
_TAG = ":SerialBattery:"


def victron_columns(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    """A dbus-serialbattery log in columns; None when it needs the row-wise reader."""
    brand = brand or "victron"
    match = victron_serialbattery._LINE.match
    recovered = victron_serialbattery._RECOVERED.search
    levels = victron_serialbattery._LEVELS
    meanings = _Meanings(brand)
    picked: list[int] = []
    meaning: list[int] = []
    local: list[str] = []
    tai: list[int] = []
    seen: dict[tuple[str, str], int] = {}
    for i, ln in enumerate(lines):
        if _TAG not in ln:
            continue
        m = match(ln)
        if m is None or m["logger"] != "SerialBattery":
            continue
        level, msg = m["level"], m["msg"].strip()
        if level not in levels and not (level == "INFO" and recovered(msg)):
            continue
        known = seen.get((level, msg))
        if known is None:
            known = seen[(level, msg)] = _victron_meaning(level, msg, meanings)
        picked.append(i + 1)
        meaning.append(known)
        if m["tai"]:
            tai.append(int(m["tai"][:16], 16) - victron_serialbattery._TAI_BASE)
        else:
            local.append(m["local"])
    if tai and local:
        return None  # labels and local times mixed: each keeps its own zone, row by row
    if tai:
        utc_us = np.array(tai, dtype=np.int64) * 1_000_000
        resolved = _stamp_columns.Resolved(None, utc_us, np.zeros(len(tai), np.int64), [])
        if _stamp_columns._bounded(resolved) is None:
            return None
        local_us, utc_s = instants(resolved, zone)
        times: _Times = (local_us, utc_s, resolved.offset_s)
        warnings: list[ParseWarning] = []
    else:
        got = _column_times(local, picked[0] if picked else 1, zone, source)
        if got is None:
            return None
        times, warnings = got
    n = len(picked)
    events = _events(
        source,
        zone,
        cite if cite is not None else lines,
        times,
        np.arange(n, dtype=np.int64),
        np.array(picked, dtype=np.int64),
        np.array(meaning, dtype=np.int64),
        meanings,
    )
    return LogColumns(events=events, readings=_no_readings(zone), warnings=tuple(warnings))


def _victron_meaning(level: str, msg: str, meanings: _Meanings) -> int:
    """As :func:`victron_serialbattery.read` makes the event of one driver line."""
    if level == "INFO":
        return meanings.of("", "BMS communication lost", cleared=True)
    text = msg.lstrip(">|- ").strip()
    severity = victron_serialbattery._LEVELS[level]
    m = _build.meaning(meanings.brand, "", text, severity)
    kind = None
    if m.kind is EventKind.OTHER and re.search(r"no reply|not recover|timeout|did not respond", text, re.I):
        kind = EventKind.BMS_COMMS_LOST
    return meanings.of("", text, severity, kind=kind)


# ---------------------------------------------------------------- Lux Power portal event list (JSON)
def luxpower_columns(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    """A Lux Power / EG4 portal event list in columns: each row's event and, when it ended, its
    ``cleared`` event, in time order as the row-wise reader sorts them; None when it needs that reader."""
    with cycle_collection_paused():  # json's dicts of every row: no cycles, freed as they are read
        text = "\n".join(lines)
        rows = _lux_rows(text)
        if rows is None:
            return None
        key_lines = luxpower_events.time_key_lines(text)
        del text
        read = _lux_read(rows, key_lines, _Meanings(brand or "luxpower"))
        del rows
    start = _lux_times(read.start_stamp, read.start_line, zone, source)
    end = _lux_times(read.end_stamp, read.end_line, zone, source)
    if start is None or end is None or (start[2] is None) != (end[2] is None):
        return None
    # the row-wise order: each row's event, then its end; then sorted by time (stable)
    n, m = len(read.start_line), len(read.end_row)
    position = np.arange(n, dtype=np.int64) * 2
    order_key = np.concatenate([position, np.array(read.end_row, dtype=np.int64) * 2 + 1])
    merged = [np.concatenate([a, b]) for a, b in zip(start[:2], end[:2], strict=True)]
    offset = np.concatenate([start[2], end[2]]) if start[2] is not None and end[2] is not None else None
    # naive times in the site's zone compare by wall clock; times with offsets by instant
    when = merged[0] if offset is None else merged[1]
    read_order = np.argsort(order_key, kind="stable")
    order = read_order[np.argsort(when[read_order], kind="stable")]
    times: _Times = (merged[0][order], merged[1][order], offset[order] if offset is not None else None)
    lines_of = np.concatenate([np.array(read.start_line, np.int64), np.array(read.end_line, np.int64)])
    meaning = np.concatenate([np.array(read.start_meaning, np.int64), np.array(read.end_meaning, np.int64)])
    quoted = cite if cite is not None else lines
    events = _events(
        source,
        zone,
        quoted,
        times,
        np.arange(n + m, dtype=np.int64),
        lines_of[order],
        meaning[order],
        read.meanings,
    )
    return LogColumns(events=events, readings=_no_readings(zone), warnings=())


@dataclass
class _LuxRows:
    """The list's event rows as columns, one list per field the reader reads (row ``k`` is element ``k`` of
    each), filled as ``json`` parses the rows: no object per row (issue 17)."""

    event: list[object] = field(default_factory=list)
    type: list[object] = field(default_factory=list)
    text: list[object] = field(default_factory=list)
    start: list[object] = field(default_factory=list)
    end: list[object] = field(default_factory=list)
    has_end: list[bool] = field(default_factory=list)
    """The row has a ``renormalTime`` key (its value may be null)."""


_ROW: Final = object()
"""What the parse hook returns for an event row (the row itself went into :class:`_LuxRows`)."""


def _lux_rows(text: str) -> _LuxRows | None:
    """The list's rows, each object with a ``startTime`` put into :class:`_LuxRows` as it is parsed (any
    other object stays the dict ``json`` makes, the last of repeated keys winning). None when the text
    is not such a list, a row has no start, or an object with a start lies inside another (the row-wise
    reader reads that one as text): the row-wise reader's."""
    rows = _LuxRows()
    event, type_, text_, start, end, has_end = (
        rows.event.append,
        rows.type.append,
        rows.text.append,
        rows.start.append,
        rows.end.append,
        rows.has_end.append,
    )

    def hook(d: dict[str, Any]) -> Any:
        if "startTime" not in d:
            return d
        get = d.get
        event(get("event"))
        type_(get("eventType"))
        text_(get("eventText"))
        start(d["startTime"])
        end(get("renormalTime"))
        has_end("renormalTime" in d)
        return _ROW

    parsed = luxpower_events._rows(text, hook)
    if parsed is None or len(parsed) != len(rows.start) or not all(r is _ROW for r in parsed):
        return None
    return rows


@dataclass
class _LuxRead:
    """What the rows say, in the row-wise reader's order: each row's start, then its end when it has one."""

    meanings: _Meanings
    start_line: list[int] = field(default_factory=list)
    start_stamp: list[str] = field(default_factory=list)
    start_meaning: list[int] = field(default_factory=list)
    end_row: list[int] = field(default_factory=list)
    end_line: list[int] = field(default_factory=list)
    end_stamp: list[str] = field(default_factory=list)
    end_meaning: list[int] = field(default_factory=list)


def _lux_read(rows: _LuxRows, key_lines: dict[str, list[int]], meanings: _Meanings) -> _LuxRead:
    """Each row's start (line of its ``startTime`` key, its time text, its meaning) and, when it ended, its
    end; the meanings are classified in the row-wise reader's order (start, end, next row), each distinct
    (code, message, type) once."""
    out = _LuxRead(meanings)
    n = len(rows.start)
    found = key_lines["startTime"][:n]
    out.start_line = found + [1] * (n - len(found))  # more rows than keys seen: line 1, as row by row
    out.start_stamp = [str(s or "") for s in rows.start]
    codes = [str(e or "").strip() for e in rows.event]
    texts = [str(t or "").strip() for t in rows.text]
    types = luxpower_events._TYPES
    severities = [types.get(str(t or "").upper()) for t in rows.type]
    ends = iter(key_lines["renormalTime"])
    started: dict[tuple[str, str, Severity | None], int] = {}
    cleared: dict[tuple[str, str], int] = {}
    start_meaning = out.start_meaning
    for k, (code, message, severity, has_end, end) in enumerate(
        zip(codes, texts, severities, rows.has_end, rows.end, strict=True)
    ):
        key = (code, message, severity)
        at = started.get(key)
        if at is None:
            at = started[key] = meanings.of(code, message, severity)
        start_meaning.append(at)
        end_at = next(ends, None) if has_end else None
        if end and end_at is not None:
            out.end_row.append(k)
            out.end_line.append(end_at)
            out.end_stamp.append(str(end))
            ended = cleared.get((code, message))
            if ended is None:
                ended = cleared[(code, message)] = meanings.of(code, message, cleared=True)
            out.end_meaning.append(ended)
    return out


def _lux_times(stamps: list[str], lines: list[int], zone: ZoneInfo, source: str) -> _Times | None:
    """(site wall µs, UTC s, offsets) of one time column of the list, None when any is odd or warned."""
    resolved = _column_times(stamps, lines[0] if lines else 1, zone, source)
    if resolved is None or resolved[1]:
        return None
    return resolved[0]


def _no_readings(zone: ZoneInfo) -> TemperatureSeries:
    return TemperatureSeries(
        zone=zone,
        utc_s=np.empty(0),
        celsius=np.empty(0),
        origin=np.empty(0, np.int32),
        line=np.empty(0, np.int32),
    )
