"""``bat [N]`` (per-cell table incl. ``BAL``) and ``soh N`` (per-cell SOH counts).

Columns: ``shared/domain/hardware/console_fields.md`` (``bat [N]``, ``soh N``). Read by header row;
unknown columns land in ``BatCell.extra``. The ``Coulomb`` column holds ``44628 mAH``; firmware
without a ``SOC`` column (US2KBPL B66.6) prints ``89%  42586 mAH`` there, read as SOC + mAh.
"""

from __future__ import annotations

from array import array

from pylondiag.evidence.console._build import make_bat_table
from pylondiag.evidence.console._common import (
    BadValue,
    Ctx,
    command_arg,
    module_address,
    numbered,
    opt_int,
    small_int,
)
from pylondiag.evidence.console._table import (
    KNOWN,
    REFUSED,
    Kind,
    ModelShape,
    RowCheck,
    TableReader,
    header_tokens,
    table_reader,
    whole_table,
)
from pylondiag.model.console import BatCell, BatTable, CommandBlock, SohCell, SohTable, pack_lines

BAT_COLUMNS: dict[str, tuple[str, Kind]] = {
    "Battery": ("cell", "int"),
    "Volt": ("voltage_mv", "int"),
    "Curr": ("current_ma", "int"),
    "Tempr": ("temperature_mc", "int"),
    "Base State": ("base_state", "str"),
    "Volt. State": ("volt_state", "str"),
    "Curr. State": ("curr_state", "str"),
    "Temp. State": ("temp_state", "str"),
    "Tempr. State": ("temp_state", "str"),
    "SOC": ("soc_pct", "int"),
    "Coulomb": ("coulomb_mah", "soc_coulomb"),
    "BAL": ("balancing", "flag"),
}

_BAT_SHAPE = ModelShape(BatCell, key_digits=3)
KNOWN["bat"] = (BAT_COLUMNS, _BAT_SHAPE)
"""A row's first token is its cell index (0-based, at most 3 digits: :class:`CellTableReader`)."""


def is_cell_header(tokens: list[str]) -> bool:
    return len(tokens) >= 3 and tokens[0] == "Battery" and tokens[1] == "Volt"


class CellTableReader:
    """Reads a ``Battery Volt Curr ...`` table line by line (``bat``, ``data event`` items)."""

    def __init__(self, raw_header: str, ctx: Ctx, what: str) -> None:
        self.headers = header_tokens(raw_header)
        self.has_soc = "SOC" in self.headers
        self.table = table_reader(self.headers, "bat", self.has_soc)
        self.ctx = ctx
        self.what = what
        self.cells: list[BatCell] = []

    def row(self, number: int, raw: str, tokens: list[str]) -> bool:
        """Read one row; False (with a warning) when it is not a row of this table."""
        if small_int(tokens[0], 3) is None:
            self.ctx.warn(number, raw, f"expected a {self.what} row starting with the cell index")
            return False
        try:
            d, left = self.table.record_dict(tokens, self.ctx.source, number, raw)
        except BadValue as exc:
            self.ctx.warn(number, raw, f"{self.what} row skipped: {exc}")
            return False
        if left:
            self.ctx.warn(
                number, raw, f"{self.what} row has {left} value(s) more than the header has columns"
            )
        self.cells.append(_BAT_SHAPE.build(d))
        return True


def _bat_reader(headers: tuple[str, ...]) -> TableReader:
    return table_reader(headers, "bat", "SOC" in headers)


def parse_bat(block: CommandBlock, ctx: Ctx) -> list[BatTable]:
    """The tables of one ``bat [N]`` answer. Each table keeps its rows as a :class:`LinePack`: a row shaped
    like one read before is only checked (``TableReader.checks``: no warning can arise from it) and built
    when the table is read; rows read the careful way are kept built."""
    whole = whole_table(block, is_cell_header, _bat_reader)
    if whole is not None:
        cells = whole.pack(ctx.source, whole.table.rebuild)
        prov = ctx.prov(whole.head_line, whole.head_raw, whole.lines[-1])
        address = command_arg(block)
        return [make_bat_table(address=address, columns=whole.headers, cells=cells, provenance=prov)]
    tables: list[BatTable] = []
    reader: CellTableReader | None = None
    head_line, head_raw, last = 0, "", 0
    address = command_arg(block)
    raws: list[str] = []
    lines = array("i")
    odd: dict[int, BatCell] = {}

    def flush() -> None:
        if reader is not None:
            tables.append(
                make_bat_table(
                    address=address,
                    columns=reader.headers,
                    cells=pack_lines(ctx.source, raws, lines, reader.table.rebuild, odd),
                    provenance=ctx.prov(head_line, head_raw, last),
                )
            )

    checked: dict[int, RowCheck] = {}
    for number, raw in numbered(block):
        tokens = raw.split()
        if not tokens:
            continue
        check = checked.get(len(tokens))
        if check is not None:
            try:
                check(tokens)
                raws.append(raw)
                lines.append(number)
                last = number
                continue
            except REFUSED:
                pass
        if is_cell_header(tokens):
            flush()
            reader = CellTableReader(raw, ctx, "bat")
            checked = reader.table.checks
            raws, lines, odd = [], array("i"), {}
            head_line, head_raw, last = number, raw, number
            continue
        if reader is None:
            ctx.warn(number, raw, "expected the bat header row (Battery Volt Curr ...)")
            continue
        if reader.row(number, raw, tokens):
            odd[len(raws)] = reader.cells.pop()
            raws.append(raw)
            lines.append(number)
            last = number
    flush()
    return tables


def parse_soh(block: CommandBlock, ctx: Ctx) -> list[SohTable]:
    address = command_arg(block)
    cells: list[SohCell] = []
    header: dict[str, int] | None = None
    head: tuple[int, str] | None = None
    last = block.first_line
    for number, raw in numbered(block):
        tokens = raw.split()
        if not tokens:
            continue
        if tokens[0] == "Power" and len(tokens) == 2 and module_address(tokens[1]):
            address = module_address(tokens[1])
            continue
        if tokens[0] == "Battery" and len(tokens) > 1 and not tokens[1].isdecimal():
            header = {name: i for i, name in enumerate(tokens)}
            head = (number, raw)
            continue
        if header is None or small_int(tokens[0], 3) is None:
            ctx.warn(number, raw, "expected a soh row (Battery Voltage SOHCount SOHStatus)")
            continue
        try:
            vi, ci, si = header.get("Voltage"), header.get("SOHCount"), header.get("SOHStatus")
            cells.append(
                SohCell.model_construct(
                    cell=int(tokens[0]),
                    voltage_mv=opt_int(tokens[vi]) if vi is not None and vi < len(tokens) else None,
                    soh_count=opt_int(tokens[ci]) if ci is not None and ci < len(tokens) else None,
                    soh_status=tokens[si] if si is not None and si < len(tokens) else None,
                    provenance=ctx.prov(number, raw),
                )
            )
        except BadValue as exc:
            ctx.warn(number, raw, f"soh row skipped: {exc}")
            continue
        last = number
    if head is None:
        return []
    return [
        SohTable.model_construct(
            address=address, cells=tuple(cells), provenance=ctx.prov(head[0], head[1], last)
        )
    ]
