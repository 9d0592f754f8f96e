"""Reading the evidence files of a case: walk the directory, recognise each file by its content, read
it with its reader, and collect what was read (:class:`Loaded`) — or a gap saying why not.

One handler per kind of file (:data:`_HANDLERS`); every message is in :mod:`pylondiag.casedir.gaps`.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from pylondiag.casedir import gaps
from pylondiag.casedir.detect import FOLDER_KIND, is_binary, sniff, utf16_console
from pylondiag.errors import EvidenceError
from pylondiag.evidence.console import FEED_BYTES, read_console_pieces
from pylondiag.model.bus import BusFacts
from pylondiag.model.console import ConsoleCapture, ParseWarning
from pylondiag.model.event import BatteryEvent
from pylondiag.model.stack import EvidenceFile, EvidenceGap, EvidenceKind

if TYPE_CHECKING:
    from pylondiag.evidence.inverter_log.columns import LogColumns

MAX_FILE_BYTES: Final = 40 * 1024 * 1024
"""Bytes: an evidence file larger than this is reported, not read. Set from memory: an inverter log
read into columns peaks at about 100 MB + 7 MB per MiB of log for the whole diagnosis (``bench/year_case.py``:
a year at one row a minute, 525,600 rows with temperature, 22.5 MiB → ~255 MB peak RSS), so 40 MiB —
a year at one row a minute with rows up to 80 bytes — stays under ~400 MB; larger would exhaust a small
machine's memory. Every accepted shape is read as columns and bears it (``bench/year_case.py --shape``,
just under 40 MiB: 200–377 MB); a log that must be read row by row has its own, lower limit
(``evidence/inverter_log/columns.ROW_WISE_MAX_BYTES``)."""
MAX_CONSOLE_BYTES: Final = 20 * 1024 * 1024
"""Bytes: a console capture larger than this is reported, not read. A capture is parsed whole (records
with provenance; table rows kept as their lines; its bytes fed in pieces and let go: ~2.2 MB of memory per
MB for the whole case, a 20 MB file 107 MB peak RSS, ``bench/parse.py``); a real session is kilobytes."""
MAX_FILES: Final = 5000
"""Files read per case; the rest are reported in one gap line."""
METADATA_FILES: Final = frozenset(
    {"expected.json", "label.json", "source.yaml", "readme.md", "readme.txt", "readme"}
)
"""Files at the case root that describe the case (examples, notes), not evidence."""
_KINDS: Final[tuple[EvidenceKind, ...]] = ("console", "inverter_log", "can", "rs485", "photo")


@dataclass
class Loaded:
    """Everything read from the case's evidence files, in reading order."""

    files: list[EvidenceFile] = field(default_factory=list)
    gaps: list[EvidenceGap] = field(default_factory=list)
    captures: list[ConsoleCapture] = field(default_factory=list)
    logs: list[LogColumns] = field(default_factory=list)
    """Every inverter event log, as columns (events and temperature readings)."""
    notes: dict[str, int] = field(default_factory=dict)
    """Capture source → the position its ``#`` header comment names."""
    bus: list[BusFacts] = field(default_factory=list)
    """What each CAN / RS485 capture says beyond per-module readings (``casedir/bus.py``)."""
    bus_events: list[BatteryEvent] = field(default_factory=list)
    """BMS state events of RS485 modules polled one at a time (not part of a ``pwr`` snapshot)."""

    def unused(self, rel: str, kind: str, text: str) -> None:
        """``rel`` could not be used: listed as unused with ``text``, which is also a gap."""
        k: EvidenceKind = next((known for known in _KINDS if kind == known), "unknown")
        self.files.append(EvidenceFile(source=rel, kind=k, used=False, note=text))
        self.gaps.append(EvidenceGap(source=rel, text=text))

    def used(self, rel: str, kind: EvidenceKind, note: str | None) -> None:
        """``rel`` was read; a misplaced file (``note``) is also a gap."""
        self.files.append(EvidenceFile(source=rel, kind=kind, used=True, note=note))
        if note is not None:
            self.gaps.append(EvidenceGap(source=rel, text=gaps.misplaced(rel, note)))


@dataclass(frozen=True)
class EvidenceBytes:
    """One evidence file's content and where it was found."""

    rel: str
    """Path relative to the case directory, ``/`` separators."""
    data: bytes
    kind: EvidenceKind
    """What its content is (:func:`~pylondiag.casedir.detect.sniff`)."""
    note: str | None
    """Set when the folder says otherwise (a misplaced file)."""


@dataclass(frozen=True)
class ConsoleBytes:
    """A console capture's bytes as the pieces the parser is fed (:data:`FEED_BYTES`, 64 KiB, each), taken
    one at a time and let go once fed: the whole file's bytes and its records never exist at once (issue 17,
    memory: a 20 MB capture's bytes are 20 MB of the loader's peak otherwise)."""

    rel: str
    """Path relative to the case directory, ``/`` separators."""
    size: int
    """Bytes in the whole file."""
    head: bytes
    """The file's first :data:`HEAD_BYTES` bytes (where a ``#`` comment may name the module's position)."""
    pieces: deque[bytes]
    """The bytes in order; empty when the file is over :data:`MAX_CONSOLE_BYTES` (it is not read)."""
    note: str | None
    """Set when the folder says otherwise (a misplaced file)."""

    @classmethod
    def split(cls, rel: str, data: bytes, note: str | None) -> ConsoleBytes:
        """``data`` in pieces (a copy: the caller drops ``data`` before the pieces are read)."""
        pieces: deque[bytes] = deque()
        if len(data) <= MAX_CONSOLE_BYTES:
            pieces.extend(data[i : i + FEED_BYTES] for i in range(0, len(data), FEED_BYTES))
        return cls(rel, len(data), data[:HEAD_BYTES], pieces, note)

    def taken(self) -> Iterator[bytes]:
        """The pieces in order, each removed as it is given."""
        while self.pieces:
            yield self.pieces.popleft()


@dataclass(frozen=True)
class Site:
    """What reading a file needs to know about the site: its zone and the inverter's brand."""

    tz: ZoneInfo
    brand: str | None


def walk(root: Path, loaded: Loaded) -> list[tuple[str, Path]]:
    """(relative path, full path) of every evidence file under ``root``, sorted, at most :data:`MAX_FILES`
    (hidden files, ``case.yaml`` and the root's metadata files left out)."""
    out: list[tuple[str, Path]] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if rel == "case.yaml" or ("/" not in rel and name.lower() in METADATA_FILES):
                continue
            if len(out) >= MAX_FILES:
                skipped += 1
                continue
            out.append((rel, full))
    if skipped:
        loaded.gaps.append(EvidenceGap(text=gaps.too_many_files(skipped, MAX_FILES)))
    return out


def read_file(full: Path, rel: str, loaded: Loaded, site: Site) -> None:
    """Read one evidence file into ``loaded`` (or record why it could not be used)."""
    data = _bytes_of(full, rel, loaded)
    if data is None:
        return
    folder = rel.split("/", 1)[0] if "/" in rel else ""
    hint = FOLDER_KIND.get(folder)
    kind = sniff(data, rel, hint)
    misplaced = hint is not None and hint != kind and kind != "unknown"
    note = gaps.misplaced_note(folder, kind) if misplaced else None
    if kind == "console":
        capture = ConsoleBytes.split(rel, data, note)
        del data  # the pieces are all that is left of the bytes: each goes once parsed
        _console(capture, loaded, site)
        return
    _HANDLERS[kind](EvidenceBytes(rel, data, kind, note), loaded, site)


def _bytes_of(full: Path, rel: str, loaded: Loaded) -> bytes | None:
    """The file's bytes, or None after recording why not (too large, unreadable, empty)."""
    try:
        size = full.stat().st_size
        if size > MAX_FILE_BYTES:
            loaded.unused(rel, "unknown", gaps.too_large(rel, size, MAX_FILE_BYTES))
            return None
        data = full.read_bytes()
    except OSError as exc:
        loaded.unused(rel, "unknown", gaps.unreadable(rel, str(exc.strerror or exc)))
        return None
    if not data.strip():
        loaded.unused(rel, "unknown", gaps.empty(rel))
        return None
    return data


def _photo(f: EvidenceBytes, loaded: Loaded, site: Site) -> None:
    loaded.files.append(
        EvidenceFile(source=f.rel, kind="photo", used=False, note="kept for the report, not analysed")
    )


def _console(f: ConsoleBytes, loaded: Loaded, site: Site) -> None:
    if f.size > MAX_CONSOLE_BYTES:
        loaded.unused(f.rel, "console", gaps.too_large(f.rel, f.size, MAX_CONSOLE_BYTES, "a console capture"))
        return
    try:
        cap = read_console_pieces(f.taken(), f.rel)
    except EvidenceError as exc:
        loaded.unused(f.rel, "console", gaps.console_unreadable(f.rel, exc.message))
        return
    except Exception as exc:
        _internal(loaded, f.rel, "console", exc)
        return
    if not cap.records:
        loaded.unused(f.rel, "console", gaps.console_without_records(f.rel))
        return
    noted = noted_position(f.head)
    if noted is not None:
        loaded.notes[f.rel] = noted
    if cap.captured_at is not None and cap.captured_at.tzinfo is None:
        cap = cap.model_copy(update={"captured_at": cap.captured_at.replace(tzinfo=site.tz)})
    loaded.captures.append(cap)
    loaded.used(f.rel, "console", f.note)
    skipped = [w for w in cap.warnings if w.kind == "skipped"]
    if skipped:
        w = skipped[0]
        text = gaps.console_lines_skipped(f.rel, len(skipped), w.line, w.message)
        loaded.gaps.append(EvidenceGap(source=f.rel, text=text))
    cut = [w for w in cap.warnings if w.kind == "cut_short"]
    if cut:
        loaded.gaps.append(
            EvidenceGap(source=f.rel, text=gaps.console_cut_short(f.rel, cut[0].line, cut[0].message))
        )


def _inverter_log(f: EvidenceBytes, loaded: Loaded, site: Site) -> None:
    from pylondiag.evidence.inverter_log.columns import read_log_columns  # numpy: only with a log

    try:
        log = read_log_columns(f.data, f.rel, brand=site.brand, timezone=site.tz.key)
    except EvidenceError as exc:
        loaded.unused(f.rel, "inverter_log", gaps.log_unreadable(f.rel, exc.message))
        return
    except Exception as exc:
        _internal(loaded, f.rel, "inverter_log", exc)
        return
    warnings = _not_repeated_headers(f.data, log.warnings)
    if len(log.events) == 0 and len(log.readings) == 0:
        w = warnings[0] if warnings else None
        why = (
            gaps.rows_skipped(f.rel, len(warnings), w.line, w.message) if w else gaps.log_without_rows(f.rel)
        )
        loaded.unused(f.rel, "inverter_log", why)
        return
    loaded.logs.append(log)
    loaded.used(f.rel, "inverter_log", f.note)
    if warnings:
        w = warnings[0]
        text = gaps.rows_skipped(f.rel, len(warnings), w.line, w.message)
        loaded.gaps.append(EvidenceGap(source=f.rel, text=text))


def _not_repeated_headers(data: bytes, warnings: tuple[ParseWarning, ...]) -> list[ParseWarning]:
    """``warnings`` without the lines that repeat the file's header line (two exports pasted into one file
    repeat it mid-file: not a row that could not be read). Lines counted as ``bytes.splitlines`` does (``\r``,
    ``\n``, ``\r\n``: the spec's line count); the file is split only when a row was skipped."""
    if not warnings:
        return []
    lines = data.splitlines()
    head = lines[0].removeprefix(b"\xef\xbb\xbf").strip() if lines else b""
    return [
        w for w in warnings if not (head and 1 < w.line <= len(lines) and lines[w.line - 1].strip() == head)
    ]


def _bus(f: EvidenceBytes, loaded: Loaded, site: Site) -> None:
    """CAN / RS485 frames: bus facts, and RS485 module readings as console records (``casedir/bus.py``)."""
    from pylondiag.casedir import bus  # cantools, construct and python-can: only for a case with bus captures

    try:
        if f.kind == "can":
            facts, warns = bus.read_can_case(f.data, f.rel)
        else:
            facts, caps, events, warns = bus.read_rs485_case(f.data, f.rel, site.tz)
            loaded.captures.extend(caps)
            loaded.bus_events.extend(events)
    except Exception as exc:
        _internal(loaded, f.rel, f.kind, exc)
        return
    loaded.bus.append(facts)
    link = facts.links[0]
    if not link.battery_frames:
        first = warns[0] if warns else None
        loaded.unused(f.rel, f.kind, gaps.bus_without_battery(f.rel, f.kind, first, link.shape))
        return
    loaded.used(f.rel, f.kind, f.note)
    if warns:
        loaded.gaps.append(
            EvidenceGap(source=f.rel, text=gaps.frames_skipped(f.rel, link.warnings, warns[0]))
        )


def _unknown(f: EvidenceBytes, loaded: Loaded, site: Site) -> None:
    if utf16_console(f.data):
        loaded.unused(f.rel, "unknown", gaps.console_utf16(f.rel))
        return
    binary = b"\x00" in f.data[:8192] or (f.kind == "unknown" and is_binary(f.data))
    loaded.unused(f.rel, "unknown", gaps.not_recognised(f.rel, binary))


_HANDLERS: Final[dict[EvidenceKind, Callable[[EvidenceBytes, Loaded, Site], None]]] = {
    "photo": _photo,
    "inverter_log": _inverter_log,
    "can": _bus,
    "rs485": _bus,
    "unknown": _unknown,
}
"""One reader per kind of evidence file but console captures (:func:`_console`, fed in pieces)."""


def _internal(loaded: Loaded, rel: str, kind: str, exc: Exception) -> None:
    """A reader bug on this file: report it as a gap and go on (strict mode re-raises, for tests).

    Running out of memory is not a reader bug and nothing more should be built after it: a
    ``MemoryError`` goes up to the caller (the service's limited child exits with its memory status
    at once; building the gap's objects with the address space exhausted once blocked inside pydantic-core
    until the wall-clock limit killed the child)."""
    if isinstance(exc, MemoryError) or os.environ.get("PYLONDIAG_STRICT_RULES") == "1":
        raise exc
    loaded.unused(rel, kind, gaps.internal_error(rel, exc))


_NOTE_POSITION: Final = re.compile(
    rb"^[ \t]*+#[^\r\n]*?\bposition[ \t]++(\d{1,3})\b", re.IGNORECASE | re.MULTILINE
)
r"""Blanks, not ``\s``: ``^\s*`` would run on over every following empty line from every line start."""
_PROMPT: Final = re.compile(rb"\w+>")


HEAD_BYTES: Final = 2048
"""Bytes at the start of a console capture in which a ``#`` comment naming the position is looked for."""


def noted_position(data: bytes) -> int | None:
    """The position named in a ``#`` comment before the first prompt (``# ... module at position 3``)."""
    head = data[:HEAD_BYTES]
    first_prompt = _PROMPT.search(head)
    head = head[: first_prompt.start()] if first_prompt else head
    m = _NOTE_POSITION.search(head)
    return int(m.group(1)) if m else None
