"""``help``, ``getpwr``, error answers, and every other command read as key : value lines (``ci``...)."""

from __future__ import annotations

from typing import Any, Final

from pylondiag.evidence.console._build import make_bat_cell
from pylondiag.evidence.console._common import BadValue, Ctx, key_value, numbered, opt_int, split_kv
from pylondiag.evidence.console._splitter import ERROR_PREFIXES
from pylondiag.model.console import (
    BatCell,
    CommandBlock,
    CommandError,
    CommCounters,
    GenericRecord,
    GetPwrRecord,
    HelpRecord,
    KeyValue,
)

_HELP_SECTIONS = ("Local command:", "Remote command:")


def parse_help(block: CommandBlock, ctx: Ctx) -> list[HelpRecord]:
    """``name  description`` lines; a line starting with a space continues the previous one.

    A command listed under both ``Local command:`` and ``Remote command:`` keeps its first description.
    """
    commands: dict[str, str] = {}
    current: str | None = None
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s in _HELP_SECTIONS or set(s) == {"*"}:
            current = None if s in _HELP_SECTIONS else current
            continue
        if raw[:1].isspace() and s.startswith("/"):
            if current is not None:
                commands[current] = f"{commands[current]} {s}"
            last = number
            continue
        name, _, desc = s.partition(" ")
        if not name[:1].isalpha():
            ctx.warn(number, raw, "expected 'command  description' in help output")
            continue
        if name in commands:
            current = None  # remote repeat of a local command: keep the first description
        else:
            commands[name] = desc.strip()
            current = name
        last = number
    if not commands:
        return []
    return [
        HelpRecord.model_construct(
            commands=commands, provenance=ctx.prov(block.first_line, block.provenance.raw, last)
        )
    ]


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.strip().rstrip("#").split("#")]


GETPWR_MAX_CELLS: Final = 32
"""Cell lines one ``getpwr`` answer may hold: it dumps one module, and a US module has 15 cells
(``console_fields.md``, ``bat [N]``); twice the most any pack prints, so only nonsense is cut."""


def parse_getpwr(block: CommandBlock, ctx: Ctx) -> list[GetPwrRecord]:
    rows = [(n, r) for n, r in numbered(block) if r.strip()]
    if not rows:
        return []
    values: dict[str, Any] = {}
    cells: list[BatCell] = []
    trailing: list[int] = []
    beyond: tuple[int, str] | None = None  # the first cell line past the bound
    skipped = 0
    last = block.first_line
    for i, (number, raw) in enumerate(rows):
        if "#" not in raw:
            ctx.warn(number, raw, "expected '#'-separated values in getpwr output")
            continue
        f = _fields(raw)
        try:
            if i == 0:
                if len(f) < 4:
                    raise BadValue(f"expected at least 4 module values, found {len(f)}")
                keys = ("voltage_mv", "current_ma", "temperature_mc", "remaining_mah")
                for key, val in zip(keys, f[:4], strict=True):
                    values[key] = opt_int(val)
                for key, val in zip(
                    ("base_state", "volt_state", "curr_state", "temp_state"), f[4:8], strict=False
                ):
                    values[key] = val or None
            elif len(f) >= 2 and len(cells) >= GETPWR_MAX_CELLS:
                beyond = beyond or (number, raw)
                skipped += 1
                continue
            elif len(f) >= 2:
                cells.append(
                    make_bat_cell(
                        cell=len(cells),
                        voltage_mv=opt_int(f[0]),
                        temperature_mc=opt_int(f[1]),
                        volt_state=f[2] if len(f) > 2 and f[2] else None,
                        temp_state=f[3] if len(f) > 3 and f[3] else None,
                        source=ctx.source,
                        line=number,
                        raw=raw,
                    )
                )
            else:
                value = opt_int(f[0])
                if value is not None:
                    trailing.append(value)
        except BadValue as exc:
            ctx.warn(number, raw, f"getpwr line skipped: {exc}")
            continue
        last = number
    if beyond is not None:
        ctx.warn(
            *beyond,
            f"getpwr holds more than {GETPWR_MAX_CELLS} cell lines (one module has 15): "
            f"{skipped} skipped from here",
        )
    if not values:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [
        GetPwrRecord.model_construct(
            cells=tuple(cells), trailing_values=tuple(trailing), provenance=prov, **values
        )
    ]


def parse_error(block: CommandBlock, ctx: Ctx) -> list[CommandError]:
    """The first error line of an ``unknown_command``/``error`` answer (other lines are context)."""
    for number, raw in numbered(block):
        s = raw.strip()
        if s.startswith(ERROR_PREFIXES):
            return [
                CommandError.model_construct(
                    command=block.command, message=s, provenance=ctx.prov(number, raw)
                )
            ]
    p = block.provenance
    return [
        CommandError.model_construct(
            command=block.command, message=block.status, provenance=ctx.prov(p.line, p.raw)
        )
    ]


def parse_generic(block: CommandBlock, ctx: Ctx) -> list[GenericRecord]:
    """Commands without a dedicated model: ``Key : value`` lines become fields, the rest stays as lines."""
    fields: list[KeyValue] = []
    lines: list[str] = []
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---"):
            continue
        kv = key_value(number, raw, ctx)
        if kv is not None and kv.key:
            fields.append(kv)
        else:
            lines.append(raw)
        last = number
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [
        GenericRecord.model_construct(
            command=block.command, fields=tuple(fields), lines=tuple(lines), provenance=prov
        )
    ]


def parse_ci(block: CommandBlock, ctx: Ctx) -> list[CommCounters]:
    """``ci``: ``Label:   value`` counter lines between dashed rules."""
    counters: dict[str, int] = {}
    lines: dict[str, int] = {}
    last = block.first_line
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---"):
            continue
        kv = split_kv(s)
        if kv is None or not kv[1].lstrip("-").isdecimal():
            ctx.warn(number, raw, "expected 'Label: number' in ci output")
            continue
        counters[kv[0]] = int(kv[1])
        lines[kv[0]] = number
        last = number
    if not lines:
        return []
    prov = ctx.prov(block.first_line, block.provenance.raw, last)
    return [
        CommCounters.model_construct(
            counters=counters, lines=lines, exist_pack_num=counters.get("Exist Pack Num"), provenance=prov
        )
    ]
