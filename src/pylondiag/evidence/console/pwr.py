"""``pwr`` (stack table, one row per address) and ``pwr N`` (key : value detail of one module).

Columns and meanings: ``shared/domain/hardware/console_fields.md`` (``pwr``, ``pwr N``). Layout varies
by firmware (``.Id`` columns, ``MosTempr``/``M.T.St``, ``SysAlarm.St``), so the table is read by its
header row; unknown columns land in ``PwrRow.extra``. ``Absent`` rows are typed ``absent=True`` with
every value None (on newer firmware their dashes do not even line up with the header).
"""

from __future__ import annotations

from typing import Any

from pylondiag.evidence.console._build import make_pwr_detail, make_pwr_table, pwr_row_raw
from pylondiag.evidence.console._common import (
    MAX_ADDRESS,
    BadValue,
    Ctx,
    command_arg,
    hex_with_names,
    int_with_unit,
    key_value,
    module_address,
    numbered,
)
from pylondiag.evidence.console._table import (
    KNOWN,
    REFUSED,
    Kind,
    ModelShape,
    RowRecord,
    TableReader,
    header_tokens,
    table_reader,
)
from pylondiag.model.console import CommandBlock, KeyValue, PwrDetail, PwrRow, PwrTable

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
_ABSENT_ROW = {**_PWR_SHAPE.defaults, "absent": True, "base_state": "Absent"} | dict.fromkeys(
    ("address", "extra", "source", "line")
)
"""An ``Absent`` row's fields (address, extra and where it was read set per row: copied, never resized;
in this order ``pylondiag parse`` has always printed them)."""


def _is_header(tokens: list[str]) -> bool:
    return len(tokens) >= 3 and tokens[0] == "Power" and tokens[1] == "Volt"


def parse_pwr_table(block: CommandBlock, ctx: Ctx) -> list[PwrTable]:
    table: TableReader | None = None
    headers: tuple[str, ...] = ()
    head_line, head_raw = 0, ""
    rows: list[PwrRow] = []
    tables: list[PwrTable] = []
    last = 0

    def flush() -> None:
        if table is not None:
            tables.append(
                make_pwr_table(
                    columns=headers, rows=tuple(rows), provenance=ctx.prov(head_line, head_raw, last)
                )
            )

    source = ctx.source
    built: dict[int, RowRecord] = {}
    for number, raw in numbered(block):
        tokens = raw.split()
        if not tokens:
            continue
        # a present module's row shaped like one read before: built in one step (no warning can arise)
        build = built.get(len(tokens))
        if build is not None and "Absent" not in tokens:
            try:
                rows.append(build(tokens, source, number, raw))
                last = number
                continue
            except REFUSED:
                pass
        if tokens[0] == "Power" and _is_header(tokens):
            flush()
            headers = header_tokens(raw)
            table = table_reader(headers, "pwr")
            built = table.records
            head_line, head_raw, last = number, raw, number
            rows = []
            continue
        if table is None:
            ctx.warn(number, raw, "expected the pwr header row (Power Volt Curr ...)")
            continue
        address = module_address(tokens[0])
        if address is None:
            ctx.warn(
                number,
                raw,
                f"expected a pwr row starting with the module address (1 to {MAX_ADDRESS}), "
                f"found {tokens[0][:20]!r}",
            )
            continue
        if "Absent" in tokens:
            d = _ABSENT_ROW.copy()
            d["address"] = address
            d["extra"] = {}
            d["source"] = source
            d["line"] = number
            d["raw"] = raw
            rows.append(pwr_row_raw(d))
            last = number
            continue
        try:
            d, left = table.record_dict(tokens, ctx.source, number, raw)
        except BadValue as exc:
            ctx.warn(number, raw, f"pwr row skipped: {exc}")
            continue
        if left:
            ctx.warn(
                number, raw, f"pwr row has {left} value(s) more than the header has columns; kept the rest"
            )
        d["address"] = address
        rows.append(pwr_row_raw(d))
        last = number
    flush()
    return tables


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


def parse_pwr_detail(block: CommandBlock, ctx: Ctx) -> list[PwrDetail]:
    values: dict[str, Any] = {}
    fields: list[KeyValue] = []
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
        kv = key_value(number, raw, ctx)
        if kv is None:
            ctx.warn(number, raw, "expected 'Key : value' in pwr N detail")
            continue
        try:
            if kv.key in _DETAIL_INT:
                values[_DETAIL_INT[kv.key]] = int_with_unit(kv.value)
            elif kv.key in _DETAIL_STR:
                values[_DETAIL_STR[kv.key]] = kv.value or None
            elif kv.key in _DETAIL_HEX:
                num_field, names_field = _DETAIL_HEX[kv.key]
                values[num_field], values[names_field] = hex_with_names(kv.value)
            elif kv.key == "Protect ENA":
                values["protect_enabled"] = tuple(kv.value.split())
        except BadValue as exc:
            ctx.warn(number, raw, f"pwr N field {kv.key!r} skipped: {exc}")
            continue
        fields.append(kv)
        last = number
    if first is None:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [make_pwr_detail(address=address, fields=tuple(fields), provenance=prov, **values)]
