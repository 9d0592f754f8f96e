"""An inverter log read into columns (:class:`LogColumns`): the case reader's path for every log.

The generic event CSV with plain ISO local times — the shape a year-long export has — is read
column-wise, :data:`CHUNK_ROWS` lines at a time (numpy parses the times; each distinct code/message,
severity word, temperature text and module text is read once), so no object is made per row and the
memory held while reading stays bounded by the chunk. Every other shape, and any CSV the column path
cannot take whole (quoted line breaks, short rows, dates that are not plain ISO, offsets), is read
row by row by :func:`~pylondiag.evidence.inverter_log.read_inverter_log` and put in the same columns,
keeping its event objects. Both paths give the same events, readings and warnings (tested).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from pylondiag.domain.inverter_codes import canonical_brand
from pylondiag.errors import NotAnInverterLog
from pylondiag.evidence.inverter_log import (
    _stamp_columns,
    generic_csv,
    home_assistant,
    luxpower_events,
    victron_serialbattery,
)
from pylondiag.evidence.inverter_log._classify import classify, severity_word
from pylondiag.evidence.inverter_log._context import parse_float, site_zone
from pylondiag.evidence.inverter_log._text import cite_lines, decode, split_lines
from pylondiag.evidence.inverter_log._times import _DIRECTION_SAMPLE, _localize
from pylondiag.evidence.inverter_log.log import InverterLog
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

ROW_WISE_MAX_BYTES: Final = 16 * 1024 * 1024
"""Bytes: a log the column path cannot take whole (odd times or rows) is read row by row, one event
object per row — about 35 to 65 MB of memory per MiB of log (``bench/year_case.py --ab``) — so a larger
one is refused (a gap saying why) instead of needing over a gigabyte. Logs in the accepted layouts are
bounded by ``casedir.files.MAX_FILE_BYTES`` alone."""
CHUNK_ROWS: Final = 65_536
"""Lines split into fields at a time on the column path: bounds the short-lived strings to one chunk."""
READING_SENSOR: Final = "temperature"
"""Sensor name of a generic CSV's temperature readings (as the row-wise reader names them)."""
_MIN_STAMP: Final = len("2026-01-01 00:00")
_NEG_OFFSET: Final = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?-\d\d")
_NO_CODE: Final = "row has neither code nor message"
_FIRST_DAY: Final = np.datetime64("0001-01-02", "us")
_LAST_DAY: Final = np.datetime64("9999-12-30", "us")
"""Times the column path takes: a day inside Python's datetime range either side (a zone's offset can
move a time by up to a day)."""


@dataclass(frozen=True, eq=False)
class LogColumns:
    """One inverter log: its event rows, its temperature readings between events, and rows skipped."""

    events: EventColumns
    readings: TemperatureSeries
    """Readings that are not events (rows with a temperature and no code), in file order."""
    warnings: tuple[ParseWarning, ...] = ()
    """Rows that could not be read, by line."""


def read_log_columns(
    data: bytes, source: str, *, brand: str | None = None, timezone: str = "Europe/London"
) -> LogColumns:
    """Read an inverter log into columns; same arguments and errors as ``read_inverter_log``."""
    from pylondiag.evidence.inverter_log import _shape_of, read_inverter_log  # a cycle if at the top

    zone = site_zone(timezone, source)
    text, encoding = decode(data)
    lines = split_lines(text)
    del text
    found = _shape_of(lines)
    reader = _COLUMN_READERS.get(found[0]) if found is not None else None
    if reader is not None:
        cite = cite_lines(data, encoding, lines)
        fast = reader(lines, source, canonical_brand(brand), zone, cite)
        if fast is not None:
            return fast
    del lines
    if found is not None and len(data) > ROW_WISE_MAX_BYTES:
        raise NotAnInverterLog(
            f"{len(data)} bytes is too large to read row by row (limit {ROW_WISE_MAX_BYTES}): its rows are "
            "not all laid out alike (one row per line, every time in one layout such as 2026-11-18 07:12:40 "
            "or 18/11/2026 07:12), so each row would be read on its own; split the file or export it with "
            "ISO times",
            source=source,
        )
    return from_log(read_inverter_log(data, source, brand=brand, timezone=timezone), zone)


def _home_assistant(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    from pylondiag.evidence.inverter_log._shape_columns import home_assistant_columns  # imports this module

    return home_assistant_columns(lines, source, brand, zone, cite)


def _luxpower(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    from pylondiag.evidence.inverter_log._shape_columns import luxpower_columns  # imports this module

    return luxpower_columns(lines, source, brand, zone, cite)


def _victron(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None
) -> LogColumns | None:
    from pylondiag.evidence.inverter_log._shape_columns import victron_columns  # imports this module

    return victron_columns(lines, source, brand, zone, cite)


def from_log(log: InverterLog, zone: ZoneInfo) -> LogColumns:
    """Columns over a log read row by row (its event and reading objects are kept)."""
    timed = [e for e in log.events if e.time is not None]
    return LogColumns(
        events=EventColumns.from_events(timed, log.source, log.brand, zone),
        readings=TemperatureSeries.from_samples(log.temperatures, zone),
        warnings=tuple(log.warnings),
    )


# ---------------------------------------------------------------- the column path
_ColumnReader = Callable[[list[str], str, "str | None", ZoneInfo, "list[str] | None"], "LogColumns | None"]


@dataclass
class _Distinct:
    """Each distinct value of a column read once: value → index, and what it means."""

    read: Callable[[Any], object]
    index: dict[Any, int] = field(default_factory=dict)
    meaning: list[object] = field(default_factory=list)

    def codes(self, values: Sequence[Any], n: int) -> IntArray:
        """Index of each of the ``n`` values (new values are read and remembered)."""
        index = self.index
        for value in set(values).difference(index):
            index[value] = len(self.meaning)
            self.meaning.append(self.read(value))
        return np.fromiter(map(index.__getitem__, values), np.int64, count=n)


@dataclass
class _Chunks:
    """What the column path has read so far, chunk by chunk."""

    stamps: list[_stamp_columns.Stamps] = field(default_factory=list)
    code: list[IntArray] = field(default_factory=list)
    text: list[IntArray] = field(default_factory=list)
    word: list[IntArray] = field(default_factory=list)
    temp: list[IntArray] = field(default_factory=list)
    module: list[IntArray] = field(default_factory=list)


def _split(chunk: list[str], delimiter: str, ncols: int, width: int) -> list[Sequence[str]] | None:
    """The first ``width`` columns of ``chunk``; None when a row is short or a quoted field spans lines."""
    joined = delimiter.join(chunk)
    if '"' not in joined:
        flat = joined.split(delimiter)
        del joined
        if len(flat) == len(chunk) * ncols:
            return [flat[i::ncols] for i in range(width)]
    try:
        rows = list(csv.reader(chunk, delimiter=delimiter))
    except csv.Error:
        return None
    if len(rows) != len(chunk) or (rows and min(map(len, rows)) < width):
        return None
    if not rows:
        return [[] for _ in range(width)]
    columns: list[Sequence[str]] = [list(c) for c in zip(*rows, strict=False)]
    return columns[:width]


def _stamps(column: Sequence[str]) -> _stamp_columns.Stamps | None:
    """One chunk's times: plain ISO local times parsed by numpy, else every value laid out alike
    (:mod:`~pylondiag.evidence.inverter_log._stamp_columns`); None when the rows must be read one by one."""
    plain = _plain_iso(column) if column and column[0][4:5] == "-" else None
    if plain is not None:
        return _stamp_columns.Stamps("wall", plain)
    return _stamp_columns.read(column)


def _plain_iso(column: Sequence[str]) -> IntArray | None:
    """Plain ISO local times as µs since 1970 (wall clock), or None when any is not one."""
    if not column:
        return np.empty(0, dtype=np.int64)
    joined = "\x1f".join(column)
    if min(map(len, column)) < _MIN_STAMP or "+" in joined or "Z" in joined:
        return None
    if joined.count("-") != 2 * len(column) and _NEG_OFFSET.search(joined):
        return None  # a negative UTC offset (each plain ISO date has exactly two '-')
    try:
        parsed = np.array(column, dtype="datetime64[us]")
    except ValueError:
        return None
    if np.isnat(parsed).any() or parsed.min() < _FIRST_DAY or parsed.max() > _LAST_DAY:
        return None  # numpy reads years up to 5 digits; Python's datetime (the zone lookups) stops at 9999
    out: IntArray = parsed.astype(np.int64)
    return out


def _generic_columns(
    lines: list[str], source: str, brand: str | None, zone: ZoneInfo, cite: list[str] | None = None
) -> LogColumns | None:
    """The generic CSV read column-wise; None when it needs the row-wise reader. ``cite``: the spec's
    text of the lines, which citations quote, when it differs from ``lines`` (a non-UTF-8 file)."""
    found = generic_csv.find_header(lines)
    if found is None:
        return None
    header, delimiter, roles = found
    if "clock" in roles:
        return None
    end = len(lines)
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    ncols = len(lines[header].split(delimiter))
    width = max(roles.values()) + 1
    codes = _Distinct(lambda v: v)
    texts = _Distinct(lambda v: v)
    words = _Distinct(lambda w: severity_word(w))
    temps = _Distinct(parse_float)
    modules = _Distinct(lambda m: int(m.strip()) if m.strip().isdigit() else NO_MODULE)
    got = _Chunks()
    i_code, i_msg, i_sev, i_temp, i_mod = (
        roles.get(r) for r in ("code", "message", "severity", "temperature", "module")
    )
    for start in range(header + 1, end, CHUNK_ROWS):
        chunk = lines[start : min(end, start + CHUNK_ROWS)]
        columns = _split(chunk, delimiter, ncols, width)
        if columns is None:
            return None
        stamps = _stamps(columns[roles["time"]])
        if stamps is None:
            return None
        blank = [""] * len(chunk)
        got.stamps.append(stamps)
        n = len(chunk)
        got.code.append(codes.codes(_col(columns, i_code, blank), n))
        got.text.append(texts.codes(_col(columns, i_msg, blank), n))
        got.word.append(words.codes(_col(columns, i_sev, blank), n))
        got.temp.append(temps.codes(_col(columns, i_temp, blank), n))
        got.module.append(modules.codes(_col(columns, i_mod, blank), n))
    times = _stamp_columns.resolve(got.stamps, header + 2, zone, source)
    if times is None:
        return None
    quoted = cite if cite is not None else lines
    return _assemble(got, times, quoted, header, source, brand, zone, (codes, texts, words, temps, modules))


def _col(columns: list[Sequence[str]], i: int | None, blank: list[str]) -> Sequence[str]:
    return columns[i] if i is not None else blank


def _cat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def instants(times: _stamp_columns.Resolved, zone: ZoneInfo) -> tuple[IntArray, FloatArray]:
    """(site wall clock in µs, UTC instant in s) of a column of times: naive times are the site's wall
    clock (the repeated autumn hour resolved from the log's order), times with an offset are instants."""
    if times.wall_us is not None:
        local_us = times.wall_us
        utc_s: FloatArray = (local_us - _zone_offsets(local_us // 1_000_000, zone) * 1_000_000) / 1e6
        return local_us, utc_s
    assert times.utc_us is not None
    utc_us = times.utc_us
    quarters, which = np.unique(utc_us // 900_000_000, return_inverse=True)
    starts = [_offset_s(int(q) * 900, zone) for q in quarters.tolist()]
    offsets = np.array(starts, dtype=np.int64)[which]
    for k, q in enumerate(quarters.tolist()):  # a change inside a quarter-hour (old local mean times)
        if _offset_s(int(q) * 900 + 899, zone) != starts[k]:
            for i in np.flatnonzero(which == k).tolist():
                offsets[i] = _offset_s(int(utc_us[i] // 1_000_000), zone)
    return utc_us + offsets * 1_000_000, utc_us / 1e6


def _offset_s(utc_s: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(utc_s, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _assemble(
    got: _Chunks,
    times: _stamp_columns.Resolved,
    lines: list[str],
    header: int,
    source: str,
    brand: str | None,
    zone: ZoneInfo,
    distinct: tuple[_Distinct, _Distinct, _Distinct, _Distinct, _Distinct],
) -> LogColumns:
    """Arrays for every row → event columns, readings and warnings."""
    local_us, utc_s = instants(times, zone)
    line = np.arange(header + 2, header + 2 + local_us.shape[0], dtype=np.int32)
    codes, texts, words, temps, modules = distinct
    # classification per distinct (code, message); -1 = neither (a reading or a skipped row)
    code_id, text_id = _cat(got.code), _cat(got.text)
    distinct_pairs, pair = np.unique((code_id << 32) | text_id, return_inverse=True)
    meanings: list[EventPair | None] = []
    kinds, sevs = [], []
    for key in distinct_pairs.tolist():
        code = str(codes.meaning[key >> 32]).strip()
        text = str(texts.meaning[key & 0xFFFFFFFF]).strip()
        if not code and not text:
            meanings.append(None)
            kinds.append(-1)
            sevs.append(0)
            continue
        c = classify(brand, code, text)
        meanings.append(EventPair(code or None, text, c.verified, c.classified_by, c.clears))
        kinds.append(KIND_INDEX[c.kind])
        sevs.append(SEVERITY_INDEX[c.severity])
    kind = np.array(kinds, dtype=np.int8)[pair] if kinds else np.empty(0, dtype=np.int8)
    severity = np.array(sevs, dtype=np.int8)[pair] if sevs else np.empty(0, dtype=np.int8)
    word_sev = np.array([-1 if w is None else SEVERITY_INDEX[w] for w in words.meaning], dtype=np.int8)  # type: ignore[index]
    given = word_sev[_cat(got.word)] if word_sev.size else np.empty(0, dtype=np.int8)
    severity = np.where(given >= 0, given, severity).astype(np.int8)
    temp_values = np.array([np.nan if t is None else t for t in temps.meaning], dtype=np.float64)
    temperature: FloatArray = temp_values[_cat(got.temp)] if temp_values.size else np.empty(0)
    module = (
        np.array(modules.meaning, dtype=np.int32)[_cat(got.module)]
        if modules.meaning
        else np.empty(0, np.int32)
    )

    is_event = kind >= 0
    is_reading = ~is_event & ~np.isnan(temperature)
    skipped = np.nonzero(~is_event & np.isnan(temperature))[0]
    # pairs renumbered so that only real events' meanings are kept
    keep_pairs = [i for i, m in enumerate(meanings) if m is not None]
    renumber = np.full(len(meanings), -1, dtype=np.int32)
    renumber[keep_pairs] = np.arange(len(keep_pairs), dtype=np.int32)
    events = EventColumns(
        source=source,
        brand=brand,
        zone=zone,
        lines=lines,
        local_us=local_us[is_event],
        utc_s=utc_s[is_event],
        line=line[is_event],
        kind=kind[is_event],
        severity=severity[is_event],
        temperature_c=temperature[is_event],
        module=module[is_event],
        pair=renumber[pair[is_event]] if len(meanings) else np.empty(0, np.int32),
        pairs=tuple(m for m in meanings if m is not None),
        offset_s=times.offset_s[is_event] if times.offset_s is not None else None,
    )
    readings = TemperatureSeries(
        zone=zone,
        utc_s=utc_s[is_reading],
        celsius=temperature[is_reading],
        origin=np.zeros(int(is_reading.sum()), dtype=np.int32),
        line=line[is_reading],
        origins=(SeriesOrigin(source=source, sensor=READING_SENSOR, lines=lines),),
    )
    warnings = sorted(
        [
            *times.warnings,
            *(
                ParseWarning(
                    source=source, line=int(line[i]), message=_NO_CODE, raw=lines[int(line[i]) - 1][:200]
                )
                for i in skipped
            ),
        ],
        key=lambda w: w.line,
    )
    return LogColumns(events=events, readings=readings, warnings=tuple(warnings))


def _zone_offsets(local_s: IntArray, zone: ZoneInfo) -> IntArray:
    """UTC offset (s) for each naive local time (s), computed once per distinct local hour.

    Rows in an hour the clock change makes ambiguous (or skips) are resolved like the row-wise reader
    does, from the log's order (:func:`~pylondiag.evidence.inverter_log._times._localize`).
    """
    hours = local_s // 3600
    unique, inverse = np.unique(hours, return_inverse=True)
    offsets = np.empty(unique.shape[0], dtype=np.int64)
    ambiguous = np.zeros(unique.shape[0], dtype=np.bool_)
    for i, h in enumerate(unique.tolist()):
        naive = datetime.fromtimestamp(h * 3600, UTC).replace(tzinfo=None)
        off0, off1 = (naive.replace(tzinfo=zone, fold=f).utcoffset() for f in (0, 1))
        offsets[i] = int(off0.total_seconds()) if off0 is not None else 0
        ambiguous[i] = off0 != off1
    result: IntArray = offsets[inverse]
    rows = np.nonzero(ambiguous[inverse])[0]
    if rows.size:
        steps = np.diff(local_s[:_DIRECTION_SAMPLE])
        ascending = bool((steps >= 0).sum() >= (steps < 0).sum())
        sub: list[datetime | None] = [
            datetime.fromtimestamp(int(local_s[i]), UTC).replace(tzinfo=None) for i in rows.tolist()
        ]
        for i, aware in zip(rows.tolist(), _localize(sub, zone, ascending), strict=True):
            off = aware.utcoffset() if aware is not None else None
            result[i] = int(off.total_seconds()) if off is not None else result[i]
    return result


_COLUMN_READERS: Final[dict[str, _ColumnReader]] = {
    generic_csv.SHAPE: _generic_columns,
    home_assistant.SHAPE: _home_assistant,
    victron_serialbattery.SHAPE: _victron,
    luxpower_events.SHAPE: _luxpower,
}
"""The shapes read column-wise (each returns None for a file it must leave to the row-wise reader)."""
