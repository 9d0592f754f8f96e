"""``read_console``: a whole capture → :class:`ConsoleCapture`; ``looks_like_console``."""

from __future__ import annotations

import re
from datetime import datetime

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence.console._parse import parse_block
from pylondiag.evidence.console._splitter import ConsoleReader
from pylondiag.model.console import ConsoleCapture, ConsoleRecord, ParseWarning, PwrTable, TimeRecord

_SNIFF = re.compile(
    r"(?m)^[^\w\r\n]*(?:\w+>)*[A-Za-z]\w{0,31}>|^\s*Command completed successfully\s*$|^\s*@\s*$"
)


def looks_like_console(data: bytes) -> bool:
    """True when ``data`` holds something a console session prints: a prompt, an ``@`` answer mark
    or ``Command completed successfully``. Cheap: looks at the first 64 KiB."""
    text = data[:65536].decode("utf-8", "replace")
    return _SNIFF.search(text) is not None and ("@" in text or "Command completed" in text or ">" in text)


def captured_at(logged: list[datetime], records: list[ConsoleRecord]) -> datetime | None:
    """From logger timestamp lines, else ``time`` output, else the newest module clock of a ``pwr``."""
    if logged:
        return logged[0]
    for r in records:
        if isinstance(r, TimeRecord) and r.time is not None:
            return r.time
    for r in records:
        if isinstance(r, PwrTable):
            clocks = [row.module_time for row in r.rows if row.module_time is not None]
            if clocks:
                return max(clocks)
    return None


def read_console(data: bytes, source: str) -> ConsoleCapture:
    """Read a whole capture. Raises :class:`NotAConsoleCapture` when it holds no command answer."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NotAConsoleCapture(f"expected bytes, got {type(data).__name__}", source=source)
    reader = ConsoleReader(source)
    blocks = reader.feed(bytes(data))
    blocks += reader.close()
    if not blocks:
        raise NotAConsoleCapture(
            "no console command answer found (expected a prompt like 'pylon>' with a command echo, "
            "or an echo followed by '@')",
            source=source,
        )
    records: list[ConsoleRecord] = []
    warnings: list[ParseWarning] = list(reader.warnings)
    for block in blocks:
        recs, warns = parse_block(block, source)
        records.extend(recs)
        warnings.extend(warns)
    warnings.sort(key=lambda w: w.line)
    return ConsoleCapture.model_construct(
        source=source,
        records=tuple(records),
        warnings=tuple(warnings),
        captured_at=captured_at(reader.logged_at, records),
    )
