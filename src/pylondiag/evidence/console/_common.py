"""Shared helpers for the per-command parsers: numbers with units, ``Key : value`` lines, provenance."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from datetime import datetime

from pylondiag.evidence.console._build import make_key_value_fast, make_provenance_fast
from pylondiag.model.console import CommandBlock, KeyValue, ParseWarning, Provenance, pack_lines

ABSENT_TOKENS = frozenset({"-", "--", ""})
UNITS = frozenset({"mV", "mA", "mC", "mAH", "mAh", "%", "s", "S", "AH", "Ah", "V", "A"})
_INT_UNIT = re.compile(r"^([+-]?\d+)\s*(?:mV|mA|mC|mAH|mAh|%|s|S|AH|Ah)?$")
_PLAIN_INT = re.compile(r"^[+-]?\d+$")
_UNIT_WORDS = frozenset({"mV", "mA", "mC", "mAH", "mAh", "%", "s", "S", "AH", "Ah"})
_HEX = re.compile(r"^0[xX]([0-9A-Fa-f]+)$")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_DATETIME_YY = re.compile(r"^(\d{2})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


MAX_ADDRESS = 99
"""Module addresses start at 1 (``shared/domain/hardware/panel_dip.md``); two digits cover every stack and
group layout. 0, a 5000-digit number or ``٣`` (a non-ASCII digit) is not an address."""


def small_int(token: str, max_digits: int = 9) -> int | None:
    """``token`` as an int when it is at most ``max_digits`` ASCII digits, else None (never raises:
    Python refuses to convert a string of more than 4300 digits at all)."""
    if not token.isascii() or not token.isdecimal() or len(token) > max_digits:
        return None
    return int(token)


def module_address(token: str) -> int | None:
    """A module address (1..:data:`MAX_ADDRESS`) written as ``token``, or None."""
    value = small_int(token, 2)
    return value if value is not None and value >= 1 else None


class BadValue(ValueError):
    """A value that should be a number/time and is not (the line gets a warning and is skipped)."""


class Ctx:
    """Per-block parse context: the source name and the warnings gathered."""

    __slots__ = ("source", "warnings")

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[ParseWarning] = []

    def warn(self, line: int, raw: str, message: str) -> None:
        self.warnings.append(ParseWarning(source=self.source, line=line, message=message, raw=raw))

    def prov(self, line: int, raw: str, end_line: int | None = None) -> Provenance:
        return make_provenance_fast(self.source, line, raw, end_line)


def numbered(block: CommandBlock) -> Iterator[tuple[int, str]]:
    """``(line number, raw text)`` of each payload line of ``block``."""
    if len(block.line_numbers) == len(block.lines):
        return zip(block.line_numbers, block.lines, strict=True)
    return zip(range(block.first_line + 1, block.first_line + 1 + len(block.lines)), block.lines, strict=True)


def command_arg(block: CommandBlock) -> int | None:
    """The numeric argument of ``pwr 3`` / ``bat 3`` / ``stat 2``, or None."""
    parts = block.command.split()
    return module_address(parts[-1]) if len(parts) >= 2 else None


def opt_int(token: str) -> int | None:
    """``-`` → None; ``96%`` → 96; ``49769`` → 49769; else :class:`BadValue`."""
    if token in ABSENT_TOKENS:
        return None
    t = token[:-1] if token.endswith("%") else token
    try:
        return int(t)
    except ValueError:
        raise BadValue(f"expected a number or '-', found {token!r}") from None


def int_with_unit(value: str) -> int | None:
    """``49769       mV`` / ``-90000mA`` / ``94          %`` / ``-`` → int or None."""
    parts = value.split()
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in _UNIT_WORDS):
        try:
            if _PLAIN_INT.match(parts[0]):
                return int(parts[0])
        except ValueError:
            pass
    v = value.strip()
    if v in ABSENT_TOKENS:
        return None
    m = _INT_UNIT.match(" ".join(v.split()))
    if not m:
        raise BadValue(f"expected a number with an optional unit, found {value.strip()!r}")
    return int(m.group(1))


def hex_with_names(value: str) -> tuple[int | None, tuple[str, ...]]:
    """``0x2000     COULFULL`` → (0x2000, ("COULFULL",)); ``0x0`` → (0, ())."""
    parts = value.split()
    if not parts or parts[0] in ABSENT_TOKENS:
        return None, ()
    m = _HEX.match(parts[0])
    if m:
        return int(m.group(1), 16), tuple(parts[1:])
    if (number := small_int(parts[0], 12)) is not None:
        return number, tuple(parts[1:])
    raise BadValue(f"expected a hex bitfield like 0x0, found {value.strip()!r}")


_KEYS: dict[str, str] = {}
"""Key as printed (spaces around it included) → normalised (:func:`split_kv`). A console repeats the same
few dozen labels: a lookup instead of a split and a join, and one string per label kept in records."""
_MAX_KEYS = 4096
_MAX_KEY_CHARS = 64
"""At most this many printed keys, of at most this many characters, are remembered (≤ ~1 MB for the
process, whatever a hostile capture holds; other keys are normalised each time)."""


def split_kv(text: str) -> tuple[str, str] | None:
    """``' Voltage         : 49769       mV'`` → ("Voltage", "49769       mV"); key spaces normalised."""
    key, sep, value = text.partition(":")
    if not sep:
        return None
    k = _KEYS.get(key)
    if k is None:
        k = " ".join(key.split())
        if len(_KEYS) < _MAX_KEYS and len(key) <= _MAX_KEY_CHARS:
            _KEYS[key] = k
    if not k:
        return None
    return k, value.strip()


def key_value(line: int, raw: str, ctx: Ctx) -> KeyValue | None:
    kv = split_kv(raw)
    if kv is None:
        return None
    return make_key_value_fast(kv[0], kv[1], ctx.source, line, raw)


def rebuild_key_value(raw: str, source: str, line: int) -> KeyValue:
    """The :class:`KeyValue` :func:`key_value` read from ``raw`` (a line it read: see ``LinePack``)."""
    kv = split_kv(raw)
    if kv is None:
        raise ValueError(f"not a 'Key : value' line: {raw!r}")
    return make_key_value_fast(kv[0], kv[1], source, line, raw)


class KeptLines:
    """The ``Key : value`` lines a parser kept (line text and number), for a ``fields`` tuple: a
    :class:`~pylondiag.model.console.LinePack` building each :class:`KeyValue` from its line when read
    (issue 17: a ``KeyValue`` kept built cost ~0.5 KB per ~30-byte line, and building it ~0.7 µs)."""

    __slots__ = ("lines", "raws")

    def __init__(self) -> None:
        self.raws: list[str] = []
        self.lines = array("i")

    def add(self, line: int, raw: str) -> None:
        """Keep line ``line`` (text ``raw``: one :func:`split_kv` reads)."""
        self.raws.append(raw)
        self.lines.append(line)

    def fields(self, source: str) -> tuple[KeyValue, ...]:
        return pack_lines(source, self.raws, self.lines, rebuild_key_value, {}) if self.raws else ()


def find_datetime(text: str) -> datetime | None:
    """The first ``YYYY-MM-DD HH:MM:SS`` in ``text``."""
    m = _DATETIME.search(text)
    if not m:
        return None
    try:
        y, mo, d, hh, mi, ss = (int(g) for g in m.groups())
        return datetime(y, mo, d, hh, mi, ss)
    except ValueError:
        return None


def parse_console_time(text: str) -> datetime | None:
    """``2026-07-17 01:20:56`` or the log's ``23-09-16 11:43:09`` (YY-MM-DD) → datetime, else None."""
    t = text.strip()
    m = _DATETIME_YY.match(t)
    if m:
        yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups())
        try:
            return datetime(2000 + yy, mo, dd, hh, mi, ss)
        except ValueError:
            return None
    return find_datetime(t)
