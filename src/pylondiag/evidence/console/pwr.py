"""``pwr`` (stack table, one row per address) and ``pwr N`` (key : value detail of one module).

Columns and meanings: ``shared/domain/hardware/console_fields.md`` (``pwr``, ``pwr N``). Layout varies
by firmware (``.Id`` columns, ``MosTempr``/``M.T.St``, ``SysAlarm.St``), so the table is read by its
header row; unknown columns land in ``PwrRow.extra``. ``Absent`` rows are typed ``absent=True`` with
every value None (on newer firmware their dashes do not even line up with the header).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from pylondiag.evidence.console._build import make_pwr_detail, make_pwr_table
from pylondiag.evidence.console._common import (
    MAX_ADDRESS,
    BadValue,
    Ctx,
    KeptLines,
    command_arg,
    hex_with_names,
    int_with_unit,
    module_address,
    numbered,
    split_kv,
)
from pylondiag.evidence.console._table import (
    KNOWN,
    REFUSED,
    Kind,
    ModelShape,
    RowCheck,
    TableReader,
    header_tokens,
    key_pattern,
    table_reader,
    whole_table,
)
from pylondiag.model.console import CommandBlock, PwrDetail, PwrRow, PwrTable, pack_lines

PWR_COLUMNS: dict[str, tuple[str, Kind]] = {
    "Power": ("address", "int"),
    "Volt": ("voltage_mv", "int"),
    "Curr": ("current_ma", "int"),
    "Tempr": ("temperature_mc", "int"),
    "Tlow": ("cell_temp_low_mc", "int"),
    "Thigh": ("cell_temp_high_mc", "int"),
    "Vlow": ("cell_voltage_low_mv", "int"),
    "Vhigh": ("cell_voltage_high_mv", "int"),
    "Tlow.Id": ("cell_temp_low_id", "int"),
    "Thigh.Id": ("cell_temp_high_id", "int"),
    "Vlow.Id": ("cell_voltage_low_id", "int"),
    "Vhigh.Id": ("cell_voltage_high_id", "int"),
    "Base.St": ("base_state", "str"),
    "Volt.St": ("volt_state", "str"),
    "Curr.St": ("curr_state", "str"),
    "Temp.St": ("temp_state", "str"),
    "Coulomb": ("soc_pct", "int"),
    "Time": ("module_time", "time"),
    "B.V.St": ("cell_volt_state", "str"),
    "B.T.St": ("cell_temp_state", "str"),
    "MosTempr": ("mos_temperature_mc", "int"),
    "M.T.St": ("mos_temp_state", "str"),
    "SysAlarm.St": ("system_alarm_state", "str"),
}

_PWR_SHAPE = ModelShape(PwrRow, key_digits=2, key_min=1, key_field="address")
"""A row's first token is its module address (:func:`module_address`)."""
KNOWN["pwr"] = (PWR_COLUMNS, _PWR_SHAPE)
_ABSENT_ROW = {**_PWR_SHAPE.defaults, "absent": True, "base_state": "Absent"}
"""An ``Absent`` row's fields but its address, ``extra`` and where it was read (set per row)."""


def _is_header(tokens: list[str]) -> bool:
    return len(tokens) >= 3 and tokens[0] == "Power" and tokens[1] == "Volt"


def _pwr_reader(headers: tuple[str, ...]) -> TableReader:
    return table_reader(headers, "pwr")


_ABSENT_PATTERN = f" *+{key_pattern(_PWR_SHAPE)}(?: ++--?)*+ ++Absent(?: ++--?)*+ *+"
"""An ``Absent`` row as consoles print it (:func:`_careful_row` keeps any row with its address and the
word): the address, dashes, ``Absent``, dashes (each followed by a space or the row's end). A general
form (the word among any tokens) took ~3 µs a row, this one a fraction."""


def parse_pwr_table(block: CommandBlock, ctx: Ctx) -> list[PwrTable]:
    """The tables of one ``pwr`` answer. Each keeps its rows as a :class:`LinePack`: a present module's row
    shaped like one read before is only checked (``TableReader.checks``: no warning can arise from it),
    an ``Absent`` row only has its address read; both are built when the table is read. Rows read the
    careful way are kept built."""
    whole = whole_table(block, _is_header, _pwr_reader, _ABSENT_PATTERN)
    if whole is not None:
        rows = whole.pack(ctx.source, _rebuilder(whole.table))
        prov = ctx.prov(whole.head_line, whole.head_raw, whole.lines[-1])
        return [make_pwr_table(columns=whole.headers, rows=rows, provenance=prov)]
    table: TableReader | None = None
    headers: tuple[str, ...] = ()
    head_line, head_raw = 0, ""
    tables: list[PwrTable] = []
    last = 0
    raws: list[str] = []
    lines = array("i")
    odd: dict[int, PwrRow] = {}

    def flush() -> None:
        if table is not None:
            tables.append(
                make_pwr_table(
                    columns=headers,
                    rows=pack_lines(ctx.source, raws, lines, _rebuilder(table), odd),
                    provenance=ctx.prov(head_line, head_raw, last),
                )
            )

    checked: dict[int, RowCheck] = {}
    for number, raw in numbered(block):
        tokens = raw.split()
        if not tokens:
            continue
        check = checked.get(len(tokens))
        if check is not None and "Absent" not in tokens:
            try:
                check(tokens)
                raws.append(raw)
                lines.append(number)
                last = number
                continue
            except REFUSED:
                pass
        if tokens[0] == "Power" and _is_header(tokens):
            flush()
            headers = header_tokens(raw)
            table = table_reader(headers, "pwr")
            checked = table.checks
            head_line, head_raw, last = number, raw, number
            raws, lines, odd = [], array("i"), {}
            continue
        if table is None:
            ctx.warn(number, raw, "expected the pwr header row (Power Volt Curr ...)")
            continue
        row = _careful_row(table, tokens, number, raw, ctx)
        if row is not None:
            if row != "absent":
                odd[len(raws)] = row
            raws.append(raw)
            lines.append(number)
            last = number
    flush()
    return tables


def _careful_row(
    table: TableReader, tokens: list[str], number: int, raw: str, ctx: Ctx
) -> PwrRow | Literal["absent"] | None:
    """A row read column by column; ``"absent"`` for an ``Absent`` row (kept as its line and built by
    :func:`_rebuilder`); None, with a warning, when it is not a row of this table."""
    address = module_address(tokens[0])
    if address is None:
        ctx.warn(
            number,
            raw,
            f"expected a pwr row starting with the module address (1 to {MAX_ADDRESS}), "
            f"found {tokens[0][:20]!r}",
        )
        return None
    if "Absent" in tokens:
        return "absent"
    try:
        d, left = table.record_dict(tokens, ctx.source, number, raw)
    except BadValue as exc:
        ctx.warn(number, raw, f"pwr row skipped: {exc}")
        return None
    if left:
        ctx.warn(number, raw, f"pwr row has {left} value(s) more than the header has columns; kept the rest")
    d["address"] = address
    row: PwrRow = _PWR_SHAPE.build(d)
    return row


def _absent_row(address: int | None, source: str, line: int, raw: str) -> PwrRow:
    d = _ABSENT_ROW.copy()
    d["address"] = address
    d["extra"] = {}
    d["source"] = source
    d["line"] = line
    d["raw"] = raw
    row: PwrRow = _PWR_SHAPE.build(d)
    return row


@lru_cache(maxsize=64)
def _rebuilder(table: TableReader) -> Callable[[str, str, int], PwrRow]:
    """Builds a row :func:`parse_pwr_table` accepted without building it: an ``Absent`` row (only such rows
    hold that word) or a row its compiled reader checked."""
    records = table.records

    def rebuild(raw: str, source: str, line: int) -> PwrRow:
        tokens = raw.split()
        if "Absent" in tokens:
            return _absent_row(module_address(tokens[0]), source, line, raw)
        row: PwrRow = records[len(tokens)](tokens, source, line, raw)
        return row

    return rebuild


# ---------------------------------------------------------------- pwr N
_DETAIL_INT: dict[str, str] = {
    "Voltage": "voltage_mv",
    "Current": "current_ma",
    "Temperature": "temperature_mc",
    "Coulomb": "soc_pct",
    "Total Coulomb": "total_coulomb_mah",
    "Max Voltage": "max_voltage_mv",
    "Charge Times": "charge_times",
    "Charge Sec.": "charge_seconds",
    "Discharge Sec.": "discharge_seconds",
}
_DETAIL_STR: dict[str, str] = {
    "Basic Status": "basic_status",
    "Volt Status": "volt_status",
    "Current Status": "current_status",
    "Tmpr. Status": "temp_status",
    "Coul. Status": "coul_status",
    "Soh. Status": "soh_status",
    "Heater Status": "heater_status",
}
_DETAIL_HEX: dict[str, tuple[str, str]] = {
    "Bat Events": ("bat_events", "bat_event_names"),
    "Power Events": ("power_events", "power_event_names"),
    "System Fault": ("system_fault", "system_fault_names"),
}


@lru_cache(maxsize=64)
def _words(value: str) -> tuple[str, ...]:
    """``Protect ENA``'s words (cached: every detail of a capture prints the same ones; one tuple kept)."""
    return tuple(value.split())


def parse_pwr_detail(block: CommandBlock, ctx: Ctx) -> list[PwrDetail]:
    values: dict[str, Any] = {}
    fields = KeptLines()
    address = command_arg(block)
    first: tuple[int, str] | None = None
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---"):
            continue
        if first is None:
            first = (number, raw)
        if s.startswith("Power") and ":" not in s:
            parts = s.split()
            if len(parts) == 2 and module_address(parts[1]) is not None:
                address = module_address(parts[1])
                last = number
                continue
        kv = split_kv(raw)
        if kv is None:
            ctx.warn(number, raw, "expected 'Key : value' in pwr N detail")
            continue
        key, value = kv
        try:
            if key in _DETAIL_INT:
                values[_DETAIL_INT[key]] = int_with_unit(value)
            elif key in _DETAIL_STR:
                values[_DETAIL_STR[key]] = sys.intern(value) if value else None
            elif key in _DETAIL_HEX:
                num_field, names_field = _DETAIL_HEX[key]
                values[num_field], values[names_field] = hex_with_names(value)
            elif key == "Protect ENA":
                values["protect_enabled"] = _words(value)
        except BadValue as exc:
            ctx.warn(number, raw, f"pwr N field {key!r} skipped: {exc}")
            continue
        fields.add(number, raw)
        last = number
    if first is None:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [make_pwr_detail(address=address, fields=fields.fields(ctx.source), provenance=prov, **values)]
