"""Columnar events: numpy arrays instead of one object per row, for year-long logs and statistics.

:func:`read_event_table` reads the generic event CSV straight into arrays (numpy parses the ISO times,
codes are classified once per distinct code/message pair) — the fast path for large exports. Any
other shape, and any file the fast path cannot take whole (non-ISO dates, times with offsets,
quoted line breaks), is read by :func:`~pylondiag.evidence.inverter_log.read_inverter_log` and then
converted with :meth:`EventTable.from_events`, so both paths give the same table.

Fast-path limitation: in the repeated autumn hour naive times take the first (summer-time) offset;
the object path resolves that hour from the log's order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from pylondiag.domain.inverter_codes import canonical_brand
from pylondiag.errors import NotAnInverterLog
from pylondiag.evidence.inverter_log import generic_csv
from pylondiag.evidence.inverter_log._classify import classify, severity_word
from pylondiag.evidence.inverter_log._text import decode, split_lines
from pylondiag.evidence.inverter_log._times import _DIRECTION_SAMPLE, _localize
from pylondiag.model.event import BatteryEvent, EventKind, Severity

KINDS: Final[tuple[EventKind, ...]] = tuple(EventKind)
"""``EventTable.kind`` holds indexes into this tuple."""
SEVERITIES: Final[tuple[Severity, ...]] = tuple(Severity)
_KIND_INDEX: Final = {k: i for i, k in enumerate(KINDS)}
_SEV_INDEX: Final = {s: i for i, s in enumerate(SEVERITIES)}

_MIN_STAMP: Final = len("2026-01-01 00:00")
_NEG_OFFSET: Final = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?-\d\d")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EventTable:
    """One row per event, oldest first as in the file."""

    source: str
    utc_s: IntArray
    """Event time, seconds since 1970-01-01 UTC."""
    local_s: IntArray
    """The same instant as site wall-clock seconds (``utc_s`` + the zone's offset then);
    hour of day = ``local_s // 3600 % 24``."""
    kind: npt.NDArray[np.int8]
    """Index into :data:`KINDS`."""
    severity: npt.NDArray[np.int8]
    temperature_c: FloatArray
    """Temperature recorded with the event, NaN where none."""
    line: npt.NDArray[np.int32]
    """1-based line in ``source``."""

    def __len__(self) -> int:
        return int(self.utc_s.shape[0])

    def of_kind(self, *kinds: EventKind) -> npt.NDArray[np.bool_]:
        """Mask of the rows of the given kinds."""
        wanted = np.array([_KIND_INDEX[k] for k in kinds], dtype=np.int8)
        return np.isin(self.kind, wanted)

    @classmethod
    def from_events(
        cls, events: Sequence[BatteryEvent], source: str = "", timezone: str = "Europe/London"
    ) -> EventTable:
        """Arrays from event objects (events without a time are left out)."""
        zone = ZoneInfo(timezone)
        timed = [e for e in events if e.time is not None]
        utc = np.empty(len(timed), dtype=np.int64)
        local = np.empty(len(timed), dtype=np.int64)
        for i, e in enumerate(timed):
            t = e.time
            assert t is not None
            aware = t if t.tzinfo is not None else t.replace(tzinfo=zone)
            utc[i] = int(aware.timestamp())
            offset = aware.astimezone(zone).utcoffset()
            local[i] = utc[i] + (int(offset.total_seconds()) if offset is not None else 0)
        return cls(
            source=source,
            utc_s=utc,
            local_s=local,
            kind=np.array([_KIND_INDEX[e.kind] for e in timed], dtype=np.int8),
            severity=np.array([_SEV_INDEX[e.severity] for e in timed], dtype=np.int8),
            temperature_c=np.array(
                [np.nan if e.temperature_c is None else e.temperature_c for e in timed], dtype=np.float64
            ),
            line=np.array([e.provenance.line for e in timed], dtype=np.int32),
        )


def _zone_offsets(local_s: IntArray, zone: ZoneInfo) -> IntArray:
    """UTC offset (s) for each naive local time, computed once per distinct local hour.

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


def _fast_generic(data: bytes, source: str, brand: str | None, zone: ZoneInfo) -> EventTable | None:
    """The generic CSV with ISO local times, column-wise; None when it needs the row-wise reader."""
    text, _ = decode(data)
    lines = split_lines(text)
    found = generic_csv.find_header(lines)
    if found is None:
        return None
    header, delimiter, roles = found
    if "clock" in roles:
        return None
    body = lines[header + 1 :]
    while body and not body[-1].strip():
        body.pop()
    n = len(body)
    ncols = len(lines[header].split(delimiter))
    width = max(roles.values()) + 1
    columns: list[Sequence[str]]
    flat = delimiter.join(body).split(delimiter) if '"' not in text else []
    if '"' not in text and len(flat) == n * ncols and ncols >= width:
        # no quoting and every row as wide as the header: one split, columns by slicing
        columns = [flat[i::ncols] for i in range(width)]
    else:
        rows = list(csv.reader(body, delimiter=delimiter))
        if len(rows) != n or (rows and min(map(len, rows)) < width):
            return None  # quoted line breaks or short rows: the row-wise reader reports them by line
        columns = list(zip(*rows, strict=False)) if rows else [()] * width
    i_time, i_code, i_msg = roles["time"], roles.get("code"), roles.get("message")
    i_sev, i_temp = roles.get("severity"), roles.get("temperature")
    stamps = columns[i_time]
    joined = "\x1f".join(stamps)
    if stamps and (
        min(map(len, stamps)) < _MIN_STAMP or "+" in joined or "Z" in joined or _NEG_OFFSET.search(joined)
    ):
        return None  # offsets, 'Z' or partial times: the row-wise reader handles (and reports) them
    try:
        parsed = np.array(stamps, dtype="datetime64[s]")
    except ValueError:
        return None  # not all plain ISO local times
    if np.isnat(parsed).any():
        return None
    naive = parsed.astype(np.int64)
    codes = columns[i_code] if i_code is not None else ("",) * n
    texts = columns[i_msg] if i_msg is not None else ("",) * n
    # classify each distinct (code, message) once, then map rows to it with an index array
    pair_index: dict[tuple[str, str], int] = {}
    row_pair = np.fromiter(
        (pair_index.setdefault(p, len(pair_index)) for p in zip(codes, texts, strict=True)), np.int64, count=n
    )
    pair_kind = np.empty(len(pair_index), dtype=np.int8)
    pair_sev = np.empty(len(pair_index), dtype=np.int8)
    for (c, t), j in pair_index.items():
        c, t = c.strip(), t.strip()
        if not c and not t:
            pair_kind[j], pair_sev[j] = -1, 0
            continue
        cl = classify(brand, c, t)
        pair_kind[j], pair_sev[j] = _KIND_INDEX[cl.kind], _SEV_INDEX[cl.severity]
    kind = pair_kind[row_pair]
    sev = pair_sev[row_pair]
    keep = kind >= 0
    if i_sev is not None:
        word_index: dict[str, int] = {}
        row_word = np.fromiter(
            (word_index.setdefault(w, len(word_index)) for w in columns[i_sev]), np.int64, count=n
        )
        word_sev = np.array(
            [-1 if (s := severity_word(w)) is None else _SEV_INDEX[s] for w in word_index], dtype=np.int8
        )
        given = word_sev[row_word]
        sev = np.where(given >= 0, given, sev).astype(np.int8)
    temperature = np.full(n, np.nan)
    if i_temp is not None:
        try:
            temperature = np.array([x if x.strip() else "nan" for x in columns[i_temp]], dtype=np.float64)
        except ValueError:
            return None
    offsets = _zone_offsets(naive, zone)
    line = np.arange(header + 2, header + 2 + n, dtype=np.int32)
    return EventTable(
        source=source,
        utc_s=(naive - offsets)[keep],
        local_s=naive[keep],
        kind=kind[keep],
        severity=sev[keep],
        temperature_c=temperature[keep],
        line=line[keep],
    )


def read_event_table(
    data: bytes, source: str, *, brand: str | None = None, timezone: str = "Europe/London"
) -> EventTable:
    """Events of an inverter log as arrays; same arguments and errors as ``read_inverter_log``."""
    from pylondiag.evidence.inverter_log import read_inverter_log  # the package imports this module

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise NotAnInverterLog(f"unknown site timezone {timezone!r}", source=source) from exc
    fast = _fast_generic(data, source, canonical_brand(brand), zone)
    if fast is not None:
        return fast
    log = read_inverter_log(data, source, brand=brand, timezone=timezone)
    return EventTable.from_events(log.events, source=source, timezone=timezone)
