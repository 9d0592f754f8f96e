"""RS485 capture files → numbered, decoded exchanges (sans-IO: bytes in, :class:`Rs485Log` out).

Accepted shapes (``docs/bus.md``):

* **frame per line** (``case-format.md`` ``rs485/``): one ``~…`` frame per line, optionally preceded by a
  timestamp (ISO 8601 ``2026-11-18T07:12:40.120``, ``2026-11-18 07:12:40``, or Unix seconds, optionally in
  parentheses) and a direction marker (``>``/``<``, or ``TX``/``RX`` as python-pylontech's and Steppuhn's
  debug output print it). ``#`` lines are comments.
* **raw byte capture**: what a serial sniffer writes (``cat /dev/ttyUSB0 > file``): frames back to back,
  each ended by its own ``\\r``. Since ``\\r`` ends a line in the spec's line count, each frame is one line.

Lines are numbered as the diagnosis spec numbers them. A reply names its command only through the request
before it (same ADR); without one, the reply's shape decides (:func:`~.payloads.infer_command`).
Nothing here raises on bad input: bad checksums, unknown commands and undecodable payloads are
:class:`Rs485Warning` with the line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from pylondiag.evidence._lines import spec_lines
from pylondiag.evidence.rs485.frame import COMMANDS, RTN_CODES, Frame, decode_frame
from pylondiag.evidence.rs485.payloads import (
    ErrorReply,
    Payload,
    PayloadError,
    Request,
    decode_payload,
    infer_command,
)

MAX_WARNINGS: Final = 200
"""Warnings kept per file (the count of all is kept too)."""
MAX_LINE_CHARS: Final = 8192
"""A frame is at most 1 + 16 + 4095 characters; longer lines are cut (and then fail the checksum)."""

_LINE: Final = re.compile(
    r"^\s*(?:\(?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{9,11}(?:\.\d{1,9})?)\)?\s+)?"
    r"(?P<dir>[<>]|TX|RX|tx|rx)?:?\s*(?P<frame>~[^\s]*)\s*$"
)
"""``[timestamp] [direction] ~frame`` (linear: no nested quantifiers)."""


@dataclass(frozen=True, slots=True)
class Rs485Warning:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Rs485Record:
    """One frame of the capture, decoded."""

    line: int
    raw: str
    time: datetime | None
    direction: str | None
    """``>``/``<`` or TX/RX as written, None when the line has no marker."""
    adr: int
    ver: int
    command: int | None
    """The command asked (request) or answered (reply); None for a reply whose command is unknown."""
    content: Request | Payload | ErrorReply
    request_line: int | None = None
    """For a reply: the line of the request it answers, when the capture has it."""
    inferred: bool = False
    """True when a reply's command was recognised from its shape, not from a request."""

    @property
    def is_request(self) -> bool:
        return isinstance(self.content, Request)


@dataclass
class Rs485Log:
    source: str
    records: list[Rs485Record] = field(default_factory=list)
    warnings: list[Rs485Warning] = field(default_factory=list)
    warning_count: int = 0
    lines: int = 0

    def warn(self, line: int, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(Rs485Warning(line, message))

    @property
    def requests(self) -> list[Rs485Record]:
        return [r for r in self.records if r.is_request]

    @property
    def replies(self) -> list[Rs485Record]:
        return [r for r in self.records if not r.is_request]


_SNIFF_FRAME: Final = re.compile(r"~[0-9A-Fa-f]{16,}")


def looks_like_rs485(data: bytes) -> bool:
    """Some line of the first 64 KiB is a ``[timestamp] [direction] ~HEX`` frame line."""
    head = data[:65536].decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    for line in head.split("\n")[:2000]:
        if "~" in line and _SNIFF_FRAME.search(line):
            m = _LINE.match(line[:MAX_LINE_CHARS])
            if m is not None and _SNIFF_FRAME.fullmatch(m.group("frame")):
                return True
    return False


def parse_time(text: str | None) -> datetime | None:
    """A line's timestamp: naive when the text has no offset (the case's timezone applies), UTC for epochs."""
    if not text:
        return None
    try:
        if text[0:4].isdigit() and "-" in text[:5]:
            return datetime.fromisoformat(text.replace(",", ".").replace(" ", "T", 1))
        return datetime.fromtimestamp(float(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _request(frame: Frame) -> Request:
    info = frame.info
    return Request(frame.cid2, info[0] if info else None, bytes(info[1:]))


class _Pairing:
    """The request in flight: the protocol is half-duplex, so a reply answers the request just before it.

    A request that a later request or reply overtook is no longer in flight (it went unanswered).
    """

    def __init__(self) -> None:
        self.in_flight: Rs485Record | None = None

    def ask(self, rec: Rs485Record) -> None:
        self.in_flight = rec

    def answer(self) -> Rs485Record | None:
        rec, self.in_flight = self.in_flight, None
        return rec


def read_rs485(data: bytes, source: str) -> Rs485Log:
    """Read every frame of a capture; never raises on content."""
    log = Rs485Log(source)
    lines = spec_lines(data)
    log.lines = len(lines)
    pairing = _Pairing()
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "~" not in stripped:
            log.warn(number, "not an RS485 frame (no '~')")
            continue
        for chunk in _chunks(stripped[:MAX_LINE_CHARS]):
            _one(log, pairing, number, chunk)
    return log


def _chunks(text: str) -> list[str]:
    """A raw capture may hold noise before a frame or two frames on one line (no ``\\r`` between)."""
    if text.count("~") == 1:
        return [text]
    first = text.index("~")
    head = text[:first]
    parts = text[first:].split("~")[1:]
    return [head + "~" + parts[0], *("~" + p for p in parts[1:])]


def _one(log: Rs485Log, pairing: _Pairing, number: int, text: str) -> None:
    m = _LINE.match(text)
    if m is None:
        frame_text = text[text.index("~") :].split()[0]
        ts = direction = None
        log.warn(number, "text around the frame is neither a timestamp nor a direction; frame read anyway")
    else:
        frame_text, ts, direction = m.group("frame"), m.group("ts"), m.group("dir")
    frame = decode_frame(frame_text)
    if not isinstance(frame, Frame):
        log.warn(number, f"bad frame: {frame.message}")
        return
    time = parse_time(ts)
    if not frame.is_reply:
        if frame.cid2 not in COMMANDS:
            log.warn(number, f"unknown command CID2 0x{frame.cid2:02X}")
        rec = Rs485Record(number, text, time, direction, frame.adr, frame.ver, frame.cid2, _request(frame))
        log.records.append(rec)
        pairing.ask(rec)
        return
    asked = pairing.answer()
    if frame.cid2 != 0:
        err = ErrorReply(frame.cid2, RTN_CODES[frame.cid2])
        cmd = asked.command if asked else None
        log.records.append(
            Rs485Record(
                number, text, time, direction, frame.adr, frame.ver, cmd, err, asked.line if asked else None
            )
        )
        return
    decoded = _payload(asked.command if asked else None, frame)
    if isinstance(decoded, str):
        log.warn(number, decoded)
        return
    command, payload, inferred = decoded
    log.records.append(
        Rs485Record(
            number,
            text,
            time,
            direction,
            frame.adr,
            frame.ver,
            command,
            payload,
            None if inferred or asked is None else asked.line,
            inferred=inferred,
        )
    )


def _payload(asked: int | None, frame: Frame) -> tuple[int, Payload, bool] | str:
    """(command, payload, inferred) of a normal reply, or why it cannot be read.

    The request's command first; when its layout does not fit (a stray reply after an unanswered
    request), the reply's own shape.
    """
    problem = ""
    if asked is not None:
        try:
            return asked, decode_payload(asked, frame.info, frame.ver), False
        except PayloadError as exc:
            problem = f"reply to 0x{asked:02X} ({COMMANDS.get(asked, 'unknown')}): {exc}"
    command = infer_command(frame.info)
    if command is None:
        return problem or f"reply of {len(frame.info)} INFO bytes matches no known command"
    try:
        return command, decode_payload(command, frame.info, frame.ver), True
    except PayloadError as exc:
        return problem or f"reply read as 0x{command:02X}: {exc}"
