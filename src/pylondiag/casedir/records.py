"""Console records → the view's readings: one handler per record type (:data:`HANDLERS`).

Captures are taken oldest first (undated last, then by file name); every record gets ``seq``, its order
across the whole case, and the position its address maps to
(:class:`~pylondiag.casedir.addresses.AddressMap`).
States and log entries the records carry become BMS timeline events (:mod:`pylondiag.casedir.bms_events`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Final

from pylondiag.casedir import bms_events
from pylondiag.casedir.addresses import AddressMap, CaptureOrigin
from pylondiag.model.console import (
    BatTable,
    CommandError,
    ConsoleCapture,
    EventLog,
    GetPwrRecord,
    InfoRecord,
    PwrDetail,
    PwrSys,
    PwrTable,
    SohTable,
    StatCounters,
)
from pylondiag.model.event import BatteryEvent
from pylondiag.model.stack import (
    BatReading,
    InfoReading,
    LogReading,
    PwrDetailReading,
    PwrSnapshot,
    PwrSysReading,
    SohReading,
    StatReading,
)


@dataclass
class Readings:
    """Every console record of the case, placed and in ``seq`` order per kind."""

    pwr: list[PwrSnapshot] = field(default_factory=list)
    bat: list[BatReading] = field(default_factory=list)
    details: list[PwrDetailReading] = field(default_factory=list)
    stats: list[StatReading] = field(default_factory=list)
    sohs: list[SohReading] = field(default_factory=list)
    infos: list[InfoReading] = field(default_factory=list)
    pwrsys: list[PwrSysReading] = field(default_factory=list)
    logs: list[LogReading] = field(default_factory=list)
    events: list[BatteryEvent] = field(default_factory=list)
    """BMS events from ``pwr`` states, ``pwr N`` fault fields and ``log`` entries."""
    assumed_sources: set[str] = field(default_factory=set)
    """Captures whose plain ``bat``/``stat`` module was inferred."""
    unused_commands: dict[str, None] = field(default_factory=dict)
    """Console commands read but not used by the diagnosis (``time``, ``help``, ``getpwr``...), in order."""
    refused_commands: dict[str, str] = field(default_factory=dict)
    """Commands the console refused, as typed (``stat 1``), with its answer (``Invalid command or fail to
    excute!``): what to capture instead depends on it (a US3000D refuses ``stat N``)."""


DATA_COMMANDS: Final = frozenset(("pwr", "bat", "stat", "soh", "info", "pwrsys", "log", "data"))
"""The data commands whose refusal is kept as typed (never ``login``: its argument is a password)."""


@dataclass(frozen=True)
class At:
    """Where a record was read: its capture, time, order and whose console it was."""

    source: str
    time: datetime | None
    seq: int
    origin: CaptureOrigin
    tz: tzinfo


def read_captures(
    captures: list[ConsoleCapture], notes: dict[str, int], amap: AddressMap, tz: tzinfo
) -> Readings:
    """Place every record of every capture (oldest capture first) into :class:`Readings`."""
    out = Readings()
    seq = 0
    for cap in sorted(captures, key=lambda c: _capture_order(c, tz)):
        origin = CaptureOrigin(own_address=_own_address(cap), noted_position=notes.get(cap.source))
        for rec in cap.records:
            seq += 1
            handler = HANDLERS.get(type(rec))
            if handler is not None:
                handler(rec, At(cap.source, cap.captured_at, seq, origin, tz), amap, out)
            else:
                out.unused_commands[_command_word(rec)] = None
                if isinstance(rec, CommandError) and _command_word(rec) in DATA_COMMANDS:
                    out.refused_commands[rec.command.strip()[:40]] = rec.message[:80]
    return out


def _command_word(rec: Any) -> str:
    """The command a record answers, first word only (``login <redacted>`` → ``login``), at most 24
    characters; the record's kind when it carries no command."""
    command = str(getattr(rec, "command", "") or "").strip()
    return (command.split()[0] if command else str(getattr(rec, "kind", "?")))[:24]


def _capture_order(c: ConsoleCapture, tz: tzinfo) -> tuple[bool, datetime, str]:
    return (c.captured_at is None, c.captured_at or datetime.min.replace(tzinfo=tz), c.source)


def _pwr(rec: PwrTable, at: At, amap: AddressMap, out: Readings) -> None:
    out.pwr.append(PwrSnapshot(table=rec, time=at.time, seq=at.seq, source=at.source))
    for row in rec.each_row():  # not kept built: the rules read few of them (issue 17, memory)
        if not row.absent:
            out.events.extend(bms_events.from_pwr_row(row, aware(row.module_time, at.tz) or at.time))


def _bat(rec: BatTable, at: At, amap: AddressMap, out: Readings) -> None:
    p = amap.resolve(rec.address, at.origin)
    if p.assumed:
        out.assumed_sources.add(at.source)
    out.bat.append(
        BatReading(
            position=p.position,
            address=p.address,
            time=at.time,
            seq=at.seq,
            source=at.source,
            table=rec,
            assumed_address=p.assumed,
        )
    )


GETPWR_COLUMNS: Final = (
    "Battery",
    "Volt",
    "Curr",
    "Tempr",
    "Base State",
    "Volt. State",
    "Temp. State",
    "Coulomb",
)
"""The ``bat`` columns a ``getpwr`` dump fills (its cell lines give Volt, Tempr and the two states; its first
line the module's Curr, Base State and Coulomb, which ``bat`` prints on every row)."""


def bat_of_getpwr(rec: GetPwrRecord) -> BatTable:
    """``getpwr`` (debug console, ``console_fields.md`` [C]) as the plain ``bat`` of the module the console
    is plugged into: its cells, each with the module's current, base state and remaining charge from the
    dump's first line — the values ``bat`` prints on every row. The table cites the whole answer."""
    module = {"current_ma": rec.current_ma, "base_state": rec.base_state, "coulomb_mah": rec.remaining_mah}
    cells = tuple(cell.model_copy(update=module) for cell in rec.cells)
    return BatTable(address=None, columns=GETPWR_COLUMNS, cells=cells, provenance=rec.provenance)


def _getpwr(rec: GetPwrRecord, at: At, amap: AddressMap, out: Readings) -> None:
    if rec.cells:
        _bat(bat_of_getpwr(rec), at, amap, out)
    else:
        out.unused_commands["getpwr"] = None


def _detail(rec: PwrDetail, at: At, amap: AddressMap, out: Readings) -> None:
    p = amap.resolve(rec.address, at.origin)
    out.details.append(
        PwrDetailReading(
            position=p.position, address=p.address, time=at.time, seq=at.seq, source=at.source, detail=rec
        )
    )
    out.events.extend(bms_events.from_pwr_detail(rec, at.time))


def _stat(rec: StatCounters, at: At, amap: AddressMap, out: Readings) -> None:
    p = amap.resolve(rec.address, at.origin)
    if p.assumed:
        out.assumed_sources.add(at.source)
    out.stats.append(
        StatReading(
            position=p.position, address=p.address, time=at.time, seq=at.seq, source=at.source, stat=rec
        )
    )


def _soh(rec: SohTable, at: At, amap: AddressMap, out: Readings) -> None:
    p = amap.resolve(rec.address, at.origin)
    out.sohs.append(
        SohReading(
            position=p.position, address=p.address, time=at.time, seq=at.seq, source=at.source, table=rec
        )
    )


def _info(rec: InfoRecord, at: At, amap: AddressMap, out: Readings) -> None:
    p = amap.resolve(rec.address, at.origin)
    out.infos.append(
        InfoReading(
            position=p.position, address=p.address, time=at.time, seq=at.seq, source=at.source, info=rec
        )
    )


def _pwrsys(rec: PwrSys, at: At, amap: AddressMap, out: Readings) -> None:
    out.pwrsys.append(PwrSysReading(record=rec, time=at.time, seq=at.seq, source=at.source))


def _log(rec: EventLog, at: At, amap: AddressMap, out: Readings) -> None:
    out.logs.append(LogReading(log=rec, time=at.time, seq=at.seq, source=at.source))
    out.events.extend(bms_events.from_log(rec, rec.address, at.time))


HANDLERS: Final[dict[type[Any], Callable[[Any, At, AddressMap, Readings], None]]] = {
    PwrTable: _pwr,
    BatTable: _bat,
    PwrDetail: _detail,
    StatCounters: _stat,
    SohTable: _soh,
    InfoRecord: _info,
    PwrSys: _pwrsys,
    EventLog: _log,
    GetPwrRecord: _getpwr,
}
"""One handler per console record type the diagnosis reads; other records (``time``, ``help``...) are
counted in ``seq`` only."""


def place_modules(amap: AddressMap, r: Readings) -> None:
    """Add the modules the console shows to ``amap`` (``pwr`` rows, then every placed reading) and take
    model and firmware from ``info`` where ``case.yaml`` does not give them."""
    for snap in r.pwr:
        for row in snap.table.each_row():  # not kept built (issue 17, memory): rules read few tables
            if row.absent:
                continue
            p = amap.resolve(row.address)
            amap.ensure(p.position, p.address)
    for reading in [*r.bat, *r.details, *r.stats, *r.sohs, *r.infos]:
        amap.ensure(reading.position, reading.address)
    for inf in r.infos:
        draft = amap.modules.get(inf.position) if inf.position is not None else None
        if draft is None:
            continue
        if not draft.model and inf.info.device_name:
            draft.model = inf.info.device_name
        if inf.info.main_soft_version:
            draft.firmware = inf.info.main_soft_version


def _own_address(cap: ConsoleCapture) -> int | None:
    """The address of the module whose console this is, when the capture says so unambiguously.

    A capture with plain ``bat`` (no number) or ``getpwr`` taken on one module's own console names that
    module in its ``info``/``stat``/``soh`` ``Device address`` or ``soh``'s ``Power N``. One distinct
    address → that one.
    """
    if not any(_plain_module_record(r) for r in cap.records):
        return None
    found = {
        r.address
        for r in cap.records
        if isinstance(r, InfoRecord | StatCounters | SohTable) and r.address is not None
    }
    return found.pop() if len(found) == 1 else None


def _plain_module_record(rec: Any) -> bool:
    """A record of the module the console is plugged into, naming no address (plain ``bat``, ``getpwr``)."""
    return isinstance(rec, GetPwrRecord) or (isinstance(rec, BatTable) and rec.address is None)


def aware(t: datetime | None, tz: tzinfo) -> datetime | None:
    """``t`` with the site's zone when it has none."""
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=tz)
