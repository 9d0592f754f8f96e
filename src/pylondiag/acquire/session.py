"""A console session: ask one read-only command, get its typed records (``read(command)``).

Bytes move through :class:`~pylondiag.acquire.link.ConsoleLink`; the answer is cut into blocks and
parsed by the sans-IO :class:`~pylondiag.evidence.console.ConsoleReader` and
:func:`~pylondiag.evidence.console.parse_block` — this module only decides when an answer has ended
(``$$`` then the prompt, console_fields.md "Framing"), presses Enter at the pager line, and
recovers: a timeout on every read, a resync (Enter until a clean prompt) after garbage or a half
answer, bounded retries with back-off, and a bounded number of reconnects when the port goes away.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pylondiag.acquire.link import CONSOLE_BAUD, ConsoleLink, LinkLost
from pylondiag.errors import PylondiagError
from pylondiag.evidence.console import ConsoleReader, parse_block
from pylondiag.model.console import CommandBlock, ConsoleRecord, ParseWarning

_PROMPT_END = re.compile(rb"([A-Za-z]\w{0,31}>)[ \t]*\Z")
PAGER = b"Press [Enter] to be continued"
SILENT = "the console stayed silent"
ABSENT = re.compile(r"^\s*Power\s+\d{1,2}\s+is absent\s*$")
"""What `pwr N` / `bat N` print for an address with no module (sim and HRAB wording [C])."""
MAX_PAGES = 500
"""Bound on Enter presses for one answer (the BMS log is a few hundred entries, 3 a page [C])."""
MAX_ANSWER_S = 120.0
"""Bound on one answer's duration (s): a 300-entry BMS log is ~60 kB, about 5 s at 115200 baud."""
MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""Bound on one answer's size: no console answer comes near it; a runaway stream is cut there."""


class NoAnswer(PylondiagError):
    """The console did not give a usable answer to a command after every retry."""

    def __init__(self, command: str, reason: str) -> None:
        self.command = command
        self.reason = reason
        super().__init__(f"no usable answer to {command!r}: {reason}")


class NoConsole(PylondiagError):
    """Nothing on the port answered like a Pylontech console."""


class PortUnavailable(NoConsole):
    """The port itself could not be opened (no such device, refused, busy)."""


@dataclass
class ConsoleInfo:
    """What :meth:`ConsoleSession.detect` found."""

    prompt: str
    baud: int
    woke: bool
    """True when the 1200-baud wake-up frame was needed."""


@dataclass
class Answer:
    """One command's answer: raw bytes as received (echo … ``$$``), the block and its records."""

    command: str
    started_at: datetime
    raw: bytes
    prompt: str
    block: CommandBlock | None
    records: list[ConsoleRecord] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    attempts: int = 1

    @property
    def status(self) -> str:
        return self.block.status if self.block is not None else "incomplete"


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


class ConsoleSession:
    """Read-only session on one console. ``read(command) -> Answer``; one command at a time."""

    def __init__(
        self,
        link: ConsoleLink,
        *,
        reopen: Callable[[], ConsoleLink] | None = None,
        timeout_s: float = 3.0,
        retries: int = 4,
        backoff_s: float = 0.2,
        reconnects: int = 2,
        on_answer: Callable[[Answer], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.link = link
        self.clock = clock or _now
        """Time stamped on each answer (default: this computer's local time, to the second)."""
        self._reopen = reopen
        self.timeout_s = timeout_s
        """Longest silence while an answer is expected (s); every read is bounded by it."""
        self.retries = retries
        self.backoff_s = backoff_s
        self.reconnects = reconnects
        self.on_answer = on_answer
        self.info: ConsoleInfo | None = None
        self.retried = 0
        """Commands that needed more than one attempt (a measure of line quality)."""
        self.answer_limit_s = MAX_ANSWER_S
        """Longest one answer may take, however many bytes keep coming (s)."""
        self.answer_wait_s = 0.0
        """Total time from sending a command to its first byte back: the console's own answer time."""

    @classmethod
    def open(cls, url: str, **kw: object) -> ConsoleSession:
        """Open ``url`` (any pyserial URL) and detect the console. Raises :class:`NoConsole`."""
        pause = float(kw.pop("pause_s", 0.005))  # type: ignore[arg-type]
        try:
            link = ConsoleLink.open(url, pause_s=pause)
        except LinkLost as exc:
            raise PortUnavailable(str(exc)) from None
        session = cls(link, reopen=lambda: ConsoleLink.open(url, pause_s=pause), **kw)  # type: ignore[arg-type]
        try:
            session.detect()
        except BaseException:
            link.close()
            raise
        return session

    def __enter__(self) -> ConsoleSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.link.close()

    # ------------------------------------------------------------------ detection
    def detect(self) -> ConsoleInfo:
        """Find the prompt: Enter at 115200; if nothing answers, the 1200-baud wake-up, then Enter."""
        try:
            prompt = self._probe()
            woke = False
            if prompt is None:
                self.link.wake()
                woke = True
                prompt = self._probe()
        except LinkLost as exc:
            raise NoConsole(f"the port closed while looking for the console: {exc}") from None
        if prompt is None:
            raise NoConsole(
                "no console prompt (like 'pylon>') at 115200 baud, nor after the 1200-baud wake-up: "
                "check the cable (RJ45/RJ11 console port, RS232 levels), that this module is powered, and "
                "that nothing else holds the port"
            )
        self.info = ConsoleInfo(prompt=prompt, baud=CONSOLE_BAUD, woke=woke)
        return self.info

    def _probe(self, tries: int = 2) -> str | None:
        for _ in range(tries):
            self.link.enter()
            buf = self._collect(need_end=False, timeout_s=min(self.timeout_s, 1.0))
            m = _PROMPT_END.search(buf.rstrip(b"\r\n")) if buf else None
            if m:
                return m.group(1).decode("ascii")
        return None

    # ------------------------------------------------------------------ reading one command
    def read(self, command: str) -> Answer:
        """Send ``command`` (whitelisted, see :mod:`~pylondiag.acquire.whitelist`) and return its
        answer. Retries garbled or cut answers; raises :class:`NoAnswer` when it never came whole."""
        if self.info is None:
            self.detect()
        best: Answer | None = None
        reason = SILENT
        reconnects = self.reconnects
        attempt = 0
        while attempt < self.retries:
            attempt += 1
            try:
                ans = self._once(command)
            except LinkLost as exc:
                reason = f"the connection was lost ({exc})"
                if reconnects <= 0 or not self._reconnect():
                    break
                reconnects -= 1
                attempt -= 1  # a reconnect is not a retry of the command
                continue
            ans.attempts = attempt
            verdict = _judge(ans)
            if verdict is not None and _same_flaw(best, ans):
                verdict = None  # the firmware prints it that way every time: not line noise
            best = ans
            if verdict is None:
                if attempt > 1:
                    self.retried += 1
                self._deliver(ans)
                return ans
            reason = verdict
            if ans.raw.strip():
                time.sleep(self.backoff_s * (2 ** (attempt - 1)))  # silence has already waited
            try:
                alive = self._resync()
            except LinkLost:
                continue
            if not alive and not ans.raw.strip():
                break  # silent to the command and to Enter: the console is gone, not noisy
        raise NoAnswer(command, reason)

    def _deliver(self, ans: Answer) -> None:
        if self.on_answer is not None:
            self.on_answer(ans)

    def _once(self, command: str) -> Answer:
        assert self.info is not None
        started = self.clock()
        sent = self.link.send(command)
        try:
            raw = self._collect(need_end=True, timeout_s=self.timeout_s)
        finally:
            self.link.answered()
        prompt = self.info.prompt
        body, end_prompt = _split_prompt(raw)
        if end_prompt:
            self.info.prompt = end_prompt  # e.g. pylon_debug> → pylon> after the firmware changed mode
        block, records, warnings = _parse(prompt, body, sent)
        return Answer(sent, started, body, prompt, block, records, warnings)

    def _collect(self, *, need_end: bool, timeout_s: float) -> bytes:
        """Bytes until the answer ends (``$$`` then a prompt; or just a prompt when ``need_end`` is
        False), pressing Enter at each pager line; stops after ``timeout_s`` of silence."""
        buf = bytearray()
        last = started = time.monotonic()
        pager_at = 0
        pages = 0
        while True:
            chunk = self.link.read_some()
            now = time.monotonic()
            if now - started > self.answer_limit_s:
                return bytes(buf)  # a stream that never ends (noise, a chatty device): cut it
            if chunk:
                if not buf and need_end:
                    self.answer_wait_s += now - started
                buf += chunk
                last = now
                if len(buf) > MAX_ANSWER_BYTES:
                    return bytes(buf)
                tail = bytes(buf[-256:])
                p = buf.rfind(PAGER, max(0, pager_at))
                if (
                    p >= 0
                    and pages < MAX_PAGES
                    and not buf[p + len(PAGER) :].strip(b" ,-abcdefghijklmnopqrstuvwxyz\r\t")
                ):
                    # a pager line with nothing after it yet: ask for the next page
                    pager_at = p + len(PAGER)
                    pages += 1
                    self.link.enter()
                    continue
                if _PROMPT_END.search(tail) and (not need_end or _ends_after_marker(buf)):
                    return bytes(buf)
            elif now - last > timeout_s:
                return bytes(buf)

    def _resync(self) -> bool:
        """Drain what is left of a broken answer and get a clean prompt (Enter, bounded). False when
        nothing at all came back."""
        heard = False
        for _ in range(2):
            self.link.enter()
            buf = self._collect(need_end=False, timeout_s=min(self.timeout_s, 1.0))
            heard = heard or bool(buf)
            if _PROMPT_END.search(buf.rstrip(b"\r\n")):
                quiet = self._collect(need_end=False, timeout_s=0.05)
                if not quiet:
                    return True
        return heard

    def _reconnect(self) -> bool:
        if self._reopen is None:
            return False
        self.link.close()
        for delay in (0.2, 0.6, 1.5):
            time.sleep(delay)
            try:
                self.link = self._reopen()
                self.detect()
                return True
            except (LinkLost, NoConsole):
                continue
        return False


def _ends_after_marker(buf: bytearray) -> bool:
    """The prompt at the end comes after the last ``$$`` line (not a ``>`` inside the payload)."""
    i = buf.rfind(b"$$")
    return i >= 0 and _PROMPT_END.search(bytes(buf[i + 2 :]).lstrip(b"\r\n \t")) is not None


def _split_prompt(raw: bytes) -> tuple[bytes, str | None]:
    """``(answer without the trailing prompt, that prompt)``."""
    m = _PROMPT_END.search(raw)
    if not m:
        return raw, None
    return raw[: m.start()], m.group(1).decode("ascii")


def _parse(
    prompt: str, body: bytes, command: str
) -> tuple[CommandBlock | None, list[ConsoleRecord], list[ParseWarning]]:
    reader = ConsoleReader("console")
    blocks = reader.feed(prompt.encode("ascii") + body + b"\n")
    blocks += reader.close()
    mine = [b for b in blocks if " ".join(b.command.split()) == command]
    if len(mine) != 1 or len(blocks) != 1:
        return (mine[0] if mine else None), [], list(reader.warnings)
    records, warnings = parse_block(mine[0], "console")
    return mine[0], records, [*reader.warnings, *warnings]


def _same_flaw(before: Answer | None, now: Answer) -> bool:
    """Two whole answers in a row with the same unreadable lines: the firmware's own output."""
    return (
        before is not None
        and now.block is not None
        and before.block is not None
        and now.block.status == "ok"
        and bool(now.records)
        and len(now.records) == len(before.records)
        and [w.message for w in now.warnings] == [w.message for w in before.warnings]
    )


def _judge(ans: Answer) -> str | None:
    """None when the answer is whole and clean, else why it must be asked again."""
    if ans.block is None:
        if not ans.raw.strip():
            return SILENT
        return "the answer was garbled (its echo did not match the command)"
    if ans.block.status == "incomplete":
        return "the answer was cut short"
    if ans.block.status in ("unknown_command", "error"):
        return None  # a clean refusal by the firmware: an answer, not a line fault
    if len(ans.block.lines) <= 3 and any(ABSENT.search(ln) for ln in ans.block.lines):
        return None  # "Power 2 is absent": the firmware's answer for a module not on the link bus
    if ans.warnings:
        return f"the answer had unreadable lines ({ans.warnings[0].message})"
    if not ans.records and "".join(ans.block.lines).strip():
        return "the answer held no readable data"
    return None
