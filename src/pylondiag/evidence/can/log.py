"""CAN capture files → numbered, decoded frames (sans-IO: bytes in, records out).

Accepted shapes (each documented with its source in ``docs/bus.md``):

* ``candump_log`` — ``candump -l`` / ``candump -L`` (can-utils ``lib.c`` ``snprintf_canframe``/log format):
  ``(1700000000.123456) can0 351#1402C012C012C201``;
* ``candump`` — what ``candump`` prints on a terminal, with or without ``-t a|d|z|A`` timestamps:
  ``  can0  351   [8]  14 02 C0 12 C0 12 C2 01`` / `` (1700000000.123456)  can0  351   [8]  14 …``;
* ``asc`` — Vector ASC, read by python-can's own :class:`can.ASCReader`;
* ``blf`` — Vector BLF (binary), read by python-can's own :class:`can.BLFReader` (no lines: frames are
  cited by the file and their number in it).

:func:`iter_can` yields one :class:`CanRecord` per Pylontech frame and never raises on content;
unknown identifiers, short DLCs and unreadable lines are :class:`CanWarning` with the line number.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from pylondiag.evidence.can.codec import CanDecoded, CanIssue, decode

MAX_WARNINGS: Final = 200
BLF_MAGIC: Final = b"LOGG"
BLF_MAX_INFLATED: Final = 64 * 1024 * 1024
"""Bytes: the most a BLF's zlib containers may inflate to in all (about 1.3 million CAN frames at 48 bytes
each, a day of a Pylontech stack's traffic twice over). A BLF is compressed inside the file, so its size
on disk says nothing of what it holds: 0.5 MB of deflated zeros is 512 MiB."""
BLF_MAX_CONTAINER: Final = 8 * 1024 * 1024
"""Bytes: the most one container may inflate to (python-can and Vector's writers use 128 KiB); python-can's
reader inflates each container whole, so this bounds its memory."""
_BLF_OBJECT: Final = struct.Struct("<4sHHLL")
"""Every BLF object's base header: signature ``LOBJ``, header size, header version, object size, type
(python-can ``can/io/blf.py`` ``OBJ_HEADER_BASE_STRUCT``)."""
_BLF_CONTAINER: Final = struct.Struct("<H6xL4x")
"""A log container's own header: compression method (2 = zlib), uncompressed size (as declared)."""
_BLF_LOG_CONTAINER: Final = 10
_BLF_ZLIB: Final = 2

_LOG_LINE: Final = re.compile(
    r"^\s*\((?P<ts>\d{1,12}\.\d{1,9})\)\s+(?P<ch>\S{1,32})\s+(?P<id>[0-9A-Fa-f]{1,8})#"
    r"(?P<fd>#[0-9A-Fa-f])?(?P<data>[0-9A-Fa-f]{0,128}|R\d{0,2})(?:\s+[TR])?\s*$"
)
_CONSOLE_LINE: Final = re.compile(
    r"^\s*(?:\((?P<ts>[0-9 :.-]{1,40})\)\s+)?(?P<ch>\S{1,32})\s+(?P<id>[0-9A-Fa-f]{3,8})\s+"
    r"\[(?P<dlc>\d{1,2})\](?P<data>(?:\s+[0-9A-Fa-f]{2}){0,64})(?P<rest>.*)$"
)
_ASC_HEAD: Final = re.compile(r"(?m)^[ \t]*+(?:date\s|base\s+(?:hex|dec)\b)")


@dataclass(frozen=True, slots=True)
class CanWarning:
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CanRecord:
    """One decoded Pylontech frame."""

    line: int | None
    """1-based line in the file (spec numbering); None for BLF."""
    index: int
    """1-based frame number in the file (all frames, Pylontech or not)."""
    raw: str
    timestamp: float | None
    """Seconds: Unix time for ``candump -l``/BLF/absolute console stamps; relative for ASC and ``-t d|z``."""
    absolute: bool
    channel: str | None
    decoded: CanDecoded

    @property
    def arbitration_id(self) -> int:
        return self.decoded.arbitration_id

    @property
    def time(self) -> datetime | None:
        if self.timestamp is None or not self.absolute:
            return None
        try:
            return datetime.fromtimestamp(self.timestamp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None


@dataclass
class CanLog:
    source: str
    shape: str = "unknown"
    records: list[CanRecord] = field(default_factory=list)
    warnings: list[CanWarning] = field(default_factory=list)
    warning_count: int = 0
    frames: int = 0
    """All frames read (Pylontech or not)."""

    def warn(self, line: int | None, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(CanWarning(line, message))


def detect_shape(data: bytes) -> str | None:
    """``blf``, ``asc``, ``candump_log``, ``candump``, or None."""
    if data[:4] == BLF_MAGIC:
        return "blf"
    head = data[:65536].decode("utf-8", "replace")
    lines = head.replace("\r", "\n").split("\n")[:400]
    if any(_LOG_LINE.match(ln) for ln in lines):
        return "candump_log"
    if any(_CONSOLE_LINE.match(ln) for ln in lines if ln.strip()):
        return "candump"
    if _ASC_HEAD.search(head):
        return "asc"
    return None


def looks_like_can(data: bytes) -> bool:
    return detect_shape(data) is not None


def read_can(data: bytes, source: str) -> CanLog:
    """Every Pylontech frame of the file, in order, into ``log.records``."""
    log = CanLog(source)
    log.records.extend(iter_can(data, log))
    return log


def iter_can(data: bytes, log: CanLog) -> Iterator[CanRecord]:
    """Stream the frames (a day of traffic is half a million): warnings go into ``log``."""
    shape = detect_shape(data)
    log.shape = shape or "unknown"
    if shape == "blf":
        yield from _python_can(data, log, binary=True)
    elif shape == "asc":
        yield from _python_can(data, log, binary=False)
    elif shape is not None:
        yield from _candump(data, log, shape)


def _emit(
    log: CanLog,
    line: int | None,
    raw: str,
    ts: float | None,
    absolute: bool,
    channel: str | None,
    arb: int,
    payload: bytes,
    extended: bool,
) -> CanRecord | None:
    log.frames += 1
    got = decode(arb, payload, extended=extended)
    if isinstance(got, CanIssue):
        log.warn(line, got.message)
        return None
    return CanRecord(line, log.frames, raw, ts, absolute, channel, got)


def _candump(data: bytes, log: CanLog, shape: str) -> Iterator[CanRecord]:
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    pattern = _LOG_LINE if shape == "candump_log" else _CONSOLE_LINE
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = pattern.match(line[:1024])
        if m is None:
            log.warn(number, "not a candump line")
            continue
        ident = m.group("id")
        extended = len(ident) > 3
        try:
            arb = int(ident, 16)
            if shape == "candump_log":
                raw = m.group("data")
                if raw.startswith("R"):
                    log.frames += 1
                    log.warn(number, f"remote request for 0x{arb:X} carries no data")
                    continue
                payload = bytes.fromhex(raw)
                ts: float | None = float(m.group("ts"))
                absolute = True
            else:
                payload = bytes.fromhex(m.group("data"))
                ts, absolute = _console_time(m.group("ts"))
                if len(payload) != int(m.group("dlc")) and "remote" not in m.group("rest"):
                    log.warn(number, f"[{m.group('dlc')}] but {len(payload)} data bytes; read as given")
        except ValueError:
            log.warn(number, "odd number of hex digits in the data")
            continue
        rec = _emit(log, number, line.strip(), ts, absolute, m.group("ch"), arb, payload, extended)
        if rec is not None:
            yield rec


def _console_time(text: str | None) -> tuple[float | None, bool]:
    """``-t a`` (Unix seconds) → absolute; ``-t A`` (date time) → absolute (naive read as UTC); ``d``/``z``
    (seconds since the previous/first frame, small numbers) → relative."""
    if not text:
        return None, False
    t = text.strip()
    try:
        if "-" in t[:8] and " " in t:
            return datetime.fromisoformat(t).replace(tzinfo=UTC).timestamp(), True
        v = float(t)
    except ValueError:
        return None, False
    return v, v > 1e8


class _CountingText(io.StringIO):
    """A text file that counts the lines python-can's ASC reader has taken (spec numbering)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, newline=None)
        self.line = 0

    def __next__(self) -> str:  # type: ignore[override]
        out = super().__next__()
        self.line += 1
        return out


def blf_refusal(data: bytes) -> str | None:
    """Why a BLF must not be handed to python-can's reader, or None: its containers are inflated here
    first, a chunk at a time and thrown away, with a cap on the bytes actually produced — whatever the
    containers declare (:data:`BLF_MAX_CONTAINER` each, :data:`BLF_MAX_INFLATED` in all)."""
    if len(data) < 8:
        return None
    pos = struct.unpack_from("<L", data, 4)[0]
    total = 0
    while pos > 0 and pos + _BLF_OBJECT.size <= len(data):
        signature, _, _, size, kind = _BLF_OBJECT.unpack_from(data, pos)
        if signature != b"LOBJ" or size < _BLF_OBJECT.size:
            return None  # python-can stops here with its own message
        body = data[pos + _BLF_OBJECT.size : pos + size]
        if kind == _BLF_LOG_CONTAINER and len(body) >= _BLF_CONTAINER.size:
            method = _BLF_CONTAINER.unpack_from(body)[0]
            packed = body[_BLF_CONTAINER.size :]
            produced = _inflated(packed, BLF_MAX_CONTAINER + 1) if method == _BLF_ZLIB else len(packed)
            if produced > BLF_MAX_CONTAINER:
                return f"a BLF container inflates to more than {BLF_MAX_CONTAINER // 2**20} MiB; not read"
            total += produced
            if total > BLF_MAX_INFLATED:
                return f"the BLF inflates to more than {BLF_MAX_INFLATED // 2**20} MiB of frames; not read"
        pos += size + size % 4
    return None


def _inflated(packed: bytes, cap: int) -> int:
    """How many bytes ``packed`` (zlib) inflates to, counting at most ``cap`` (64 KiB at a time)."""
    inflater = zlib.decompressobj()
    produced = 0
    pending = packed
    try:
        while pending and produced < cap:
            produced += len(inflater.decompress(pending, 65536))
            pending = inflater.unconsumed_tail
    except zlib.error:
        return produced  # python-can meets the same damage and says so
    return produced


def _python_can(data: bytes, log: CanLog, *, binary: bool) -> Iterator[CanRecord]:
    import can  # python-can's own readers; imported here so the evidence layer stays light to import

    refused = blf_refusal(data) if binary else None
    if refused is not None:
        log.warn(None, refused)
        return

    counting: _CountingText | None = None
    asc_lines: list[str] = []
    try:
        if binary:
            reader: can.io.generic.MessageReader = can.BLFReader(io.BytesIO(data))
        else:
            text = data.decode("utf-8", "replace")
            counting = _CountingText(text)
            asc_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            reader = can.ASCReader(counting, relative_timestamp=True)
        for msg in reader:
            if msg.is_error_frame or msg.is_remote_frame:
                log.frames += 1
                continue
            line = counting.line if counting is not None else None
            raw = asc_lines[line - 1].strip() if line and line <= len(asc_lines) else _describe(msg)
            rec = _emit(
                log,
                line,
                raw,
                msg.timestamp,
                binary,
                None if msg.channel is None else str(msg.channel),
                msg.arbitration_id,
                bytes(msg.data),
                msg.is_extended_id,
            )
            if rec is not None:
                yield rec
    except Exception as exc:  # a truncated or foreign file: keep what was read, say why it stopped
        log.warn(counting.line if counting is not None else None, f"python-can stopped reading: {exc}")


def _describe(msg: object) -> str:
    arb = getattr(msg, "arbitration_id", 0)
    data = bytes(getattr(msg, "data", b""))
    return f"{arb:03X} [{len(data)}] {data.hex(' ').upper()}"
