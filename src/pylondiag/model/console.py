"""Typed records read from a Pylontech battery console (RS232, 115200 8N1).

Field meanings, units and grades: ``shared/domain/hardware/console_fields.md``.
Units are in the names: ``_mv`` millivolts, ``_ma`` milliamps, ``_mc`` milli-degrees Celsius
(the console prints 29300 for 29.3 °C), ``_mah`` milliamp-hours, ``_pct`` percent.
A value the console printed as ``-`` is ``None``, never 0.

Every record carries a :class:`Provenance` so that a diagnosis can cite the exact line.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_serializer,
    model_validator,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Frozen):
    """Where a record came from: source name, 1-based line numbers, raw text of the first line.

    Lines are counted as Python's universal-newline reading counts them (``\\r\\n``, ``\\r`` and
    ``\\n`` each end a line, so ``\\r\\r\\n`` ends two lines) — the rule of the diagnosis spec.
    """

    source: str
    line: int
    end_line: int | None = None
    raw: str = ""


class _LineRecord(_Frozen):
    """A record read from one console line (a table row, a ``Key : value`` line).

    It keeps where it came from as plain fields — ``source`` (the same string object for every record
    of a capture), ``line`` and ``raw`` — and builds its :class:`Provenance` when asked: one object
    less per row (issue 17: a ``bat`` row took 1.25 µs of 4.45 µs building it, and ~0.3 KB of memory).
    Serialised, it is as before: ``provenance`` last, the plain fields left out. Built from
    ``provenance=Provenance(...)`` too.
    """

    source: str = Field(exclude=True, repr=False)
    line: int = Field(exclude=True, repr=False)
    """1-based line number, as :class:`Provenance` counts lines (one line: ``end_line`` is None)."""
    raw: str = Field(default="", exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _from_provenance(cls, data: object) -> object:
        """``provenance=Provenance(...)`` (or its dict) → the plain fields; it must cite one line."""
        if isinstance(data, dict) and "provenance" in data:
            data = dict(data)
            prov = data.pop("provenance")
            p = Provenance.model_validate(prov)
            if p.end_line is not None:
                raise ValueError(
                    f"{cls.__name__} is read from one line; its provenance has end_line {p.end_line}"
                )
            data.update(line_fields(p))
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def provenance(self) -> Provenance:
        """Where this record came from (a new, equal object on each access)."""
        return Provenance.model_construct(source=self.source, line=self.line, end_line=None, raw=self.raw)


def line_fields(prov: Provenance) -> dict[str, Any]:
    """The fields of a :class:`_LineRecord` (``BatCell``, ``PwrRow``, ``KeyValue``) read at ``prov``."""
    return {"source": prov.source, "line": prov.line, "raw": prov.raw}


R = TypeVar("R")


class LinePack(Generic[R]):
    """The rows of one table (or the lines of one key/value answer) as the parser accepted them, kept as
    their raw lines and line numbers; each record is built again from its line when the table is first
    read (:class:`LazyRecords`).

    Why (issue 17): a record per table row cost ~0.8-1.3 KB for a ~115-byte row, and building it most of
    the parse. The parser checks every row as it reads it (so warnings are the same and nothing is
    deferred but the building); ``read(raw, source, line)`` then builds the same record the parser
    would have built (the same reader, on the same line). Rows the parser read its careful way (the
    first of a layout, odd rows) are kept built, in ``built`` by row index.

    Memory per row: its text (one string for the whole table: the lines joined by ``\\n``, which no
    line holds) and 4 bytes of line number — until :meth:`kept` builds the records and keeps them instead.
    """

    __slots__ = ("_kept", "built", "count", "lines", "read", "source", "text")

    def __init__(
        self,
        source: str,
        text: str,
        lines: array[int],
        read: Callable[[str, str, int], R],
        built: dict[int, R],
    ) -> None:
        """``text``: the lines joined by ``\\n`` (one per entry of ``lines``, their line numbers)."""
        self.source = source
        self.text = text
        self.lines = lines
        self.count = len(lines)
        self.read = read
        self.built = built
        self._kept: tuple[R, ...] | None = None

    def __iter__(self) -> Iterator[R]:
        """The records: the kept ones (:meth:`kept`), else built again on each pass (nothing kept)."""
        text, lines, built = self.text, self.lines, self.built  # (read before _kept: kept() sets it first)
        if self._kept is not None:
            yield from self._kept
            return
        if not self.count:
            return
        read, source = self.read, self.source
        for i, (raw, line) in enumerate(zip(text.split("\n"), lines, strict=True)):
            cell = built.get(i)
            yield read(raw, source, line) if cell is None else cell

    def __len__(self) -> int:
        return self.count

    def records(self) -> tuple[R, ...]:
        """The records: the kept ones, else built for this call only."""
        return self._kept if self._kept is not None else tuple(self)

    def kept(self) -> tuple[R, ...]:
        """The records, built on the first call and kept (the same objects on every later call; the lines
        they were built from are let go)."""
        if self._kept is None:
            self._kept = tuple(self)
            self.text, self.lines, self.built = "", array("i"), {}
        return self._kept

    def as_field(self) -> tuple[R, ...]:
        """This pack, typed as the tuple field it is stored in (:class:`LazyRecords` reads it as one)."""
        return cast("tuple[R, ...]", self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LinePack):
            other = other.records()
        return self.records() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.records())

    def __reduce__(self) -> tuple[type[tuple[R, ...]], tuple[tuple[R, ...]]]:
        """Copied or pickled as the tuple of its records (not the parser's reader)."""
        return (tuple, (self.records(),))

    def __repr__(self) -> str:
        return repr(self.records())


def pack_lines(
    source: str, raws: list[str], lines: array[int], read: Callable[[str, str, int], R], built: dict[int, R]
) -> tuple[R, ...]:
    """The records of lines ``raws`` for a tuple field: a :class:`LinePack` (typed as the field), or the
    built tuple when the pack would have nothing to build (or a line it cannot hold)."""
    text = "\n".join(raws)
    if len(built) < len(raws) and text.count("\n") == len(raws) - 1:  # (no line holds a "\n")
        return LinePack(source, text, lines, read, built).as_field()
    return tuple(
        built[i] if i in built else read(r, source, n)
        for i, (r, n) in enumerate(zip(raws, lines, strict=True))
    )


class LazyRecords:
    """The attribute of a record tuple field that may hold a :class:`LinePack` (``BatTable.cells``,
    ``PwrTable.rows``, ``PwrDetail.fields``, ``InfoRecord.fields``): read, it is always a tuple of
    records; a pack builds them on the first read and keeps them (:meth:`LinePack.kept`: records read twice
    are the same objects, as rules compare them by identity; the model's own field is never written).
    ``LinePack.__iter__`` walks them without keeping them. Serialised (``_records``, a field serializer), a
    pack is its records: the output is the same either way (the serialisation JSON schema too, but for
    ``default: []`` of ``fields``, which a serializer hides)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: BaseModel | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name]
        return value.kept() if type(value) is LinePack else value

    def __set__(self, obj: BaseModel, value: Any) -> None:
        raise AttributeError(f"{type(obj).__name__} is frozen")


def lazy(cls: type[BaseModel], name: str) -> None:
    """Make field ``name`` of ``cls`` a :class:`LazyRecords`."""
    type.__setattr__(cls, name, LazyRecords(name))


def _records(value: tuple[R, ...]) -> tuple[R, ...]:
    """A tuple field's records, for serialising it (a :class:`LinePack` built, not kept)."""
    return value.records() if isinstance(value, LinePack) else value


class ParseWarning(_Frozen):
    """A line that could not be read; it was skipped, the rest was still read. Or (``kind`` ``cut_short``)
    an answer the capture stopped inside: what it printed was read, its end is missing."""

    source: str
    line: int
    message: str
    raw: str = ""
    kind: Literal["skipped", "cut_short"] = "skipped"


class CommandBlock(_Frozen):
    """One command and its answer, split from a session by prompt and echo."""

    command: str
    """The command as echoed, e.g. ``pwr``, ``bat 3``, ``stat``."""
    prompt: str | None = None
    """The prompt before it (``pylon>``, ``pylon_debug>``), if any."""
    status: Literal["ok", "unknown_command", "error", "incomplete"] = "ok"
    lines: tuple[str, ...] = ()
    """Payload lines between the echo and the trailer/next prompt (markers removed)."""
    first_line: int = 1
    """Line number of the echo line."""
    line_numbers: tuple[int, ...] = ()
    """Line number of each entry of ``lines`` (same length), as the diagnosis spec counts lines."""
    logged_at: datetime | None = None
    """Timestamp a logger wrote before the prompt, when present."""
    provenance: Provenance


# ---------------------------------------------------------------- pwr
class PwrRow(_LineRecord):
    """One row of the ``pwr`` stack table (one BMS address)."""

    address: int
    absent: bool = False
    voltage_mv: int | None = None
    current_ma: int | None = None
    temperature_mc: int | None = None
    cell_temp_low_mc: int | None = None
    cell_temp_high_mc: int | None = None
    cell_voltage_low_mv: int | None = None
    cell_voltage_high_mv: int | None = None
    cell_temp_low_id: int | None = None
    cell_temp_high_id: int | None = None
    cell_voltage_low_id: int | None = None
    cell_voltage_high_id: int | None = None
    base_state: str | None = None
    volt_state: str | None = None
    curr_state: str | None = None
    temp_state: str | None = None
    soc_pct: int | None = None
    module_time: datetime | None = None
    cell_volt_state: str | None = None
    """``B.V.St``: the worst cell's voltage state."""
    cell_temp_state: str | None = None
    """``B.T.St``."""
    mos_temperature_mc: int | None = None
    mos_temp_state: str | None = None
    system_alarm_state: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    """Columns this parser does not know, by header name, as printed."""


class PwrTable(_Frozen):
    kind: Literal["pwr"] = "pwr"
    columns: tuple[str, ...]
    rows: tuple[PwrRow, ...]
    """May be kept as a :class:`LinePack` (built on the first read: :class:`LazyRecords`)."""
    provenance: Provenance

    @field_serializer("rows")
    def _ser_rows(self, rows: tuple[PwrRow, ...]) -> tuple[PwrRow, ...]:
        return _records(rows)

    def each_row(self) -> Iterator[PwrRow]:
        """The rows, for one pass over every row without keeping them built (the case loader reads every
        ``pwr`` table once; rules read :attr:`rows`)."""
        return iter(self.__dict__["rows"])


class KeyValue(_LineRecord):
    """One ``Key : value`` line as printed, with its line."""

    key: str
    value: str


class PwrDetail(_Frozen):
    """``pwr N``: key/value detail of one module."""

    kind: Literal["pwr_detail"] = "pwr_detail"
    address: int | None
    voltage_mv: int | None = None
    current_ma: int | None = None
    temperature_mc: int | None = None
    soc_pct: int | None = None
    total_coulomb_mah: int | None = None
    max_voltage_mv: int | None = None
    basic_status: str | None = None
    volt_status: str | None = None
    current_status: str | None = None
    temp_status: str | None = None
    coul_status: str | None = None
    soh_status: str | None = None
    protect_enabled: tuple[str, ...] = ()
    bat_events: int | None = None
    power_events: int | None = None
    power_event_names: tuple[str, ...] = ()
    bat_event_names: tuple[str, ...] = ()
    system_fault: int | None = None
    system_fault_names: tuple[str, ...] = ()
    charge_times: int | None = None
    """``Charge Times``: a state-transition counter, not cycles."""
    charge_seconds: int | None = None
    """``Charge Sec.``: seconds in the current charge state (s)."""
    discharge_seconds: int | None = None
    """``Discharge Sec.``: seconds in the current discharge state (s)."""
    heater_status: str | None = None
    fields: tuple[KeyValue, ...] = ()
    """May be kept as a :class:`LinePack` (built on the first read: :class:`LazyRecords`)."""
    provenance: Provenance

    @field_serializer("fields")
    def _ser_fields(self, fields: tuple[KeyValue, ...]) -> tuple[KeyValue, ...]:
        return _records(fields)

    def each_field(self) -> Iterator[KeyValue]:
        """The fields, for one pass without keeping them built (the case loader reads every detail once)."""
        return iter(self.__dict__["fields"])


# ---------------------------------------------------------------- bat
class BatCell(_LineRecord):
    """One row of ``bat [N]``: one of the module's 15 cells."""

    cell: int
    """Cell index as printed (0-based on every firmware seen)."""
    voltage_mv: int | None = None
    current_ma: int | None = None
    temperature_mc: int | None = None
    base_state: str | None = None
    volt_state: str | None = None
    curr_state: str | None = None
    temp_state: str | None = None
    soc_pct: int | None = None
    """Per-cell SOC (%). Firmware without a ``SOC`` column prints it in the ``Coulomb`` column."""
    coulomb_mah: int | None = None
    balancing: bool | None = None
    """``BAL`` column: ``Y`` True, ``N`` False, absent column None."""
    extra: dict[str, str] = Field(default_factory=dict)


class BatTable(_Frozen):
    kind: Literal["bat"] = "bat"
    address: int | None
    """The N of ``bat N``; None for plain ``bat`` (the module the console is plugged into)."""
    columns: tuple[str, ...]
    cells: tuple[BatCell, ...]
    """May be kept as a :class:`LinePack` (built on the first read: :class:`LazyRecords`)."""
    provenance: Provenance

    @field_serializer("cells")
    def _ser_cells(self, cells: tuple[BatCell, ...]) -> tuple[BatCell, ...]:
        return _records(cells)


# ---------------------------------------------------------------- soh
class SohCell(_Frozen):
    cell: int
    voltage_mv: int | None = None
    soh_count: int | None = None
    soh_status: str | None = None
    provenance: Provenance


class SohTable(_Frozen):
    kind: Literal["soh"] = "soh"
    address: int | None
    cells: tuple[SohCell, ...]
    provenance: Provenance


# ---------------------------------------------------------------- stat
class StatCounters(_Frozen):
    """``stat [N]``: lifetime counters, by the name printed (e.g. ``Bat OV Times``)."""

    kind: Literal["stat"] = "stat"
    address: int | None
    counters: dict[str, int]
    """Every integer counter, by the label as printed without the trailing colon."""
    other: dict[str, str] = Field(default_factory=dict)
    """Non-integer values, by label."""
    lines: dict[str, int] = Field(default_factory=dict)
    """Line number of each label (counters and other), for citations."""
    cycle_count: int | None = None
    soh_pct: int | None = None
    charge_rate_secs: dict[str, int] = Field(default_factory=dict)
    """Newer firmware: seconds spent charging per C-rate band (``ChgCurr 0~0.2C Secs`` → ``"0~0.2C"``), s."""
    discharge_rate_secs: dict[str, int] = Field(default_factory=dict)
    """Newer firmware: seconds spent discharging per C-rate band (``DsgCurr ... Secs``), s."""
    soc_band_secs: dict[str, int] = Field(default_factory=dict)
    """Newer firmware: seconds spent per SOC band (``Soc 0~20% Secs`` → ``"0~20%"``), s."""
    provenance: Provenance


# ---------------------------------------------------------------- key/value style outputs
class InfoRecord(_Frozen):
    """``info [N]``: device identity."""

    kind: Literal["info"] = "info"
    address: int | None = None
    device_name: str | None = None
    manufacturer: str | None = None
    board_version: str | None = None
    main_soft_version: str | None = None
    soft_version: str | None = None
    boot_version: str | None = None
    comm_version: str | None = None
    release_date: str | None = None
    barcode: str | None = None
    specification: str | None = None
    cell_number: int | None = None
    max_discharge_current_ma: int | None = None
    max_charge_current_ma: int | None = None
    fields: tuple[KeyValue, ...] = ()
    """May be kept as a :class:`LinePack` (built on the first read: :class:`LazyRecords`)."""
    provenance: Provenance

    @field_serializer("fields")
    def _ser_fields(self, fields: tuple[KeyValue, ...]) -> tuple[KeyValue, ...]:
        return _records(fields)


class PwrSys(_Frozen):
    """``pwrsys``: the master's system view (what it tells the inverter)."""

    kind: Literal["pwrsys"] = "pwrsys"
    system_state: str | None = None
    total_num: int | None = None
    present_num: int | None = None
    sleep_num: int | None = None
    system_voltage_mv: int | None = None
    system_current_ma: int | None = None
    system_soc_pct: int | None = None
    system_soh_pct: int | None = None
    recommend_charge_voltage_mv: int | None = None
    recommend_discharge_voltage_mv: int | None = None
    recommend_charge_current_ma: int | None = None
    recommend_discharge_current_ma: int | None = None
    """The four ``recommend_*`` are the per-module lines (``Recommend chg voltage``...)."""
    system_recommend_charge_voltage_mv: int | None = None
    system_recommend_discharge_voltage_mv: int | None = None
    system_recommend_charge_current_ma: int | None = None
    system_recommend_discharge_current_ma: int | None = None
    """``system Recommend ...``: the stack totals the master reports to the inverter."""
    remaining_capacity_mah: int | None = None
    """``System RC``."""
    full_charge_capacity_mah: int | None = None
    """``System FCC``."""
    cell_voltage_high_mv: int | None = None
    cell_voltage_avg_mv: int | None = None
    cell_voltage_low_mv: int | None = None
    cell_temp_high_mc: int | None = None
    cell_temp_avg_mc: int | None = None
    cell_temp_low_mc: int | None = None
    fields: tuple[KeyValue, ...] = ()
    provenance: Provenance


class TimeRecord(_Frozen):
    kind: Literal["time"] = "time"
    time: datetime | None
    clock: str | None = None
    """The clock the firmware names (``RTC``, ``Ds3231``)."""
    test_result: str | None = None
    provenance: Provenance


class GenericRecord(_Frozen):
    """Commands read as key/value lines without a dedicated model (``getpwr``, ``ci``, ...)."""

    kind: Literal["generic"] = "generic"
    command: str
    fields: tuple[KeyValue, ...] = ()
    lines: tuple[str, ...] = ()
    provenance: Provenance


class HelpRecord(_Frozen):
    kind: Literal["help"] = "help"
    commands: dict[str, str]
    """Command name -> description as printed."""
    provenance: Provenance


class LogEntry(_Frozen):
    """One entry of the BMS event log (``log``, ``data event``).

    Unknown lines are kept with only ``raw`` set (``index`` None).
    """

    index: int | None = None
    time: datetime | None = None
    module_id: str | None = None
    code: str | None = None
    info: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    cells: tuple[BatCell, ...] = ()
    """``data event``/``data history`` items: the per-cell table stored with the item."""
    raw: str
    provenance: Provenance


class EventLog(_Frozen):
    kind: Literal["log"] = "log"
    command: str
    address: int | None = None
    entries: tuple[LogEntry, ...]
    provenance: Provenance


class GetPwrRecord(_Frozen):
    """``getpwr``: ``#``-separated compact dump of the module the console is plugged into.

    First line: module voltage (mV), current (mA), temperature (m°C), remaining capacity (mAh),
    base/voltage/current/temperature states; then one line per cell: voltage (mV),
    temperature (m°C), voltage state, temperature state; then single-value counter lines
    (meaning not documented; on the stored capture the last equals ``stat`` ``CYCLE Times``).
    """

    kind: Literal["getpwr"] = "getpwr"
    voltage_mv: int | None = None
    current_ma: int | None = None
    temperature_mc: int | None = None
    remaining_mah: int | None = None
    base_state: str | None = None
    volt_state: str | None = None
    curr_state: str | None = None
    temp_state: str | None = None
    cells: tuple[BatCell, ...] = ()
    trailing_values: tuple[int, ...] = ()
    provenance: Provenance


class CommCounters(_Frozen):
    """``ci``: communication counters of the console's module, per port (``US0``/``US1`` RS485/RS232
    links, ``CAN``), by the label printed (``US1 Rx``, ``CAN Tx``, ``Exist Pack Num``...)."""

    kind: Literal["ci"] = "ci"
    counters: dict[str, int]
    lines: dict[str, int] = Field(default_factory=dict)
    """Line number of each label, for citations."""
    exist_pack_num: int | None = None
    """``Exist Pack Num``: the modules this module (normally the master) sees in the stack."""
    provenance: Provenance


class CommandError(_Frozen):
    """An error answer: unknown command, login required/failed, bad argument."""

    kind: Literal["error"] = "error"
    command: str
    message: str
    provenance: Provenance


ConsoleRecord = Annotated[
    PwrTable
    | PwrDetail
    | BatTable
    | SohTable
    | StatCounters
    | InfoRecord
    | PwrSys
    | TimeRecord
    | GenericRecord
    | HelpRecord
    | EventLog
    | GetPwrRecord
    | CommCounters
    | CommandError,
    Field(discriminator="kind"),
]


class ConsoleCapture(_Frozen):
    """Everything read from one console capture: records in order, with warnings."""

    source: str
    records: tuple[ConsoleRecord, ...]
    warnings: tuple[ParseWarning, ...] = ()
    captured_at: datetime | None = None
    """When the capture was taken, from logger timestamps or module clocks, when known."""


lazy(BatTable, "cells")
lazy(PwrTable, "rows")
lazy(PwrDetail, "fields")
lazy(InfoRecord, "fields")
