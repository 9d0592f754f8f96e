"""``read_console``: a whole capture → :class:`ConsoleCapture`; ``read_console_pieces``: the same from
its bytes in pieces; ``looks_like_console``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence._gc import cycle_collection_paused
from pylondiag.evidence.console._line_stamps import LineStamps
from pylondiag.evidence.console._parse import parse_block
from pylondiag.evidence.console._splitter import ConsoleReader
from pylondiag.model.console import (
    CommandBlock,
    ConsoleCapture,
    ConsoleRecord,
    ParseWarning,
    PwrTable,
    TimeRecord,
)

_SNIFF_PROMPT = re.compile(r"(?m)^[^\w\r\n]{0,8}(?:\w{1,32}>)?pylon(?:_debug)?>")
_SNIFF_AT = re.compile(r"(?m)^[ \t]*@[ \t\r]*$")
_SNIFF_ECHO_AT = re.compile(r"(?m)^[A-Za-z]\w{0,31}(?:[ \t][^\r\n]{0,80})?[\r\n]+[ \t]*@[ \t]*[\r\n]")


def looks_like_console(data: bytes) -> bool:
    """True when ``data`` holds what a Pylontech console prints: a ``pylon>`` / ``pylon_debug>``
    prompt, the ``Command completed successfully`` trailer, the paging prompt, a command echo
    followed by ``@``, or the ``@`` … ``$$`` answer framing (other brands' prompts).
    Cheap: looks at the first 64 KiB."""
    text = data[:65536].decode("utf-8", "replace")
    if "Command completed successfully" in text or "Press [Enter] to be continued" in text:
        return True
    if _SNIFF_PROMPT.search(text) or _SNIFF_ECHO_AT.search(text):
        return True
    return "$$" in text and _SNIFF_AT.search(text) is not None


def captured_at(logged: datetime | None, records: list[ConsoleRecord]) -> datetime | None:
    """From the first logger timestamp line, else ``time`` output, else the newest module clock of
    the first ``pwr`` table that has any."""
    if logged is not None:
        return logged
    for r in records:
        if isinstance(r, TimeRecord) and r.time is not None:
            return r.time
    for r in records:
        if isinstance(r, PwrTable):
            clocks = [row.module_time for row in r.each_row() if row.module_time is not None]
            if clocks:
                return max(clocks)
    return None


def _parse_into(
    blocks: list[CommandBlock], source: str, records: list[ConsoleRecord], warnings: list[ParseWarning]
) -> int:
    """Parse ``blocks`` onto ``records`` and ``warnings``; how many blocks there were."""
    for block in blocks:
        recs, warns = parse_block(block, source)
        records.extend(recs)
        warnings.extend(warns)
    return len(blocks)


def end_of_data(final: list[CommandBlock], records_read: int, source: str) -> list[ParseWarning]:
    """The warning for a capture that stops inside its ``final`` block (``[]`` or the one block the
    splitter flushed last), which gave ``records_read`` records: :func:`cut_short`, or nothing."""
    if final and final[0].status == "incomplete" and records_read and final[0].command != "help":
        return [cut_short(final[0], source)]
    return []


def cut_short(block: CommandBlock, source: str) -> ParseWarning:
    """The capture ended inside ``block``'s answer (flushed at the end of the data without its
    ``Command completed`` line): its last rows or counters may be missing. Said once, at the answer's last
    line read. Every real capture in shared/captures ends its answers (``help`` of one excepted: it carries
    no module state and is not told)."""
    line = block.line_numbers[-1] if block.line_numbers else block.first_line
    return ParseWarning(
        source=source,
        line=line,
        raw=block.lines[-1] if block.lines else block.command,
        kind="cut_short",
        message=f"the capture ends inside the answer to '{block.command}' (no 'Command completed' line)",
    )


def read_console(data: bytes, source: str) -> ConsoleCapture:
    """Read a whole capture. Raises :class:`NotAConsoleCapture` when it holds no command answer."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NotAConsoleCapture(f"expected bytes, got {type(data).__name__}", source=source)
    view = memoryview(data).cast("B")
    pieces = (bytes(view[start : start + FEED_BYTES]) for start in range(0, len(view), FEED_BYTES))
    with cycle_collection_paused():
        return _read_whole(pieces, source)


FEED_BYTES = 64 * 1024
"""Bytes fed to the splitter at a time by :func:`read_console`: each block is parsed as soon as it is
complete and then dropped, so the decoded text, the blocks and their line tuples never exist for the
whole capture at once, only the records (a 19 MB capture: 339 → 275 MB peak, ``bench/parse.py``).
Feeding whole or in pieces gives the same blocks (:class:`ConsoleReader`)."""


def read_console_pieces(pieces: Iterable[bytes], source: str) -> ConsoleCapture:
    """Read a whole capture given as consecutive pieces of its bytes (each piece let go once fed: a caller
    that drops its own references never holds the whole file and its records at once). The same capture as
    :func:`read_console` of the joined bytes. Raises :class:`NotAConsoleCapture` when it holds no command
    answer."""
    with cycle_collection_paused():
        return _read_whole(pieces, source)


def _read_whole(pieces: Iterable[bytes], source: str) -> ConsoleCapture:
    stamps = LineStamps()
    pieces = stamps.strip(pieces)
    reader = ConsoleReader(source)
    records: list[ConsoleRecord] = []
    block_warnings: list[ParseWarning] = []
    blocks = 0
    for piece in pieces:
        blocks += _parse_into(reader.feed(piece), source, records, block_warnings)
    last = reader.close()
    blocks += _parse_into(last[:-1], source, records, block_warnings)
    before = len(records)
    blocks += _parse_into(last[-1:], source, records, block_warnings)
    block_warnings += end_of_data(last[-1:], len(records) - before, source)
    if not blocks:
        raise NotAConsoleCapture(
            "no console command answer found (expected a prompt like 'pylon>' with a command echo, "
            "or an echo followed by '@')",
            source=source,
        )
    warnings = [*reader.warnings, *block_warnings]
    warnings.sort(key=lambda w: w.line)
    return ConsoleCapture.model_construct(
        source=source,
        records=tuple(records),
        warnings=tuple(warnings),
        captured_at=captured_at(reader.first_logged_at or stamps.first_time, records),
    )
