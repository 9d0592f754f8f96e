"""Columns instead of one object per row, for year-long inverter logs (525,600 rows at one a minute).

:class:`EventColumns` holds the rows of one inverter log as numpy arrays; an event object
(:class:`~pylondiag.model.event.BatteryEvent`) is built only for a row a rule or a finding asks for
(:meth:`EventColumns.event`). :class:`TemperatureSeries` is the case's one temperature series as arrays,
with a citation built only for a reading a finding quotes (:meth:`TemperatureSeries.provenance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from pylondiag.model.console import Provenance
from pylondiag.model.event import BatteryEvent, EventKind, Severity, TemperatureSample

KINDS: Final[tuple[EventKind, ...]] = tuple(EventKind)
"""``EventColumns.kind`` holds indexes into this tuple."""
SEVERITIES: Final[tuple[Severity, ...]] = tuple(Severity)
"""``EventColumns.severity`` holds indexes into this tuple."""
KIND_INDEX: Final = {k: i for i, k in enumerate(KINDS)}
SEVERITY_INDEX: Final = {s: i for i, s in enumerate(SEVERITIES)}
NO_MODULE: Final = -1
"""``EventColumns.module`` where the row names no module."""

_EPOCH: Final = datetime(1970, 1, 1)
_UTC_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

if TYPE_CHECKING:  # numpy is imported on first use: a case without an inverter log never loads it
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    Int32Array = npt.NDArray[np.int32]
    Int8Array = npt.NDArray[np.int8]
    FloatArray = npt.NDArray[np.float64]
else:  # what pydantic sees when CaseView's fields are checked (any array is accepted as it is)
    IntArray = Int32Array = Int8Array = FloatArray = object

_NO_ROWS: Final[Any] = ()
"""The columns of an empty series before numpy is needed (``len()`` works on both)."""


def wall_time(local_us: int, utc_s: float, zone: ZoneInfo) -> datetime:
    """The aware datetime a reader gives for a naive local time: the wall clock ``local_us`` (µs since
    1970-01-01, site time) in ``zone``, ``fold`` chosen so that it is the instant ``utc_s`` (s, UTC)."""
    naive = _EPOCH + timedelta(microseconds=local_us)
    aware = naive.replace(tzinfo=zone)
    if abs(aware.timestamp() - utc_s) > 1e-3:
        other = naive.replace(tzinfo=zone, fold=1)
        if abs(other.timestamp() - utc_s) <= 1e-3:
            return other
    return aware


@dataclass(frozen=True)
class EventPair:
    """What one distinct (code, message) of a log means: the reader classifies each pair once."""

    code: str | None
    text: str
    verified: bool
    classified_by: str
    clears: EventKind | None


@dataclass(frozen=True, eq=False)
class EventColumns:
    """Event rows of one inverter log, one array element per row, in file order."""

    source: str
    brand: str | None
    """Canonical code-table brand the rows were classified with."""
    zone: ZoneInfo
    lines: Sequence[str]
    """The file's lines (``lines[n - 1]`` is line ``n``): the raw text of a citation."""
    local_us: IntArray
    """Site wall-clock time, µs since 1970-01-01 (naive)."""
    utc_s: FloatArray
    """The same instant, s since 1970-01-01 UTC."""
    line: Int32Array
    """1-based line in ``source``."""
    kind: Int8Array
    """Index into :data:`KINDS`."""
    severity: Int8Array
    """Index into :data:`SEVERITIES`."""
    temperature_c: FloatArray
    """°C recorded with the event, NaN where none."""
    module: Int32Array
    """BMS address the row names, :data:`NO_MODULE` where none."""
    pair: Int32Array
    """Index into ``pairs``."""
    pairs: tuple[EventPair, ...]
    objects: Sequence[BatteryEvent] | None = None
    """The event objects themselves when the log was read row by row (then ``event(i)`` is ``objects[i]``)."""
    offset_s: IntArray | None = None
    """The UTC offset (s) each row's time was written with (``...+01:00``, ``...Z``): its event's time
    keeps that offset, as ``datetime.fromisoformat`` gives it. None: times are the site's wall clock."""

    def __len__(self) -> int:
        return len(self.utc_s)

    def event(self, i: int) -> BatteryEvent:
        """Row ``i`` as an event object, exactly as the row-wise reader builds it."""
        if self.objects is not None:
            return self.objects[i]
        p = self.pairs[int(self.pair[i])]
        line = int(self.line[i])
        temp = float(self.temperature_c[i])
        module = int(self.module[i])
        return BatteryEvent(
            time=self._time(i),
            origin="inverter",
            brand=self.brand,
            code=p.code,
            text=p.text,
            kind=KINDS[int(self.kind[i])],
            severity=SEVERITIES[int(self.severity[i])],
            module_address=None if module == NO_MODULE else module,
            code_verified=p.verified,
            temperature_c=None if temp != temp else temp,
            classified_by=p.classified_by,
            clears=p.clears,
            provenance=Provenance(source=self.source, line=line, raw=_line(self.lines, line)),
        )

    def _time(self, i: int) -> datetime:
        """Row ``i``'s time as the row-wise reader gives it: in the site's zone, or at its own offset."""
        if self.offset_s is None:
            return wall_time(int(self.local_us[i]), float(self.utc_s[i]), self.zone)
        offset = timezone(timedelta(seconds=int(self.offset_s[i])))
        return (_UTC_EPOCH + timedelta(microseconds=round(float(self.utc_s[i]) * 1e6))).astimezone(offset)

    def events(self, rows: Iterable[int] | None = None) -> list[BatteryEvent]:
        """Rows as event objects (all rows when ``rows`` is None): for the few rows a rule quotes."""
        return [self.event(int(i)) for i in (range(len(self)) if rows is None else rows)]

    def take(self, rows: npt.NDArray[np.bool_] | IntArray) -> EventColumns:
        """The rows selected by a mask or an index array, as columns of their own."""
        import numpy as np

        idx = np.nonzero(rows)[0] if rows.dtype == np.bool_ else rows
        objects = [self.objects[int(i)] for i in idx] if self.objects is not None else None
        return EventColumns(
            source=self.source,
            brand=self.brand,
            zone=self.zone,
            lines=self.lines,
            local_us=self.local_us[idx],
            utc_s=self.utc_s[idx],
            line=self.line[idx],
            kind=self.kind[idx],
            severity=self.severity[idx],
            temperature_c=self.temperature_c[idx],
            module=self.module[idx],
            pair=self.pair[idx],
            pairs=self.pairs,
            objects=objects,
            offset_s=self.offset_s[idx] if self.offset_s is not None else None,
        )

    def pair_rows(self, wanted: Iterable[int]) -> IntArray:
        """Row indexes whose pair is one of ``wanted`` (pair indexes)."""
        import numpy as np

        return np.nonzero(np.isin(self.pair, np.fromiter(wanted, np.int32)))[0]

    def temperatures(self, sensor: str) -> TemperatureSeries:
        """The temperature recorded with each row (rows without one left out), as a series in row order."""
        import numpy as np

        rows = np.nonzero(~np.isnan(self.temperature_c))[0]
        provenances: dict[int, Provenance] = {}
        if self.objects is not None:
            provenances = {j: self.objects[int(i)].provenance for j, i in enumerate(rows)}
        return TemperatureSeries(
            zone=self.zone,
            utc_s=self.utc_s[rows],
            celsius=self.temperature_c[rows],
            origin=np.zeros(rows.shape[0], dtype=np.int32),
            line=self.line[rows],
            origins=(SeriesOrigin(source=self.source, sensor=sensor, lines=self.lines),),
            provenances=provenances,
        )

    @classmethod
    def from_events(
        cls, events: Sequence[BatteryEvent], source: str, brand: str | None, zone: ZoneInfo
    ) -> EventColumns:
        """Columns over event objects (each must have a time), keeping the objects themselves."""
        import numpy as np

        pairs: dict[EventPair, int] = {}
        pair = np.empty(len(events), dtype=np.int32)
        utc = np.empty(len(events), dtype=np.float64)
        local = np.empty(len(events), dtype=np.int64)
        for i, e in enumerate(events):
            assert e.time is not None
            t = e.time if e.time.tzinfo is not None else e.time.replace(tzinfo=zone)
            utc[i] = t.timestamp()
            wall = t.astimezone(zone).replace(tzinfo=None)
            local[i] = (wall - _EPOCH) // timedelta(microseconds=1)
            key = EventPair(e.code, e.text, e.code_verified, e.classified_by, e.clears)
            pair[i] = pairs.setdefault(key, len(pairs))
        return cls(
            source=source,
            brand=brand,
            zone=zone,
            lines=(),
            local_us=local,
            utc_s=utc,
            line=np.array([e.provenance.line for e in events], dtype=np.int32),
            kind=np.array([KIND_INDEX[e.kind] for e in events], dtype=np.int8),
            severity=np.array([SEVERITY_INDEX[e.severity] for e in events], dtype=np.int8),
            temperature_c=np.array(
                [np.nan if e.temperature_c is None else e.temperature_c for e in events], dtype=np.float64
            ),
            module=np.array(
                [NO_MODULE if e.module_address is None else e.module_address for e in events], dtype=np.int32
            ),
            pair=pair,
            pairs=tuple(pairs),
            objects=list(events),
        )


def _offset_s(utc_s: int, zone: ZoneInfo) -> float:
    """``zone``'s offset from UTC (s) at the instant ``utc_s``."""
    offset = datetime.fromtimestamp(utc_s, zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def local_seconds(utc_s: FloatArray, zone: ZoneInfo) -> IntArray:
    """Wall-clock s since 1970-01-01 in ``zone`` of each instant ``utc_s`` (s, UTC), as
    ``datetime.astimezone(zone)`` gives it, whole seconds (floor). The zone's offset is looked up once
    per UTC quarter-hour: every zone's offsets and their changes fall on quarter-hours."""
    import numpy as np

    utc = np.asarray(utc_s, dtype=np.float64)
    quarters, which = np.unique(np.floor(utc / 900).astype(np.int64), return_inverse=True)
    offset_s = np.array([_offset_s(int(q) * 900, zone) for q in quarters], dtype=np.float64)[which]
    out: IntArray = np.floor(utc + offset_s).astype(np.int64)
    return out


def _aware(t: datetime, zone: ZoneInfo) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=zone)


def _line(lines: Sequence[str], n: int) -> str:
    return lines[n - 1] if 0 < n <= len(lines) else ""


@dataclass(frozen=True)
class SeriesOrigin:
    """Where readings of a :class:`TemperatureSeries` come from: one file and what it measured."""

    source: str
    sensor: str
    lines: Sequence[str] = ()
    """The file's lines, for the raw text of a citation."""


@dataclass(frozen=True, eq=False)
class TemperatureSeries:
    """Temperatures over time as arrays, in series order (the case reader sorts them oldest first)."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    utc_s: FloatArray = _NO_ROWS
    """s since 1970-01-01 UTC."""
    celsius: FloatArray = _NO_ROWS
    origin: Int32Array = _NO_ROWS
    """Index into ``origins``."""
    line: Int32Array = _NO_ROWS
    """1-based line in the origin's source."""
    origins: tuple[SeriesOrigin, ...] = ()
    provenances: Mapping[int, Provenance] = field(default_factory=dict)
    """Row → its citation, for rows read as objects (a BMS event's temperature, a row-wise log)."""

    def __len__(self) -> int:
        return len(self.utc_s)

    def provenance(self, j: int) -> Provenance:
        """Where reading ``j`` was read (built on demand: only for readings a finding quotes)."""
        known = self.provenances.get(j)
        if known is not None:
            return known
        o = self.origins[int(self.origin[j])]
        n = int(self.line[j])
        return Provenance(source=o.source, line=n, raw=_line(o.lines, n))

    def time(self, j: int) -> datetime:
        """Reading ``j``'s time in the site's zone."""
        return datetime.fromtimestamp(float(self.utc_s[j]), UTC).astimezone(self.zone)

    def points(self) -> list[tuple[datetime, float]]:
        """(time in the site's zone, °C) of every reading, for drawing."""
        return [(self.time(j), float(self.celsius[j])) for j in range(len(self))]

    def seconds(self) -> IntArray:
        """Reading times as whole s since 1970-01-01 UTC (truncated, as ``int(datetime.timestamp())``)."""
        import numpy as np

        out: IntArray = np.asarray(self.utc_s, dtype=np.float64).astype(np.int64)
        return out

    def values(self) -> FloatArray:
        """Readings in °C as an array."""
        import numpy as np

        out: FloatArray = np.asarray(self.celsius, dtype=np.float64)
        return out

    def sample(self, j: int) -> TemperatureSample:
        o = self.origins[int(self.origin[j])]
        return TemperatureSample(
            time=self.time(j), celsius=float(self.celsius[j]), sensor=o.sensor, provenance=self.provenance(j)
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Every reading as a :class:`TemperatureSample` (for small series and tests)."""
        return (self.sample(j) for j in range(len(self)))

    def take(self, rows: IntArray) -> TemperatureSeries:
        """The readings at ``rows`` (indexes), in that order."""
        import numpy as np

        new_of: dict[int, int] = {}
        if self.provenances:
            position = np.full(len(self), -1, dtype=np.int64)
            position[rows] = np.arange(rows.shape[0])
            new_of = {old: int(position[old]) for old in self.provenances if position[old] >= 0}
        return TemperatureSeries(
            zone=self.zone,
            utc_s=self.utc_s[rows],
            celsius=self.celsius[rows],
            origin=self.origin[rows],
            line=self.line[rows],
            origins=self.origins,
            provenances={new: self.provenances[old] for old, new in new_of.items()},
        )

    @classmethod
    def concat(cls, parts: Sequence[TemperatureSeries], zone: ZoneInfo) -> TemperatureSeries:
        """One series of ``parts`` one after the other."""
        import numpy as np

        origins: list[SeriesOrigin] = []
        provenances: dict[int, Provenance] = {}
        offset = 0
        for p in parts:
            provenances.update({offset + j: prov for j, prov in p.provenances.items()})
            offset += len(p)
        origin = [p.origin + sum(len(q.origins) for q in parts[:k]) for k, p in enumerate(parts)]
        for p in parts:
            origins.extend(p.origins)
        return cls(
            zone=zone,
            utc_s=np.concatenate([p.utc_s for p in parts]) if parts else np.empty(0),
            celsius=np.concatenate([p.celsius for p in parts]) if parts else np.empty(0),
            origin=np.concatenate(origin).astype(np.int32) if parts else np.empty(0, np.int32),
            line=np.concatenate([p.line for p in parts]).astype(np.int32) if parts else np.empty(0, np.int32),
            origins=tuple(origins),
            provenances=provenances,
        )

    def daily_extremes(self) -> IntArray:
        """Indexes of each day's lowest and highest reading (days in the series' zone), in series order:
        all a chart of a long series needs to draw every day's range with its spikes (a year at one
        reading a minute: 525,600 readings, 730 kept). Ties keep the earliest lowest and latest highest.

        A reading's day comes from its UTC time plus the zone's offset, looked up once per UTC
        quarter-hour: every zone's offsets and their changes fall on quarter-hours."""
        import numpy as np

        celsius = np.asarray(self.celsius, dtype=np.float64)
        known = np.flatnonzero(np.isfinite(celsius))
        if known.shape[0] == 0:
            return known.astype(np.int64)
        utc = np.asarray(self.utc_s, dtype=np.float64)[known]
        day = local_seconds(utc, self.zone) // 86400
        order = np.lexsort((celsius[known], day))  # by day, then by value; stable: ties in series order
        days = day[order]
        first = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        last = np.r_[first[1:], days.shape[0]] - 1
        rows: IntArray = np.unique(known[np.concatenate([order[first], order[last]])]).astype(np.int64)
        return rows

    def first_per_line(self) -> IntArray:
        """Indexes of the first reading of each (source, line), in series order: one reading per line."""
        import numpy as np

        source_id: dict[str, int] = {}
        ids = np.array([source_id.setdefault(o.source, len(source_id)) for o in self.origins], dtype=np.int64)
        keys = (ids[self.origin] << 32) | self.line.astype(np.int64) if len(self) else np.empty(0, np.int64)
        _, first = np.unique(keys, return_index=True)
        out: IntArray = np.sort(first)
        return out

    @classmethod
    def from_samples(
        cls, samples: Sequence[TemperatureSample], zone: ZoneInfo | None = None
    ) -> TemperatureSeries:
        """A series over sample objects, in the order given."""
        import numpy as np

        zone = zone or ZoneInfo("Europe/London")
        origins: dict[tuple[str, str], int] = {}
        origin = [origins.setdefault((s.provenance.source, s.sensor), len(origins)) for s in samples]
        return cls(
            zone=zone,
            utc_s=np.array([_aware(s.time, zone).timestamp() for s in samples], dtype=np.float64),
            celsius=np.array([s.celsius for s in samples], dtype=np.float64),
            origin=np.array(origin, dtype=np.int32),
            line=np.array([s.provenance.line for s in samples], dtype=np.int32),
            origins=tuple(SeriesOrigin(source=src, sensor=sensor) for src, sensor in origins),
            provenances={j: s.provenance for j, s in enumerate(samples)},
        )
