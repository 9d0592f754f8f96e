"""``parse_block``: one command block → typed records, by the command echoed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pylondiag.evidence.console._common import Ctx, command_arg
from pylondiag.evidence.console.bat import parse_bat, parse_soh
from pylondiag.evidence.console.info import parse_info, parse_pwrsys, parse_time
from pylondiag.evidence.console.log import parse_log
from pylondiag.evidence.console.misc import parse_ci, parse_error, parse_generic, parse_getpwr, parse_help
from pylondiag.evidence.console.pwr import parse_pwr_detail, parse_pwr_table
from pylondiag.evidence.console.stat import parse_stat
from pylondiag.model.console import CommandBlock, ConsoleRecord, ParseWarning

Parser = Callable[[CommandBlock, Ctx], Sequence[ConsoleRecord]]

_BY_COMMAND: dict[str, Parser] = {
    "bat": parse_bat,
    "soh": parse_soh,
    "stat": parse_stat,
    "info": parse_info,
    "pwrsys": parse_pwrsys,
    "time": parse_time,
    "getpwr": parse_getpwr,
    "help": parse_help,
    "log": parse_log,
    "ci": parse_ci,
}


def _parser_for(block: CommandBlock) -> Parser:
    words = block.command.split()
    name = words[0].lower() if words else ""
    if name == "pwr":
        return parse_pwr_detail if command_arg(block) is not None else parse_pwr_table
    if name == "data" and len(words) >= 2 and words[1].lower() in ("event", "history"):
        return parse_log
    return _BY_COMMAND.get(name, parse_generic)


def parse_block(block: CommandBlock, source: str) -> tuple[list[ConsoleRecord], list[ParseWarning]]:
    """Typed records of one block, and warnings for the lines that could not be read (skipped)."""
    ctx = Ctx(source)
    if block.status in ("unknown_command", "error"):
        return list(parse_error(block, ctx)), ctx.warnings
    if block.status == "incomplete" and not "".join(block.lines).strip():
        return [], []
    parser = _parser_for(block)
    if block.status == "incomplete" and parser is parse_generic:
        # An unknown answer cut short may hide its error line: claim nothing about it.
        return [], []
    try:
        records = list(parser(block, ctx))
    except Exception as exc:  # a parser bug must not take the whole capture down
        p = block.provenance
        ctx.warn(
            p.line, p.raw, f"answer to {block.command!r} could not be read ({type(exc).__name__}: {exc})"
        )
        return [], ctx.warnings
    return records, ctx.warnings
