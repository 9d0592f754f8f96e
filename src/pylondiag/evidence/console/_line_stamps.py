"""Timestamps a terminal logger writes at the start of every line, taken off before a capture is read.

Tera Term's log option "Timestamp" adds one "on top of each log line" (Tera Term manual, File > Log:
local time, UTC or elapsed time, in brackets: ``[2026-11-20 09:12:40.123] `` or, in older versions,
``[Fri Nov 20 09:12:40.123 2026] ``); minicom and other serial monitors write a bracketed time too, and
the Arduino IDE's serial monitor writes ``09:12:40.123 -> ``. The console's own text follows the stamp
unchanged, so taking the stamp off keeps every line where it was (line numbers as the diagnosis spec
counts them) and every quote a part of its own line (the spec's validator looks for the quote *in* the
line).

A capture is taken for stamped only when most of its first lines carry a stamp of one shape: a table
row that happens to begin with a bracket is never touched in an ordinary capture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain
from typing import Final

from pylondiag.evidence.console._splitter import parse_logger_timestamp

_STAMP: Final = re.compile(
    rb"(?m)^(?:\[([^\]\r\n]{0,40}?\d\d:\d\d:\d\d[^\]\r\n]{0,24})\] ?|(\d\d:\d\d:\d\d\.\d{3}) -> )"
)
"""One stamp at a line start. Both branches are bounded and stop at the line's end: linear time."""
SAMPLE_BYTES: Final = 65_536
"""Bytes at the head of the capture in which the stamped share of lines is measured."""
MIN_LINES: Final = 3
MIN_SHARE: Final = 0.6
"""Share of the non-blank lines of the sample that must carry a stamp (blank lines and a logger's
header line often carry none)."""
_TIME_FORMATS: Final = ("%a %b %d %H:%M:%S.%f %Y", "%a %b %d %H:%M:%S %Y")


class LineStamps:
    """Takes per-line logger stamps off a capture given in pieces (as the capture is read: never whole).

    The first :data:`SAMPLE_BYTES` decide; when they are stamped, every complete line of every piece
    loses its stamp (a line cut between two pieces is carried over to the next, so a stamp is never
    split). :attr:`first_time` is the first stamp's time when it names a date (an elapsed time or a bare
    clock does not)."""

    def __init__(self) -> None:
        self.first_time: datetime | None = None
        self.stamped = False

    def strip(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """``pieces`` again, without the stamps when the capture is stamped."""
        it = iter(pieces)
        head = b""
        for piece in it:
            head += piece
            if len(head) >= SAMPLE_BYTES:
                break
        self._decide(head[:SAMPLE_BYTES])
        if not self.stamped:
            if head:
                yield head
            yield from it
            return
        carry = b""
        for piece in chain((head,), it):
            data = carry + piece
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield _STAMP.sub(b"", data[:cut])
        if carry:
            yield _STAMP.sub(b"", carry)

    def _decide(self, head: bytes) -> None:
        lines = [line for line in head.split(b"\n") if line.strip()]
        if len(lines) < MIN_LINES:
            return
        stamped = sum(1 for line in lines if _STAMP.match(line))
        if stamped < MIN_SHARE * len(lines):
            return
        self.stamped = True
        first = _STAMP.search(head)
        if first is not None and first.group(1):
            self.first_time = _stamp_time(first.group(1))


def strip_line_stamps(data: bytes) -> tuple[bytes, datetime | None]:
    """``data`` without its per-line logger stamps (``data`` itself when it has none) and the first
    stamp's dated time: :class:`LineStamps` on the whole of it."""
    stamps = LineStamps()
    out = b"".join(stamps.strip((data,)))
    return (out if stamps.stamped else data), stamps.first_time


def _stamp_time(text: bytes) -> datetime | None:
    """The time of a bracketed stamp: ISO (``2026-11-20 09:12:40.123``) or C ``ctime`` style with
    milliseconds (``Fri Nov 20 09:12:40.123 2026``); ``None`` for anything else."""
    s = text.decode("ascii", errors="replace").strip()
    iso = parse_logger_timestamp(s)
    if iso is not None:
        return iso[0]
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None
