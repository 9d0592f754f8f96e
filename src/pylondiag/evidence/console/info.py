"""Key : value answers: ``info [N]`` (device identity), ``pwrsys`` (master's system view), ``time``.

Fields: ``shared/domain/hardware/console_fields.md`` (``info [N]``, ``pwrsys``).
"""

from __future__ import annotations

import sys
from typing import Any

from pylondiag.evidence.console._build import make_info
from pylondiag.evidence.console._common import (
    BadValue,
    Ctx,
    KeptLines,
    command_arg,
    find_datetime,
    int_with_unit,
    key_value,
    numbered,
    split_kv,
)
from pylondiag.model.console import CommandBlock, InfoRecord, KeyValue, PwrSys, TimeRecord

_INFO_STR = {
    "Manufacturer": "manufacturer",
    "Device name": "device_name",
    "Board version": "board_version",
    "Main Soft version": "main_soft_version",
    "Soft version": "soft_version",
    "Boot version": "boot_version",
    "Comm version": "comm_version",
    "Release Date": "release_date",
    "Barcode": "barcode",
    "Specification": "specification",
}
_INFO_INT = {
    "Device address": "address",
    "Cell Number": "cell_number",
    "Max Dischg Curr": "max_discharge_current_ma",
    "Max Charge Curr": "max_charge_current_ma",
}


def _kv_lines(block: CommandBlock, ctx: Ctx, what: str) -> tuple[list[tuple[int, str, str, str]], int]:
    """``(line, raw, key, value)`` of every ``Key : value`` line, and the last one's line."""
    out: list[tuple[int, str, str, str]] = []
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---"):
            continue
        kv = split_kv(raw)
        if kv is None:
            ctx.warn(number, raw, f"expected 'Key : value' in {what} output")
            continue
        out.append((number, raw, *kv))
        last = number
    return out, last


def parse_info(block: CommandBlock, ctx: Ctx) -> list[InfoRecord]:
    lines, last = _kv_lines(block, ctx, "info")
    values: dict[str, Any] = {"address": command_arg(block)}
    kept = KeptLines()
    for number, raw, key, value in lines:
        try:
            if key in _INFO_STR:
                values[_INFO_STR[key]] = sys.intern(value) if value else None
            elif key in _INFO_INT:
                values[_INFO_INT[key]] = int_with_unit(value)
        except BadValue as exc:
            ctx.warn(number, raw, f"info field {key!r} skipped: {exc}")
            continue
        kept.add(number, raw)
    if not kept.raws:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [make_info(fields=kept.fields(ctx.source), provenance=prov, **values)]


_PWRSYS_INT = {
    "Total Num": "total_num",
    "Present Num": "present_num",
    "Sleep Num": "sleep_num",
    "System Volt": "system_voltage_mv",
    "System Curr": "system_current_ma",
    "System RC": "remaining_capacity_mah",
    "System FCC": "full_charge_capacity_mah",
    "System SOC": "system_soc_pct",
    "System SOH": "system_soh_pct",
    "Highest voltage": "cell_voltage_high_mv",
    "Average voltage": "cell_voltage_avg_mv",
    "Lowest voltage": "cell_voltage_low_mv",
    "Highest temperature": "cell_temp_high_mc",
    "Average temperature": "cell_temp_avg_mc",
    "Lowest temperature": "cell_temp_low_mc",
    "Recommend chg voltage": "recommend_charge_voltage_mv",
    "Recommend dsg voltage": "recommend_discharge_voltage_mv",
    "Recommend chg current": "recommend_charge_current_ma",
    "Recommend dsg current": "recommend_discharge_current_ma",
    "system Recommend chg voltage": "system_recommend_charge_voltage_mv",
    "system Recommend dsg voltage": "system_recommend_discharge_voltage_mv",
    "system Recommend chg current": "system_recommend_charge_current_ma",
    "system Recommend dsg current": "system_recommend_discharge_current_ma",
}


def parse_pwrsys(block: CommandBlock, ctx: Ctx) -> list[PwrSys]:
    values: dict[str, Any] = {}
    kept: list[KeyValue] = []
    last = block.first_line
    seen = False
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---") or s == "Power System Information":
            continue
        if s.startswith("System is "):
            values["system_state"] = s[len("System is ") :].strip() or None
            seen = True
            last = number
            continue
        kv = key_value(number, raw, ctx)
        if kv is None:
            ctx.warn(number, raw, "expected 'Key : value' in pwrsys output")
            continue
        try:
            if kv.key in _PWRSYS_INT:
                values[_PWRSYS_INT[kv.key]] = int_with_unit(kv.value)
        except BadValue as exc:
            ctx.warn(number, raw, f"pwrsys field {kv.key!r} skipped: {exc}")
            continue
        kept.append(kv)
        seen = True
        last = number
    if not seen:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [PwrSys.model_construct(fields=tuple(kept), provenance=prov, **values)]


def parse_time(block: CommandBlock, ctx: Ctx) -> list[TimeRecord]:
    """``RTC 2026-07-17 01:40:48`` / ``Ds3231 2025-12-21 21:14:53``, optional ``Test result:pass``."""
    out: list[TimeRecord] = []
    test_result: str | None = None
    for number, raw in numbered(block):
        s = raw.strip()
        if not s:
            continue
        if s.lower().startswith("test result"):
            test_result = s.partition(":")[2].strip() or None
            continue
        when = find_datetime(s)
        if when is None:
            ctx.warn(number, raw, "expected a clock line like 'RTC 2026-07-17 01:40:48'")
            continue
        parts = s.split()
        clock = parts[0] if parts and not parts[0][:1].isdigit() else None
        out.append(TimeRecord.model_construct(time=when, clock=clock, provenance=ctx.prov(number, raw)))
    if test_result is not None and out:
        out[-1] = out[-1].model_copy(update={"test_result": test_result})
    return out
