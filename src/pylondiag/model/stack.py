"""``CaseView``: the one normalized view of a case that every diagnosis rule reads.

Built by :func:`pylondiag.casedir.load_case` from ``case.yaml`` and the evidence files. Modules are
named by **position** (physical slot, ``stack[].position``); console output names them by BMS
**address**. Every console record is wrapped with the position it maps to (``None`` when the
mapping is ambiguous, which is reported in ``address_conflicts``) and the time it was taken
(``None`` when the capture carries no timestamp), plus ``seq``, its order across the whole case
(captures ordered by time, then by file name; records in file order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from pylondiag.model.bus import BusFacts
from pylondiag.model.case import CaseFile, HistoryEvent, HistoryItem, Inverter, Led, Role, Symptom
from pylondiag.model.columns import EventColumns, TemperatureSeries
from pylondiag.model.console import (
    BatTable,
    EventLog,
    InfoRecord,
    PwrDetail,
    PwrRow,
    PwrSys,
    PwrTable,
    SohTable,
    StatCounters,
)
from pylondiag.model.event import BatteryEvent, TemperatureSample
from pylondiag.model.timeline import Timeline


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


EvidenceKind = Literal["console", "inverter_log", "can", "rs485", "photo", "unknown"]


class EvidenceFile(_View):
    """One file of the case and what it was recognised as."""

    source: str
    """Path relative to the case directory with ``/`` separators (the file name for a single-file case)."""
    kind: EvidenceKind
    used: bool
    """True when its content was read into the view."""
    note: str | None = None


class EvidenceGap(_View):
    """Something missing or unusable, said in words an owner can act on."""

    text: str
    source: str | None = None


class ModuleView(_View):
    """One module, by position, with everything known about its identity and set-up."""

    position: int
    address: int | None = None
    model: str | None = None
    """From ``case.yaml``, else the console's ``info`` Device name."""
    serial: str | None = None
    installed: str | None = None
    """Year-month, ``2019-06``."""
    led: Led | None = None
    dip: str | None = None
    role: Role | None = None
    group: int | None = None
    notes: str | None = None
    firmware: str | None = None
    """``info`` Main Soft version, when captured."""
    stack_index: int | None = None
    """Index in ``case.yaml`` ``stack`` (for citations such as ``stack[2].led``), None if not listed there."""


# A placed console reading is a frozen dataclass with slots, not a pydantic model. The case reader makes
# one per console record (a 20 MB capture: ~11,000); each is ~100 B instead of ~1 KB (a validated model
# keeps a dict and a set of the fields given per object; issue 17, memory). Built only by the case reader
# and tests, from values already typed; ``CaseView`` keeps them as given (pydantic does not copy them).


@dataclass(frozen=True, slots=True, kw_only=True)
class Timed:
    """Where and when a module's record was read: the position its address maps to (None: ambiguous), the
    address, the capture's time (None: the capture has none), ``seq`` (order across the case), the file."""

    position: int | None
    address: int | None
    time: datetime | None
    seq: int
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PwrSnapshot:
    table: PwrTable
    time: datetime | None
    seq: int
    source: str

    def present_rows(self) -> list[PwrRow]:
        return [r for r in self.table.rows if not r.absent]

    def rows_complete(self) -> bool:
        """Whether the table has one row per address from 1 up, as the firmware prints it (all 8 or 16,
        Absent ones included: every real capture in shared/captures). A row missing from the middle was
        not read (a line garbled on the wire, rows elided in a quoted excerpt): those modules' states are
        unknown, not Absent, and the table does not tell the stack's membership."""
        return [r.address for r in self.table.rows] == list(range(1, len(self.table.rows) + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class BatReading(Timed):
    table: BatTable
    assumed_address: bool = False
    """True for a plain ``bat`` whose module was inferred, not printed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PwrDetailReading(Timed):
    detail: PwrDetail


@dataclass(frozen=True, slots=True, kw_only=True)
class StatReading(Timed):
    stat: StatCounters


@dataclass(frozen=True, slots=True, kw_only=True)
class SohReading(Timed):
    table: SohTable


@dataclass(frozen=True, slots=True, kw_only=True)
class InfoReading(Timed):
    info: InfoRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class PwrSysReading:
    record: PwrSys
    time: datetime | None
    seq: int
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LogReading:
    log: EventLog
    time: datetime | None
    seq: int
    source: str


class AddressConflict(_View):
    address: int
    positions: tuple[int, ...]


def _series(value: Any) -> Any:
    """A list of :class:`TemperatureSample` (tests, small callers) becomes a :class:`TemperatureSeries`."""
    if isinstance(value, list | tuple) and all(isinstance(v, TemperatureSample) for v in value):
        return TemperatureSeries.from_samples(value)
    return value


def _timeline(value: Any) -> Any:
    """A list of :class:`BatteryEvent` (tests, small callers) becomes a :class:`Timeline` in that order."""
    if isinstance(value, list | tuple):
        return Timeline(_events_adapter().validate_python(value))
    return value


@cache
def _events_adapter() -> TypeAdapter[list[BatteryEvent]]:
    """Built on first use: the case reader hands over a :class:`Timeline`, only tests give lists."""
    return TypeAdapter(list[BatteryEvent])


class CaseView(_View):
    """Everything known about one stack at one time, normalized."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    case_id: str
    root: str | None = None
    """The case directory or single file, as given."""
    case: CaseFile | None = None
    """The validated ``case.yaml``, when there was one."""
    timezone: str = "Europe/London"
    observed_at: datetime | None = None
    modules: list[ModuleView] = Field(default_factory=list)
    pwr: list[PwrSnapshot] = Field(default_factory=list)
    bat: list[BatReading] = Field(default_factory=list)
    pwr_detail: list[PwrDetailReading] = Field(default_factory=list)
    stats: list[StatReading] = Field(default_factory=list)
    soh: list[SohReading] = Field(default_factory=list)
    infos: list[InfoReading] = Field(default_factory=list)
    pwrsys: list[PwrSysReading] = Field(default_factory=list)
    logs: list[LogReading] = Field(default_factory=list)
    events: Annotated[Timeline, BeforeValidator(_timeline)] = Field(default_factory=Timeline)
    """BMS events derived from the console and inverter events from event logs, oldest first (an
    inverter's status messages are in ``inverter_status`` instead). A sequence of events; an inverter
    log's rows stay columns until a rule takes one (:meth:`Timeline.where`, ``model/timeline.py``)."""
    inverter_status: list[EventColumns] = Field(default_factory=list)
    """Inverter-log rows that say nothing about the battery — kind ``other``, severity ``info`` and no
    entry in the brand's code table ("Grid connected", "Status normal") — as columns, one per log: a
    year-long log at one row a minute is mostly these. Rules that need them (the span of the log, a
    setting change written as a status message) read them here; :meth:`EventColumns.event` builds one."""
    temperatures: Annotated[TemperatureSeries, BeforeValidator(_series)] = Field(
        default_factory=TemperatureSeries
    )
    """Battery/ambient temperatures over time (logs' readings and events' own temperatures), oldest first."""
    files: list[EvidenceFile] = Field(default_factory=list)
    gaps: list[EvidenceGap] = Field(default_factory=list)
    address_conflicts: list[AddressConflict] = Field(default_factory=list)
    bus: BusFacts = Field(default_factory=BusFacts)
    """What the CAN / RS485 captures say beyond per-module readings (``model/bus.py``)."""
    console_positions: dict[str, int] = Field(default_factory=dict)
    """Capture source → the position its header comment names (``# captured on the console of the
    module at position 3``): the module whose own console was used."""
    console_unused: list[str] = Field(default_factory=list)
    """Console commands whose output was read but carries nothing the rules use (``time``, ``help``,
    ``getpwr``, ``ci``, refused ``login``...), first word only, in capture order: a console capture was
    read even when no module data came of it."""
    console_refused: dict[str, str] = Field(default_factory=dict)
    """Console commands refused, as typed (``stat 1``) → the console's answer (``Invalid command or fail
    to excute!``), in capture order."""

    # ---------------------------------------------------------------- helpers for rules
    @property
    def inverter(self) -> Inverter | None:
        return self.case.inverter if self.case else None

    @property
    def symptoms(self) -> list[Symptom]:
        return list(self.case.symptoms) if self.case else []

    @property
    def history(self) -> list[HistoryItem]:
        return list(self.case.history) if self.case else []

    def history_of(self, event: HistoryEvent) -> list[HistoryItem]:
        return [h for h in self.history if h.event == event]

    def module(self, position: int) -> ModuleView | None:
        for m in self.modules:
            if m.position == position:
                return m
        return None

    def position_of(self, address: int | None) -> int | None:
        if address is None:
            return None
        hits = [m.position for m in self.modules if m.address == address]
        return hits[0] if len(hits) == 1 else None

    def has_events(self) -> bool:
        """True when any event (or inverter status row) was read."""
        return bool(self.events) or any(len(c) for c in self.inverter_status)

    def has_console(self) -> bool:
        return bool(self.pwr or self.bat or self.pwr_detail or self.stats or self.infos)

    def has_bus(self) -> bool:
        """A CAN or RS485 capture was read."""
        return self.bus.has_any()

    def latest_pwr(self) -> PwrSnapshot | None:
        return self.pwr[-1] if self.pwr else None

    def bat_of(self, position: int) -> list[BatReading]:
        return [b for b in self.bat if b.position == position]

    def stat_of(self, position: int) -> StatReading | None:
        hits = [s for s in self.stats if s.position == position]
        return hits[-1] if hits else None

    def bms_log_lines(self) -> set[tuple[str, int]]:
        """(source, line) of every line of every BMS ``log`` entry: tells a logged BMS event from a
        live state seen in a ``pwr`` snapshot."""
        return {
            (lg.source, n)
            for lg in self.logs
            for e in lg.log.entries
            for n in range(e.provenance.line, (e.provenance.end_line or e.provenance.line) + 1)
        }

    def as_of(self) -> date | None:
        """The date the case describes: ``observed_at`` (``case-format.md``: when the LEDs / DIP switches
        were read); else the newest time in the evidence — the newest console capture (``pwr``, ``bat``)
        or inverter-log row (events and status rows), each on the site's calendar; None when nothing dates
        the case. A module's own BMS ``log`` clock is not used: it is often never set."""
        if self.observed_at is not None:
            return self.observed_at.date()
        days = [t.date() for t in (*(p.time for p in self.pwr), *(b.time for b in self.bat)) if t is not None]
        newest = self.newest_log_time()
        if newest is not None:
            days.append(newest.date())
        return max(days) if days else None

    def newest_log_time(self) -> datetime | None:
        """The newest inverter-log row (an event or a status row), in the site's zone; None without one."""
        zone = ZoneInfo(self.timezone)
        stamps = [float(c.utc_s.max()) for c in (*self.events.parts, *self.inverter_status) if len(c)]
        stamps += [
            (e.time if e.time.tzinfo is not None else e.time.replace(tzinfo=zone)).timestamp()
            for e in self.events.objects
            if e.origin == "inverter" and e.time is not None
        ]
        return datetime.fromtimestamp(max(stamps), zone) if stamps else None
