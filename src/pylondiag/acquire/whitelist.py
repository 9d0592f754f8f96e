"""The read-only console commands pylondiag may send, with their argument shapes.

Nothing else can reach a battery through :mod:`pylondiag.acquire`: :func:`encode` is the only way to
turn a command into bytes for the port, and it raises :class:`CommandRefused` for anything that is
not one of the shapes below. Each entry says why it is safe (the command names and their help texts
are the US2000C B67.5.0 `help` capture, ``shared/captures/console/help__US2000C-B67.5.0__*``; field
meanings ``shared/domain/hardware/console_fields.md``).

Refused by construction (not in the table): ``login``/``logout`` (mode change), ``shut``, ``trst``,
``time`` with arguments (sets the clock), ``config``, ``prot``, ``ctrl``, ``urates``, ``statc``,
``logc``, ``datac``, ``save``, ``updata``/``m2s`` (firmware), every ``t*`` test and every memory,
EEPROM, flash, SOC-gauge and RTC read/write command (reads of raw memory included: they are debug
tools whose side effects are not documented).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ADDRESS = 16
"""`pwr` lists addresses 1..16 (console_fields.md `pwr` [C])."""
MAX_LOG_ITEM = 9999
"""`data event ITEM`: the record index; the BMS keeps a few hundred (`stat` Data Items [C])."""

WAKEUP_FRAME = b"~20014682C0048520FCC3\r"
"""The fixed 1200-baud wake-up frame older console firmware needs before it answers at 115200
(panel_dip.md §1: irekzielinski/Pylontech-Battery-Monitoring #5/#17 [T]). It carries no setting and
no address of a module's configuration; it is the only non-command byte string this layer sends
apart from a bare Enter."""
ENTER = b"\r"
"""A bare Enter: asks for a fresh prompt, or the next page after ``Press [Enter] to be continued``."""


class CommandRefused(ValueError):
    """A command that is not on the read-only whitelist. Raised before any byte is written."""


@dataclass(frozen=True)
class Shape:
    """One allowed command: its word, which argument forms it takes, and why it is safe."""

    word: str
    args: str
    """Regex for the argument text after the word (``""`` = none allowed)."""
    why: str


_ADDR = r"(?:[1-9]|1[0-6])"
SHAPES: tuple[Shape, ...] = (
    Shape("pwr", rf"(?:{_ADDR})?", "Power data show: prints the stack table or one module's detail."),
    Shape("bat", rf"(?:{_ADDR})?", "Battery data show: prints the 15 cell rows of one module."),
    Shape("soh", rf"(?:{_ADDR})?", "State of health: prints per-cell SOH counters and status."),
    Shape(
        "stat", rf"(?:{_ADDR})?", "Statistic data show: prints lifetime counters (statc clears; not allowed)."
    ),
    Shape("info", rf"(?:{_ADDR})?", "Device information: model, firmware, barcode."),
    Shape("pwrsys", "", "Power system info display: the master's system view."),
    Shape("time", "", "Without arguments it prints the RTC; with arguments it would set it (refused)."),
    Shape("log", "", "Log information show: prints the BMS event log, paged (logc clears; not allowed)."),
    Shape(
        "data",
        r"event(?: (?:0|[1-9]\d{0,3}))?",
        "History data load: prints one stored event snapshot (datac clears, save writes; not allowed).",
    ),
)
_BY_WORD = {s.word: s for s in SHAPES}
_ARG_RE = {s.word: re.compile(s.args) for s in SHAPES}
_TEXT = re.compile(r"[a-z]{1,8}(?: [a-z0-9]{1,8}){0,2}")


def canonical(command: str) -> str:
    """The whitelisted form of ``command`` (single spaces, no leading/trailing blanks).

    Raises :class:`CommandRefused` for anything else: other words, other argument shapes, control
    characters, non-ASCII, case changes (the console is lowercase)."""
    if not isinstance(command, str):
        raise CommandRefused(f"a console command must be text, got {type(command).__name__}")
    text = re.sub(" +", " ", command.strip(" "))
    if not _TEXT.fullmatch(text):
        raise CommandRefused(f"refused {command!r}: not a read-only console command")
    word, _, args = text.partition(" ")
    shape = _BY_WORD.get(word)
    if shape is None:
        raise CommandRefused(f"refused {command!r}: {word!r} is not on the read-only whitelist")
    if not _ARG_RE[word].fullmatch(args):
        raise CommandRefused(f"refused {command!r}: {word!r} does not take the argument {args!r} here")
    return text


def encode(command: str) -> bytes:
    """Bytes to type for ``command``: its canonical ASCII form and a CR. Raises :class:`CommandRefused`."""
    return canonical(command).encode("ascii") + ENTER


def allowed_forms() -> list[str]:
    """Every command this layer can send, spelled out (for the docs and the exhaustive test)."""
    out: list[str] = []
    for s in SHAPES:
        if s.word in ("pwr", "bat", "soh", "stat", "info"):
            out += [s.word, *[f"{s.word} {a}" for a in range(1, MAX_ADDRESS + 1)]]
        elif s.word == "data":
            out += ["data event", *[f"data event {i}" for i in range(MAX_LOG_ITEM + 1)]]
        else:
            out.append(s.word)
    return out
