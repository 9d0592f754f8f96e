"""Split a console session into command blocks, incrementally (sans-IO).

A console answer looks like ``pylon>pwr`` (prompt + echo), ``@``, the payload,
``Command completed successfully``, ``$$``, the next prompt. Real captures vary: the prompt may be
missing (loggers that only keep the echo), preceded by noise bytes or a repeated prompt
(``pylon>▒pylon>bat``), a logger may write a timestamp line before it, ``#`` comment lines may
precede or separate sessions, long answers page with ``Press [Enter] to be continued...``, and
line ends mix ``\\n``, ``\\r\\n``, ``\\r\\r\\n`` and ``\\n\\r``. Framing and line-end facts:
``shared/domain/hardware/console_fields.md`` ("Framing").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal

from pylondiag.evidence.console._build import make_block_fast, make_provenance_fast
from pylondiag.evidence.console._lines import LineSplitter
from pylondiag.model.console import CommandBlock, ParseWarning

KNOWN_PROMPTS = frozenset({"pylon>", "pylon_debug>"})
COMPLETED = "Command completed successfully"
COMPLETED_LINES: Final = frozenset((COMPLETED, COMPLETED + "!"))
"""The trailer as consoles print it: US3000D firmware B1.4.0.0 ends ``stat`` with a ``!`` (mman/
node-red-contrib-pylontech-health test/fixtures/stat-us3000d.txt, a real capture); read as payload, it was
an unreadable stat line."""
END_MARK = "$$"
ANSWER_MARK = "@"
PAGING = "Press [Enter] to be continued"

# Prompt, optionally after noise (non-word symbols, U+FFFD, or earlier prompts): the last prompt wins.
_PROMPT = re.compile(r"^(?:[^\w\s]|\w+>)*?([A-Za-z]\w{0,31}>)([^>]*)$")
_MAX_PROMPT_END: Final = 256
"""A prompt's ``>`` lies within this many characters of the line start (noise and earlier prompts
included). The lazy prefix above backtracks quadratically over a long run of ``a>a>...``; bounding where
the last ``>`` may be bounds that work per line."""


_ERASE: Final = "\x08\x7f"


def typed(text: str) -> str:
    """A command line as the console took it: each backspace (BS, or DEL from terminals that send it)
    takes back the character before it. The console echoes a correction as BS, space, BS, so a terminal
    log of ``bat 4`` corrected to ``bat 3`` holds ``bat 4\b \b3``; read literally it named no module and the
    table was taken for the module the cable is plugged into. The echo's raw text is kept as logged
    (quotes stay a part of their line)."""
    if "\x08" not in text and "\x7f" not in text:
        return text
    kept: list[str] = []
    for ch in text:
        if ch in _ERASE:
            if kept:
                kept.pop()
        else:
            kept.append(ch)
    return "".join(kept)


def _prompt_match(line: str) -> re.Match[str] | None:
    """:data:`_PROMPT` on ``line`` when its last ``>`` is near enough the start to be a prompt's."""
    if line.rfind(">") > _MAX_PROMPT_END:
        return None
    return _PROMPT.match(line)


_ECHO = re.compile(r"^[A-Za-z]\w{0,31}(?: [^\r\n]{0,80})?$")
# Logger timestamps written before a prompt: "13.07.26 19:59:48" (GPollakDiener), ISO forms.
_TS_DMY = re.compile(r"^(\d{2})\.(\d{2})\.(\d{2}|\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\s+(.*))?$")
_TS_ISO = re.compile(r"^\[?(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?\]?(?:\s+(.*))?$")
Status = Literal["ok", "unknown_command", "error", "incomplete"]
_ERROR_PREFIXES: tuple[tuple[str, Status], ...] = (
    ("Unknown command", "unknown_command"),
    ("Invalid command", "error"),
    ("Login fail", "error"),
    ("Password error", "error"),
    ("Permission denied", "error"),
    ("Parameter error", "error"),
)


ERROR_PREFIXES = tuple(prefix for prefix, _status in _ERROR_PREFIXES)
# Lines the splitter must look at one by one: after leading blanks, a symbol (markers "@" "$$", noise
# bytes, dashes, a stray ">"), a word directly followed by ">" (a prompt), or a trailer, paging or
# error phrase. Every other line inside an answer is plain payload, taken in bulk. Searched in
# "\n" + text: the literal first character makes the scan fast; a match starts where the line does.
_PHRASES = "|".join(re.escape(p) for p in (COMPLETED, PAGING, *ERROR_PREFIXES))
_SPECIAL_LINE = re.compile(rf"\n[^\S\n]*(?:[^\w\s]|\w+>|{_PHRASES})")


def parse_logger_timestamp(text: str) -> tuple[datetime, str] | None:
    """A logger timestamp at the start of ``text``: the time and the rest of the line."""
    m = _TS_DMY.match(text)
    if m:
        day, month, year, hh, mm, ss, rest = m.groups()
        y = int(year)
        if y < 100:
            y += 2000
        try:
            return datetime(y, int(month), int(day), int(hh), int(mm), int(ss)), rest or ""
        except ValueError:
            return None
    m = _TS_ISO.match(text)
    if m:
        year, month, day, hh, mm, ss, rest = m.groups()
        try:
            return datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss)), rest or ""
        except ValueError:
            return None
    return None


class _Open:
    """The block being collected."""

    __slots__ = (
        "command",
        "completed",
        "echo_line",
        "echo_raw",
        "has_payload",
        "last_line",
        "line_numbers",
        "lines",
        "logged_at",
        "prompt",
        "seen_at",
        "status",
    )

    def __init__(
        self, command: str, prompt: str | None, echo_line: int, echo_raw: str, logged_at: datetime | None
    ) -> None:
        self.command = command
        self.prompt = prompt
        self.echo_line = echo_line
        self.echo_raw = echo_raw
        self.last_line = echo_line
        self.logged_at = logged_at
        self.lines: list[str] = []
        self.line_numbers: list[int] = []
        self.completed = False
        self.seen_at = False
        self.has_payload = False
        self.status: Status = "ok"


class ConsoleReader:
    """Incremental splitter: ``feed(bytes)`` returns the command blocks completed so far.

    Feeding a capture whole or one byte at a time gives the same blocks. ``warnings`` collects text
    found outside any command answer that could not be used.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[ParseWarning] = []
        self.first_logged_at: datetime | None = None
        """The first logger timestamp seen (each block also keeps the one before it)."""
        self._lines = LineSplitter()
        self._prompts = set(KNOWN_PROMPTS)
        self._prompt: str | None = None
        self._pending: tuple[int, str, str] | None = None  # (line, command, raw) awaiting "@"
        self._stamp: datetime | None = None
        self._open: _Open | None = None
        self._out: list[CommandBlock] = []
        self._closed = False

    # ------------------------------------------------------------------ public
    def feed(self, data: bytes) -> list[CommandBlock]:
        if self._closed:
            return []
        self._run(*self._lines.feed_text(data))
        out, self._out = self._out, []
        return out

    def close(self) -> list[CommandBlock]:
        """End of data: flush the last block (``incomplete`` if it never completed)."""
        if self._closed:
            return []
        self._closed = True
        start, text, tail = self._lines.close_text()
        self._run(start, text)
        if tail is not None:
            number = start + text.count("\n")
            # An unterminated last line may be cut short: use it only to recognise a prompt.
            m = _prompt_match(tail.strip())
            if (
                m
                and not m.group(2).strip()
                and (self._open is None or m.group(1) in self._prompts or self._open.completed)
            ):
                self._line(number, tail)
        self._drop_pending()
        if self._open is not None:
            self._emit(self._open)
            self._open = None
        out, self._out = self._out, []
        return out

    def _run(self, number: int, text: str) -> None:
        """Lines of ``text`` (each ended by ``\n``), the first numbered ``number``.

        Only lines that may matter to the framing (markers, prompts, error words, noise) are looked
        at one by one; runs of plain lines inside an answer are taken in bulk.
        """
        pos = 0
        for m in _SPECIAL_LINE.finditer("\n" + text):
            p = m.start()
            if p > pos:
                number = self._plain(number, text, pos, p)
            eol = text.index("\n", p)
            line = text[p:eol]
            blk = self._open
            if blk is not None:
                # the "@", trailer and "$$" lines, handled here as _line would: most of the special lines
                s = line.strip()
                if s == END_MARK:
                    blk.last_line = number
                    self._emit(blk)
                    self._open = None
                    number += 1
                    pos = eol + 1
                    continue
                if s in COMPLETED_LINES or (s == ANSWER_MARK and not blk.seen_at and not blk.has_payload):
                    if s in COMPLETED_LINES:
                        blk.completed = True
                    else:
                        blk.seen_at = True
                    blk.last_line = number
                    number += 1
                    pos = eol + 1
                    continue
            self._line(number, line)
            number += 1
            pos = eol + 1
        if pos < len(text):
            self._plain(number, text, pos, len(text))

    def _plain(self, number: int, text: str, a: int, b: int) -> int:
        """Plain lines ``text[a:b]`` (no marker, prompt or error word); returns the next line number."""
        segment = text[a:b]
        lines = segment.split("\n")
        lines.pop()
        n = len(lines)
        blk = self._open
        if blk is not None and not blk.completed:
            blk.lines += lines
            blk.line_numbers += range(number, number + n)
            if not blk.has_payload and not segment.isspace():
                blk.has_payload = True
        else:
            for i, raw in enumerate(lines, number):
                self._line(i, raw)
        return number + n

    # ------------------------------------------------------------------ per line
    def _line(self, number: int, raw: str) -> None:
        s = raw.strip()
        blk = self._open
        if blk is not None:
            if not s:
                if not blk.completed:
                    blk.lines.append(raw)
                    blk.line_numbers.append(number)
                return
            if s == END_MARK:
                blk.last_line = number
                self._emit(blk)
                self._open = None
                return
            if s == ANSWER_MARK and not blk.seen_at and not blk.has_payload:
                blk.seen_at = True
                blk.last_line = number
                return
            if s in COMPLETED_LINES:
                blk.completed = True
                blk.last_line = number
                return
            if s.startswith(PAGING):
                blk.last_line = number
                return
            if ">" in s:
                m = _prompt_match(s)
                if m and (m.group(1) in self._prompts or blk.completed or blk.status != "ok"):
                    self._emit(blk)
                    self._open = None
                    self._outside(number, raw, s)
                    return
            if blk.completed:
                # Text after the trailer without "$$": the block is over.
                self._emit(blk)
                self._open = None
                self._outside(number, raw, s)
                return
            if blk.status == "ok" and s[0] in "UILPp":
                for prefix, status in _ERROR_PREFIXES:
                    if s.startswith(prefix):
                        blk.status = status
                        break
            blk.lines.append(raw)
            blk.line_numbers.append(number)
            blk.has_payload = True
            return
        if s:
            self._outside(number, raw, s)

    def _outside(self, number: int, raw: str, s: str) -> None:
        if s == ANSWER_MARK:
            if self._pending is not None:
                line, command, echo_raw = self._pending
                self._pending = None
                blk = _Open(command, self._prompt, line, echo_raw, self._take_stamp())
            else:
                blk = _Open("", self._prompt, number, raw, self._take_stamp())
            blk.seen_at = True
            blk.last_line = number
            self._open = blk
            return
        if s[0] == "#":
            return
        if s == END_MARK or s in COMPLETED_LINES or s.startswith(PAGING):
            return
        if s[0].isdigit() or s[0] == "[":
            ts = parse_logger_timestamp(s)
            if ts is not None:
                self._drop_pending()
                self._stamp = ts[0]
                if self.first_logged_at is None:
                    self.first_logged_at = ts[0]
                rest = ts[1].strip()
                if rest:
                    self._outside(number, raw, rest)
                return
        if ">" in s:
            m = _prompt_match(s)
            if m:
                self._drop_pending()
                prompt, command = m.group(1), typed(m.group(2)).strip()
                self._prompt = prompt
                self._prompts.add(prompt)
                if command:
                    self._open = _Open(command, prompt, number, raw, self._take_stamp())
                return
        self._drop_pending()
        if _ECHO.match(s):
            self._pending = (number, typed(s).strip(), raw)
        else:
            self._warn(number, raw, "text outside any command answer (expected a prompt, echo or '@')")

    # ------------------------------------------------------------------ helpers
    def _take_stamp(self) -> datetime | None:
        stamp, self._stamp = self._stamp, None
        return stamp

    def _drop_pending(self) -> None:
        if self._pending is not None:
            line, _command, raw = self._pending
            self._pending = None
            self._warn(line, raw, "text outside any command answer (no '@' answer followed it)")

    def _warn(self, line: int, raw: str, message: str) -> None:
        self.warnings.append(ParseWarning(source=self.source, line=line, message=message, raw=raw))

    def _emit(self, blk: _Open) -> None:
        """The block ``blk`` as a :class:`CommandBlock` (validated: blocks are not kept by the parse, so
        the fields-set of each costs no memory, and validating them is cheaper than ``model_construct``)."""
        status = blk.status
        if not blk.completed and status == "ok":
            status = "incomplete"
        end = max(blk.last_line, blk.line_numbers[-1]) if blk.line_numbers else blk.last_line
        self._out.append(
            make_block_fast(
                {
                    "command": blk.command,
                    "prompt": blk.prompt,
                    "status": status,
                    "lines": tuple(blk.lines),
                    "first_line": blk.echo_line,
                    "line_numbers": tuple(blk.line_numbers),
                    "logged_at": blk.logged_at,
                    "provenance": make_provenance_fast(self.source, blk.echo_line, blk.echo_raw, end),
                }
            )
        )
