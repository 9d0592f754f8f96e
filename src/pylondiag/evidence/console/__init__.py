"""Console transcript reader (sans-IO): bytes in, typed records with provenance out.

* :class:`ConsoleReader` — incremental: ``feed(bytes)`` → completed :class:`CommandBlock` s, ``close()``.
* :func:`parse_block` — one block → records + :class:`ParseWarning` s.
* :func:`read_console` — a whole capture → :class:`ConsoleCapture` (raises :class:`NotAConsoleCapture`);
  :func:`read_console_pieces` — the same from the capture's bytes in consecutive pieces.
* :func:`looks_like_console` — cheap sniff.

Field meanings: ``shared/domain/hardware/console_fields.md``; user docs: ``docs/console-parser.md``.
"""

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence.console._parse import parse_block
from pylondiag.evidence.console._read import (
    FEED_BYTES,
    captured_at,
    looks_like_console,
    read_console,
    read_console_pieces,
)
from pylondiag.evidence.console._splitter import ConsoleReader
from pylondiag.model.console import CommandBlock, ConsoleCapture, ConsoleRecord, ParseWarning

__all__ = [
    "FEED_BYTES",
    "CommandBlock",
    "ConsoleCapture",
    "ConsoleReader",
    "ConsoleRecord",
    "NotAConsoleCapture",
    "ParseWarning",
    "captured_at",
    "looks_like_console",
    "parse_block",
    "read_console",
    "read_console_pieces",
]
