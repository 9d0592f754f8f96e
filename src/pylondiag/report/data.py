"""What a report shows besides the diagnosis: the facts behind it, flattened for drawing.

A report is a view, never a second diagnosis: this module only copies values out of console records,
events and the case's observations, keyed by module **position** (the physical slot, top to bottom).
Units are in the names: ``_mv`` millivolts, ``_ma`` milliamps, ``_mc`` milli-degrees Celsius.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from pylondiag.model.console import (
    BatTable,
    ConsoleRecord,
    InfoRecord,
    PwrRow,
    PwrTable,
    StatCounters,
)
from pylondiag.model.event import BatteryEvent, EventKind, Severity
from pylondiag.report.photos import Photo

TEMP_DETAIL_LIMIT: Final = 400
"""More temperature readings than this and a chart draws each day's range (lowest to highest reading)
instead of the readings one by one."""


@dataclass(frozen=True)
class ModuleFacts:
    """One module as the owner and the console describe it."""

    position: int
    address: int | None = None
    model: str | None = None
    serial: str | None = None
    installed: str | None = None
    led: str | None = None
    """As the owner saw it: ``off``, ``green``, ``green_flashing``, ``amber``, ``red``, ``red_flashing``..."""
    dip: str | None = None
    role: str | None = None
    group: int | None = None
    notes: str | None = None
    firmware: str | None = None
    soh_pct: int | None = None
    cycles: int | None = None
    soc_pct: int | None = None
    voltage_mv: int | None = None
    base_state: str | None = None


@dataclass(frozen=True)
class CellReading:
    """One ``bat N`` table: the 15 cells of one module at one moment."""

    position: int
    voltages_mv: tuple[int | None, ...]
    balancing: tuple[bool | None, ...]
    cell_ids: tuple[int, ...] = ()
    """Cell indexes as the console printed them (0-based on every firmware seen)."""
    temperatures_mc: tuple[int | None, ...] = ()
    soc_pct: int | None = None
    current_ma: int | None = None
    base_state: str | None = None
    source: str = ""
    line: int = 0
    time: datetime | None = None

    @property
    def spread_mv(self) -> int | None:
        known = [v for v in self.voltages_mv if v is not None]
        return max(known) - min(known) if len(known) >= 2 else None


@dataclass(frozen=True)
class TempReading:
    """Temperatures of one module at one moment (a ``pwr`` row)."""

    position: int
    time: datetime | None
    bms_mc: int | None = None
    cell_low_mc: int | None = None
    cell_high_mc: int | None = None
    mos_mc: int | None = None
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class CounterSet:
    """``stat N`` counters of one module."""

    position: int
    counters: dict[str, int]
    source: str = ""
    line: int = 0


class CitedLine(Protocol):
    """Where an event was read: its file and 1-based line."""

    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int: ...


class EventLike(Protocol):
    """What the event timeline draws of an event object (a :class:`BatteryEvent`)."""

    @property
    def time(self) -> datetime | None: ...
    @property
    def kind(self) -> EventKind: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def origin(self) -> str: ...
    @property
    def temperature_c(self) -> float | None: ...
    @property
    def provenance(self) -> CitedLine: ...


_EPOCH: Final = datetime(1970, 1, 1)


@dataclass(frozen=True, eq=False)
class EventArrays:
    """The events the timeline draws, one array element per event (timed events only), as arrays: a
    year of inverter-log rows at one a minute is drawn without an object per row (~30 bytes a row)."""

    time_us: Any
    """Wall-clock time as the chart draws it, µs since 1970-01-01 (naive), int64."""
    kind: Any
    """Index into :data:`~pylondiag.model.columns.KINDS`, int8."""
    severity: Any
    """Index into :data:`~pylondiag.model.columns.SEVERITIES`, int8."""
    bms: Any
    """True for the BMS's own events (drawn as squares), bool."""
    source: Any
    """Index into ``sources``, int32."""
    line: Any
    """1-based line in its source, int32."""
    temperature_c: Any
    """°C recorded with the event, NaN where none, float64."""
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.time_us)

    @classmethod
    def of_events(cls, events: Iterable[EventLike]) -> EventArrays:
        """The arrays of event objects (events without a time are left out)."""
        import numpy as np

        from pylondiag.model.columns import KIND_INDEX, SEVERITY_INDEX

        timed = [e for e in events if e.time is not None]
        sources: dict[str, int] = {}
        us = timedelta(microseconds=1)
        return cls(
            time_us=np.array([(e.time.replace(tzinfo=None) - _EPOCH) // us for e in timed], dtype=np.int64),  # type: ignore[union-attr]
            kind=np.array([KIND_INDEX[e.kind] for e in timed], dtype=np.int8),
            severity=np.array([SEVERITY_INDEX[e.severity] for e in timed], dtype=np.int8),
            bms=np.array([e.origin == "bms" for e in timed], dtype=np.bool_),
            source=np.array(
                [sources.setdefault(e.provenance.source, len(sources)) for e in timed], dtype=np.int32
            ),
            line=np.array([e.provenance.line or 0 for e in timed], dtype=np.int32),
            temperature_c=np.array(
                [np.nan if e.temperature_c is None else e.temperature_c for e in timed], dtype=np.float64
            ),
            sources=tuple(sources),
        )

    @classmethod
    def concat(cls, parts: Sequence[EventArrays]) -> EventArrays:
        """``parts`` one after the other (sources merged)."""
        import numpy as np

        sources: dict[str, int] = {}
        renumbered = []
        for p in parts:
            ids = np.array([sources.setdefault(s, len(sources)) for s in p.sources] or [0], dtype=np.int32)
            renumbered.append(ids[p.source] if len(p) else p.source)
        cat = np.concatenate
        return cls(
            time_us=cat([p.time_us for p in parts]),
            kind=cat([p.kind for p in parts]),
            severity=cat([p.severity for p in parts]),
            bms=cat([p.bms for p in parts]),
            source=cat(renumbered).astype(np.int32),
            line=cat([p.line for p in parts]).astype(np.int32),
            temperature_c=cat([p.temperature_c for p in parts]),
            sources=tuple(sources),
        )

    def take(self, rows: Any) -> EventArrays:
        """The events at ``rows`` (indexes), in that order."""
        return EventArrays(
            self.time_us[rows],
            self.kind[rows],
            self.severity[rows],
            self.bms[rows],
            self.source[rows],
            self.line[rows],
            self.temperature_c[rows],
            self.sources,
        )


@dataclass(frozen=True)
class ReportData:
    """Everything a report draws besides the diagnosis. Empty when only the diagnosis is known."""

    modules: tuple[ModuleFacts, ...] = ()
    cells: tuple[CellReading, ...] = ()
    temps: tuple[TempReading, ...] = ()
    counters: tuple[CounterSet, ...] = ()
    events: tuple[EventLike, ...] | EventArrays = ()
    """What the event timeline draws: event objects, or arrays (an inverter log's rows)."""
    temperature_series: tuple[tuple[datetime, float], ...] = ()
    """Battery/ambient temperature over time (°C), e.g. from an inverter log; of a series longer than
    :data:`TEMP_DETAIL_LIMIT` only each day's lowest and highest reading (what its chart draws)."""
    temperature_readings: int = 0
    """How many readings that series had when only each day's extremes are kept, else 0."""
    inverter: tuple[tuple[str, str], ...] = ()
    """Inverter settings as found: (label, value as shown)."""
    site: tuple[tuple[str, str], ...] = ()
    observed_at: datetime | None = None
    notes: str | None = None
    symptoms: tuple[str, ...] = ()
    history: tuple[tuple[str, str, str], ...] = ()
    """(date, event, detail), oldest first."""
    files: tuple[tuple[str, str, str, str], ...] = ()
    """Evidence files: (source, kind, read / not used, note)."""
    photos: tuple[Photo, ...] = ()

    def module(self, position: int) -> ModuleFacts | None:
        return next((m for m in self.modules if m.position == position), None)

    def latest_cells(self) -> dict[int, CellReading]:
        """The last ``bat`` reading of each module, by position (later readings win)."""
        out: dict[int, CellReading] = {}
        for reading in self.cells:
            out[reading.position] = reading
        return dict(sorted(out.items()))

    def latest_temps(self) -> dict[int, TempReading]:
        out: dict[int, TempReading] = {}
        for reading in self.temps:
            out[reading.position] = reading
        return dict(sorted(out.items()))

    @property
    def is_empty(self) -> bool:
        return not (self.modules or self.cells or self.temps or self.counters or len(self.events))


PositionOf = Callable[[int | None], int | None]
"""Maps a BMS address (``None`` = the module the console is plugged into) to a position, or None."""


def address_is_position(address: int | None) -> int | None:
    """The case format's default mapping when no ``stack`` is given: position = address."""
    return address


def cell_reading(table: BatTable, position: int, time: datetime | None = None) -> CellReading:
    cells = sorted(table.cells, key=lambda c: c.cell)
    socs = [c.soc_pct for c in cells if c.soc_pct is not None]
    currents = [c.current_ma for c in cells if c.current_ma is not None]
    states = [c.base_state for c in cells if c.base_state]
    return CellReading(
        position=position,
        voltages_mv=tuple(c.voltage_mv for c in cells),
        balancing=tuple(c.balancing for c in cells),
        cell_ids=tuple(c.cell for c in cells),
        temperatures_mc=tuple(c.temperature_mc for c in cells),
        soc_pct=min(socs) if socs else None,
        current_ma=currents[0] if currents else None,
        base_state=states[0] if states else None,
        source=table.provenance.source,
        line=table.provenance.line,
        time=time,
    )


def temp_reading(row: PwrRow, position: int, time: datetime | None = None) -> TempReading:
    return TempReading(
        position=position,
        time=row.module_time or time,
        bms_mc=row.temperature_mc,
        cell_low_mc=row.cell_temp_low_mc,
        cell_high_mc=row.cell_temp_high_mc,
        mos_mc=row.mos_temperature_mc,
        source=row.source,
        line=row.line,
    )


@dataclass
class _Accumulator:
    cells: list[CellReading] = field(default_factory=list)
    temps: list[TempReading] = field(default_factory=list)
    counters: list[CounterSet] = field(default_factory=list)
    info: dict[int, InfoRecord] = field(default_factory=dict)
    stat: dict[int, StatCounters] = field(default_factory=dict)
    pwr: dict[int, PwrRow] = field(default_factory=dict)


def from_console(
    records: Iterable[ConsoleRecord],
    *,
    position_of: PositionOf = address_is_position,
    captured_at: datetime | None = None,
    modules: Sequence[ModuleFacts] = (),
    events: Sequence[BatteryEvent] = (),
) -> ReportData:
    """Report data from console records (``BatTable``, ``PwrTable``, ``StatCounters``, ``InfoRecord``).

    ``modules`` are the owner's observations (from ``case.yaml``); console facts (firmware, SOH,
    cycles, SOC, voltage) are filled in where the owner gave none. Records whose address maps to
    no position are left out rather than guessed.
    """
    acc = _Accumulator()
    for record in records:
        _take(record, acc, position_of, captured_at)
    return ReportData(
        modules=merge_modules(modules, acc.info, acc.stat, acc.pwr),
        cells=tuple(acc.cells),
        temps=tuple(acc.temps),
        counters=tuple(acc.counters),
        events=tuple(events),
        observed_at=captured_at,
    )


def _take(record: ConsoleRecord, acc: _Accumulator, position_of: PositionOf, at: datetime | None) -> None:
    if isinstance(record, BatTable):
        pos = position_of(record.address)
        if pos is not None and record.cells:
            acc.cells.append(cell_reading(record, pos, at))
    elif isinstance(record, PwrTable):
        for row in record.rows:
            pos = position_of(row.address)
            if pos is None or row.absent:
                continue
            acc.temps.append(temp_reading(row, pos, at))
            acc.pwr[pos] = row
    elif isinstance(record, StatCounters):
        pos = position_of(record.address)
        if pos is not None:
            line = record.provenance.line
            acc.counters.append(CounterSet(pos, dict(record.counters), record.provenance.source, line))
            acc.stat[pos] = record
    elif isinstance(record, InfoRecord):
        pos = position_of(record.address)
        if pos is not None:
            acc.info[pos] = record


def merge_modules(
    observed: Sequence[ModuleFacts],
    info: dict[int, InfoRecord],
    stat: dict[int, StatCounters],
    pwr: dict[int, PwrRow],
) -> tuple[ModuleFacts, ...]:
    """Owner observations first; console facts fill the gaps. One entry per position, sorted."""
    by_pos: dict[int, ModuleFacts] = {m.position: m for m in observed}
    for pos in sorted(set(by_pos) | set(info) | set(stat) | set(pwr)):
        base = by_pos.get(pos, ModuleFacts(position=pos))
        i, s, p = info.get(pos), stat.get(pos), pwr.get(pos)
        by_pos[pos] = ModuleFacts(
            position=pos,
            address=base.address if base.address is not None else (p.address if p else None),
            model=base.model,
            serial=base.serial or (i.barcode if i else None),
            installed=base.installed,
            led=base.led,
            dip=base.dip,
            role=base.role,
            group=base.group,
            notes=base.notes,
            firmware=base.firmware or (i.main_soft_version or i.soft_version if i else None),
            soh_pct=base.soh_pct if base.soh_pct is not None else (s.soh_pct if s else None),
            cycles=base.cycles if base.cycles is not None else (s.cycle_count if s else None),
            soc_pct=base.soc_pct if base.soc_pct is not None else (p.soc_pct if p else None),
            voltage_mv=base.voltage_mv if base.voltage_mv is not None else (p.voltage_mv if p else None),
            base_state=base.base_state or (p.base_state if p else None),
        )
    return tuple(by_pos[p] for p in sorted(by_pos))
