"""The BMS event log: ``log`` and ``data event`` / ``data history`` items.

Real layouts (public sources; see ``docs/console-parser.md``):

* ``log``: entries of ``Index`` / ``Time`` (``YY-MM-DD HH:MM:SS``) / ``ModID`` / ``Code`` (hex) /
  ``Info`` key : value lines, newest first, paged (PLCHome/ioBroker.pylontech ``data/log.txt``).
* ``data event`` / ``data history``: an item of key : value lines (``Item Index`` or
  ``Rec Item Index``, ``Time``, ``Voltage``, ``Percent``, states, events...) between dashed rules,
  followed by a ``Battery Volt Curr ...`` cell table.

Lines that fit neither are kept as raw entries (``index`` None) rather than dropped.
"""

from __future__ import annotations

from pylondiag.evidence.console._build import make_provenance
from pylondiag.evidence.console._common import (
    Ctx,
    command_arg,
    numbered,
    parse_console_time,
    small_int,
    split_kv,
)
from pylondiag.evidence.console.bat import CellTableReader, is_cell_header
from pylondiag.model.console import BatCell, CommandBlock, EventLog, LogEntry

_INDEX_KEYS = frozenset({"Index", "Item Index", "Rec Item Index"})


class _Entry:
    __slots__ = ("cells", "fields", "first", "raw", "reader")

    def __init__(self, first: tuple[int, str]) -> None:
        self.first = first
        self.fields: dict[str, str] = {}
        self.reader: CellTableReader | None = None
        self.cells: list[BatCell] = []


def _finish(e: _Entry, ctx: Ctx, last: int) -> LogEntry:
    f = e.fields
    index_text = next((f[k] for k in ("Index", "Item Index", "Rec Item Index") if k in f), None)
    index = small_int(index_text) if index_text is not None else None
    time = parse_console_time(f["Time"]) if "Time" in f else None
    cells = tuple(e.reader.cells) if e.reader is not None else ()
    return LogEntry.model_construct(
        index=index,
        time=time,
        module_id=f.get("ModID"),
        code=f.get("Code"),
        info=f.get("Info"),
        fields=dict(f),
        cells=cells,
        raw=e.first[1],
        provenance=ctx.prov(e.first[0], e.first[1], last),
    )


def parse_log(block: CommandBlock, ctx: Ctx) -> list[EventLog]:
    entries: list[LogEntry] = []
    cur: _Entry | None = None
    last = block.first_line
    cur_last = 0
    for number, raw in numbered(block):
        s = raw.strip()
        if not s or s.startswith("---"):
            continue
        last = number
        tokens = s.split()
        if cur is not None and cur.reader is not None and small_int(tokens[0], 3) is not None:
            cur.reader.row(number, raw, tokens)
            cur_last = number
            continue
        if is_cell_header(tokens):
            if cur is None:
                cur = _Entry((number, raw))
            cur.reader = CellTableReader(raw, ctx, "data event cell")
            cur_last = number
            continue
        kv = split_kv(s)
        if kv is not None and kv[0] in _INDEX_KEYS:
            if cur is not None:
                entries.append(_finish(cur, ctx, cur_last))
            cur = _Entry((number, raw))
        if kv is not None and cur is not None and cur.reader is None:
            cur.fields[kv[0]] = kv[1]
            cur_last = number
            continue
        # Not part of a known entry: keep the line as a raw entry.
        if cur is not None:
            entries.append(_finish(cur, ctx, cur_last))
            cur = None
        entries.append(
            LogEntry.model_construct(
                raw=raw,
                provenance=make_provenance(source=ctx.source, line=number, end_line=None, raw=raw),
            )
        )
    if cur is not None:
        entries.append(_finish(cur, ctx, cur_last))
    if not entries:
        return []
    return [
        EventLog.model_construct(
            command=block.command,
            address=command_arg(block),
            entries=tuple(entries),
            provenance=ctx.prov(block.first_line, block.provenance.raw, last),
        )
    ]
