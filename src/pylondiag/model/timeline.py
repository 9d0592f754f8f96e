"""The case's one event timeline, with an inverter log's event rows kept as columns.

A year of inverter events at one row a minute is 525,600 rows; one :class:`BatteryEvent` (and its
citation) per row costs about 2.5 KB and 30 µs, so the case reader keeps those rows as
:class:`~pylondiag.model.columns.EventColumns` and the BMS events (a console's ``log``, ``pwr`` states,
``stat`` rises: a few hundred at most) as objects. :class:`Timeline` is both, in one order (oldest
first, events without a time last), and reads as a sequence of events: ``timeline[i]`` builds the event
object of position ``i`` on demand (once). Rules ask for the events they need with :meth:`Timeline.where`
(:class:`EventQuery`: kinds, severity, origin, module, a test on code and message run once per distinct
pair) and get :class:`EventRows`: a sequence too, whose counts, dates, times and codes come from the
columns, so only the rows a finding quotes ever become objects.

numpy is used only when there are columns (a case with an inverter log): a timeline of objects alone
works on plain lists, so a console-only case never loads it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, overload
from zoneinfo import ZoneInfo

from pylondiag.model.columns import KIND_INDEX, NO_MODULE, SEVERITY_INDEX, EventColumns, local_seconds
from pylondiag.model.event import BatteryEvent, EventKind, Severity

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

TextTest = Callable[[str | None, str], bool]
"""A test on an event's (code, message): run once per distinct pair of a log's rows."""

_INFO: Final = SEVERITY_INDEX[Severity.INFO]
_FAULT: Final = SEVERITY_INDEX[Severity.FAULT]
_ORDINAL_1970: Final = date(1970, 1, 1).toordinal()
_DAY_S: Final = 86_400


@dataclass(frozen=True)
class EventQuery:
    """Which events a rule wants; every condition given must hold (None / False: any)."""

    kinds: frozenset[EventKind] | None = None
    not_info: bool = False
    """Severity is not ``info``."""
    fault: bool = False
    """Severity is ``fault``."""
    origin: str | None = None
    """``bms`` or ``inverter``."""
    timed: bool = False
    """The event has a time."""
    exact: bool = False
    """The event has an exact time (a time and no ``occurred_after``)."""
    names_module: bool | None = None
    """True: the event names a module; False: it names none."""
    text: TextTest | None = None

    def accepts(self, e: BatteryEvent) -> bool:
        """Whether the event object ``e`` is wanted."""
        return (
            (self.kinds is None or e.kind in self.kinds)
            and not (self.not_info and e.severity is Severity.INFO)
            and not (self.fault and e.severity is not Severity.FAULT)
            and (self.origin is None or e.origin == self.origin)
            and not (self.timed and e.time is None)
            and not (self.exact and (e.time is None or e.occurred_after is not None))
            and (self.names_module is None or (e.module_address is not None) == self.names_module)
            and (self.text is None or self.text(e.code, e.text))
        )

    def mask(self, c: EventColumns) -> BoolArray:
        """Which rows of ``c`` are wanted (its rows are inverter events with an exact time)."""
        import numpy as np

        keep: BoolArray = np.full(len(c), self.origin in (None, "inverter"), dtype=np.bool_)
        if self.kinds is not None:
            keep &= np.isin(c.kind, np.array([KIND_INDEX[k] for k in self.kinds], dtype=np.int8))
        if self.not_info:
            keep &= c.severity != _INFO
        if self.fault:
            keep &= c.severity == _FAULT
        if self.names_module is not None:
            keep &= (c.module != NO_MODULE) == self.names_module
        if self.text is not None:
            test = self.text
            wanted = np.array([test(p.code, p.text) for p in c.pairs] or [False], dtype=np.bool_)
            keep &= wanted[c.pair]
        return keep


class Timeline(Sequence[BatteryEvent]):
    """Events in one order; ``objects`` are rows ``0..n-1``, then each part's rows in turn.

    ``order[i]`` is the row at position ``i`` (None: the rows' own order; always None without ``parts``:
    objects alone are stored in timeline order). Built by the case reader
    (:func:`~pylondiag.casedir.view.build_view`); a plain list of events given to ``CaseView`` becomes a
    timeline of objects in the order given.
    """

    def __init__(
        self,
        objects: Sequence[BatteryEvent] = (),
        parts: Sequence[EventColumns] = (),
        order: IntArray | None = None,
    ) -> None:
        self.objects: tuple[BatteryEvent, ...] = tuple(objects)
        self.parts: tuple[EventColumns, ...] = tuple(parts)
        starts = [len(self.objects)]
        for c in self.parts:
            starts.append(starts[-1] + len(c))
        self._starts = starts
        self._order = order
        self._rank: IntArray | None = None
        self._built: dict[int, BatteryEvent] = {}

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, i: int) -> BatteryEvent: ...
    @overload
    def __getitem__(self, i: slice) -> list[BatteryEvent]: ...
    def __getitem__(self, i: int | slice) -> BatteryEvent | list[BatteryEvent]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.row_event(self.row_of(i))

    def __iter__(self) -> Iterator[BatteryEvent]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Timeline({len(self.objects)} objects, {len(self) - len(self.objects)} rows in columns)"

    def row_of(self, position: int) -> int:
        """The row at timeline ``position``."""
        return position if self._order is None else int(self._order[position])

    def row_event(self, row: int) -> BatteryEvent:
        """Row ``row`` as an event object (built on first use, then kept)."""
        if row < len(self.objects):
            return self.objects[row]
        known = self._built.get(row)
        if known is None:
            k = bisect_right(self._starts, row) - 1
            known = self._built[row] = self.parts[k].event(row - self._starts[k])
        return known

    def rows_in_order(self) -> Sequence[int]:
        """Row numbers (objects first, then each part's rows) in timeline order."""
        return range(len(self)) if self._order is None else self._order.tolist()

    def built(self) -> list[BatteryEvent]:
        """The event objects built so far from the columns (what the rules and findings asked for)."""
        return list(self._built.values())

    def positions_of(self, rows: IntArray) -> IntArray:
        """Timeline positions of ``rows``."""
        if self._order is None:
            return rows
        if self._rank is None:
            import numpy as np

            rank = np.empty(len(self), dtype=np.int64)
            rank[self._order] = np.arange(len(self), dtype=np.int64)
            self._rank = rank
        out: IntArray = self._rank[rows]
        return out

    def where(self, *queries: EventQuery) -> EventRows:
        """The events any of ``queries`` wants, in timeline order."""
        wanted = [i for i, e in enumerate(self.objects) if any(q.accepts(e) for q in queries)]
        if not self.parts:
            return EventRows(self, wanted)  # objects alone are kept in timeline order (no ``order``)
        import numpy as np

        rows = [np.array(wanted, dtype=np.int64)]
        for start, c in zip(self._starts, self.parts, strict=False):
            keep = np.zeros(len(c), dtype=np.bool_)
            for q in queries:
                keep |= q.mask(c)
            rows.append(np.nonzero(keep)[0].astype(np.int64) + start)
        return EventRows(self, np.sort(self.positions_of(np.concatenate(rows))))

    def all(self) -> EventRows:
        """Every event, in timeline order."""
        return self.where(EventQuery())

    @classmethod
    def ordered(cls, objects: Sequence[BatteryEvent], parts: Sequence[EventColumns]) -> Timeline:
        """``objects`` (each time aware) and ``parts`` as one timeline: oldest first, events without a
        time last; a stable sort, so events at the same instant keep the order given (objects first,
        then each part's rows in file order)."""
        if not parts:
            keyed = sorted(
                range(len(objects)),
                key=lambda i: (objects[i].time is None, _seconds(objects[i].time)),
            )
            return cls([objects[i] for i in keyed])
        import numpy as np

        untimed = np.array([e.time is None for e in objects] + [False] * sum(map(len, parts)), np.bool_)
        utc = np.concatenate(
            [np.array([_seconds(e.time) for e in objects], dtype=np.float64), *(c.utc_s for c in parts)]
        )
        order: IntArray = np.lexsort((utc, untimed)).astype(np.int64)
        if bool((order == np.arange(order.shape[0])).all()):
            return cls(objects, parts)
        return cls(objects, parts, order)


def _seconds(t: datetime | None) -> float:
    return t.timestamp() if t is not None else 0.0


class EventRows(Sequence[BatteryEvent]):
    """Some events of a :class:`Timeline`, in its order: ``rows[i]`` is built on demand; counts, codes,
    dates and times come from the columns without building any object."""

    def __init__(self, timeline: Timeline, positions: Sequence[int] | IntArray) -> None:
        self.timeline = timeline
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, i: int) -> BatteryEvent: ...
    @overload
    def __getitem__(self, i: slice) -> list[BatteryEvent]: ...
    def __getitem__(self, i: int | slice) -> BatteryEvent | list[BatteryEvent]:
        if isinstance(i, slice):
            return [self.timeline[int(p)] for p in self.positions[i]]
        return self.timeline[int(self.positions[i])]

    def __iter__(self) -> Iterator[BatteryEvent]:
        return (self.timeline[int(p)] for p in self.positions)

    def _columnar(self) -> bool:
        return bool(self.timeline.parts)

    def _groups(self) -> tuple[list[int], list[tuple[EventColumns, IntArray, IntArray]]]:
        """Indexes (into ``self``) of the object rows, and per part: (part, indexes into self, its rows)."""
        import numpy as np

        t = self.timeline
        pos = np.asarray(self.positions, dtype=np.int64)
        rows = pos if t._order is None else t._order[pos]
        n_obj = len(t.objects)
        objects = np.nonzero(rows < n_obj)[0].tolist()
        parts = []
        for start, c in zip(t._starts, t.parts, strict=False):
            idx = np.nonzero((rows >= start) & (rows < start + len(c)))[0]
            if idx.size:
                parts.append((c, idx, rows[idx] - start))
        return objects, parts

    def latest(self) -> BatteryEvent | None:
        """The first of the events with the latest time (None without any timed event). Built by the
        case reader, a timeline with columns is in time order: only the last few rows are read."""
        if not self._columnar():
            timed = [e for e in self if e.time is not None]
            return max(timed, key=lambda e: _must(e.time)) if timed else None
        k = len(self) - 1
        while k > 0 and self[k - 1].time == self[k].time:
            k -= 1
        return self[k] if k >= 0 else None

    def cited_modules(self) -> Iterator[tuple[str, int, int | None]]:
        """(source, line, module address) of each event, in order, without building the rows' objects."""
        objects, parts = self._groups() if self._columnar() else (list(range(len(self))), [])
        found: list[tuple[int, tuple[str, int, int | None]]] = []
        for i in objects:
            e = self._object(i)
            found.append((i, (e.provenance.source, e.provenance.line, e.module_address)))
        for c, idx, rows in parts:
            lines, modules = c.line[rows].tolist(), c.module[rows].tolist()
            found += [
                (i, (c.source, n, None if m == NO_MODULE else m))
                for i, n, m in zip(idx.tolist(), lines, modules, strict=True)
            ]
        return (item for _, item in sorted(found, key=lambda f: f[0]))

    def _object(self, i: int) -> BatteryEvent:
        return self.timeline.row_event(self.timeline.row_of(int(self.positions[i])))

    def subset(self, keep: Sequence[bool] | BoolArray) -> EventRows:
        """The events where ``keep`` (one flag per event of ``self``) is true."""
        if not self._columnar():
            return EventRows(self.timeline, [p for p, k in zip(self.positions, keep, strict=True) if k])
        import numpy as np

        return EventRows(self.timeline, np.asarray(self.positions)[np.asarray(keep, dtype=np.bool_)])

    def gather(
        self, of_object: Callable[[BatteryEvent], Any], of_rows: Callable[[EventColumns, IntArray], Any]
    ) -> Any:
        """One value per event, in order, as a numpy array: ``of_object(event)`` for an object row,
        ``of_rows(columns, rows)`` (an array) for a part's rows."""
        import numpy as np

        objects, parts = self._groups()
        out = np.empty(len(self), dtype=np.float64)
        values = [of_object(self._object(i)) for i in objects]
        out[objects] = values
        for c, idx, rows in parts:
            out[idx] = of_rows(c, rows)
        return out

    def values(self, name: str) -> list[Any]:
        """One plain value per event, in order, without building the rows' objects: ``seconds`` (s since
        1970 UTC, NaN without a time), ``module`` (address or None), ``origin``, ``verified`` (the code
        table's grade), ``fault`` (severity is ``fault``)."""
        of_object, of_rows, convert = _FIELDS[name]
        if not self._columnar():
            return [convert(of_object(e)) for e in self]
        objects, parts = self._groups()
        out: list[Any] = [None] * len(self)
        for i in objects:
            out[i] = convert(of_object(self._object(i)))
        for c, idx, rows in parts:
            for i, v in zip(idx.tolist(), of_rows(c, rows).tolist(), strict=True):
                out[i] = convert(v)
        return out

    def unverified_codes(self) -> set[str]:
        """Codes of these events that the code table marks unverified."""
        if not self._columnar():
            return {e.code for e in self if not e.code_verified and e.code}
        import numpy as np

        objects, parts = self._groups()
        codes = {e.code for e in map(self._object, objects) if not e.code_verified and e.code}
        for c, _, rows in parts:
            for k in np.unique(c.pair[rows]).tolist():
                p = c.pairs[k]
                if not p.verified and p.code:
                    codes.add(p.code)
        return codes

    def modules(self) -> set[int | None]:
        """The module addresses these events name (None for an event that names none)."""
        if not self._columnar():
            return {e.module_address for e in self}
        import numpy as np

        objects, parts = self._groups()
        found = {self._object(i).module_address for i in objects}
        for c, _, rows in parts:
            found |= {None if m == NO_MODULE else m for m in np.unique(c.module[rows]).tolist()}
        return found

    def count_kind(self, kind: EventKind) -> int:
        """How many of these events are of ``kind``."""
        if not self._columnar():
            return sum(1 for e in self if e.kind is kind)
        objects, parts = self._groups()
        n = sum(1 for i in objects if self._object(i).kind is kind)
        return n + sum(int((c.kind[rows] == KIND_INDEX[kind]).sum()) for c, _, rows in parts)

    def dates(self, zone: ZoneInfo | None = None) -> set[date]:
        """Days of these events: ``time.date()`` (``zone``: ``time.astimezone(zone).date()``), untimed
        left out."""
        if not self._columnar():
            return {_day(e.time, zone) for e in self if e.time is not None}
        import numpy as np

        objects, parts = self._groups()
        days = {_day(t, zone) for t in (self._object(i).time for i in objects) if t is not None}
        for c, _, rows in parts:
            local = local_seconds(c.utc_s[rows], zone) if zone is not None else c.local_us[rows] // 1_000_000
            epoch_days = np.unique(np.floor_divide(local, _DAY_S)).tolist()
            days |= {date.fromordinal(_ORDINAL_1970 + int(d)) for d in epoch_days}
        return days

    def epochs(self, zone: ZoneInfo) -> IntArray:
        """Each event's time as whole s since 1970 UTC (a naive time taken in ``zone``); every event
        must have one."""
        import numpy as np

        out: IntArray = self.gather(
            lambda e: int(_aware(_must(e.time), zone).timestamp()), lambda c, r: np.trunc(c.utc_s[r])
        ).astype(np.int64)
        return out

    def of_kinds(self, kinds: frozenset[EventKind]) -> EventRows:
        """The events of ``kinds``."""
        if not self._columnar():
            return self.subset([e.kind in kinds for e in self])
        import numpy as np

        wanted = np.array([KIND_INDEX[k] for k in kinds], dtype=np.float64)
        return self.subset(np.isin(self.gather(lambda e: KIND_INDEX[e.kind], lambda c, r: c.kind[r]), wanted))

    def temperatures_c(self) -> Any:
        """Each event's own recorded temperature (°C), NaN where none, as a numpy array."""
        nan = float("nan")
        return self.gather(
            lambda e: nan if e.temperature_c is None else e.temperature_c, lambda c, r: c.temperature_c[r]
        )

    def local_ordinals(self, zone: ZoneInfo) -> IntArray:
        """Each event's day in ``zone`` as a proleptic ordinal (a naive time: its own day)."""
        import numpy as np

        out: IntArray = self.gather(
            lambda e: _local(_must(e.time), zone).toordinal(),
            lambda c, r: local_seconds(c.utc_s[r], zone) // _DAY_S + _ORDINAL_1970,
        ).astype(np.int64)
        return out

    def local_hours(self, zone: ZoneInfo) -> IntArray:
        """Each event's hour of day in ``zone``."""
        import numpy as np

        out: IntArray = self.gather(
            lambda e: _must(e.time).astimezone(zone).hour,
            lambda c, r: local_seconds(c.utc_s[r], zone) // 3600 % 24,
        ).astype(np.int64)
        return out

    def since(self, t: datetime) -> EventRows:
        """The events at or after ``t`` (events without a time left out)."""
        return self.subset(self._compare(t, before=False))

    def before(self, t: datetime) -> EventRows:
        """The events before ``t`` (events without a time left out)."""
        return self.subset(self._compare(t, before=True))

    def _compare(self, t: datetime, before: bool) -> Sequence[bool] | BoolArray:
        def of(e: BatteryEvent) -> bool:
            return e.time is not None and ((e.time < t) if before else (e.time >= t))

        if not self._columnar():
            return [of(e) for e in self]
        s = t.timestamp()
        flags: BoolArray = self.gather(of, lambda c, r: (c.utc_s[r] < s) if before else (c.utc_s[r] >= s)) > 0
        return flags

    def since_day(self, day: date) -> EventRows:
        """The events whose ``time.date()`` is ``day`` or later (events without a time left out)."""

        def of(e: BatteryEvent) -> bool:
            return e.time is not None and e.time.date() >= day

        if not self._columnar():
            return self.subset([of(e) for e in self])
        first_us = (day.toordinal() - _ORDINAL_1970) * _DAY_S * 1_000_000
        return self.subset(self.gather(of, lambda c, r: c.local_us[r] >= first_us) > 0)


def _verified_rows(c: EventColumns, rows: IntArray) -> BoolArray:
    import numpy as np

    verified: BoolArray = np.array([p.verified for p in c.pairs] or [True], dtype=np.bool_)[c.pair[rows]]
    return verified


def _inverter_rows(c: EventColumns, rows: IntArray) -> IntArray:
    import numpy as np

    return np.zeros(rows.shape[0], dtype=np.int64)


_ORIGINS: Final = ("inverter", "bms")
_FIELDS: Final[
    dict[str, tuple[Callable[[BatteryEvent], Any], Callable[[EventColumns, IntArray], Any], Any]]
] = {
    "seconds": (lambda e: e.time.timestamp() if e.time else float("nan"), lambda c, r: c.utc_s[r], float),
    "module": (
        lambda e: NO_MODULE if e.module_address is None else e.module_address,
        lambda c, r: c.module[r],
        lambda v: None if v == NO_MODULE else int(v),
    ),
    "origin": (lambda e: e.origin, _inverter_rows, lambda v: v if isinstance(v, str) else "inverter"),
    "verified": (lambda e: e.code_verified, _verified_rows, bool),
    "fault": (lambda e: e.severity is Severity.FAULT, lambda c, r: c.severity[r] == _FAULT, bool),
}
"""For :meth:`EventRows.values`: (value of an object, values of a part's rows, plain value)."""


def _must(t: datetime | None) -> datetime:
    if t is None:
        raise ValueError("an event without a time where one is needed")
    return t


def _local(t: datetime, zone: ZoneInfo) -> datetime:
    return t.astimezone(zone) if t.tzinfo is not None else t


def _aware(t: datetime, zone: ZoneInfo) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=zone)


def _day(t: datetime, zone: ZoneInfo | None) -> date:
    return (t.astimezone(zone) if zone is not None else t).date()
