"""Whitespace tables read by their header row (never by character offsets).

A header is tokenised on whitespace; ``State``/``Status`` words join the word before them
(``Base State``, ``Volt. State`` in ``bat``). A row is tokenised the same way and values are taken
column by column: a ``Time`` value is two tokens (``2026-07-17 01:20:56``) unless it is ``-``, a
number may be followed by its unit token (``44628 mAH``). Rows may stop early: trailing columns
left blank (``Absent`` rows, columns a module does not have) are None.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import BaseModel

from pylondiag.evidence.console._build import shape_of
from pylondiag.evidence.console._common import ABSENT_TOKENS, UNITS, BadValue, opt_int, small_int
from pylondiag.model.console import CommandBlock, LinePack

R = TypeVar("R")

Kind = Literal["int", "str", "time", "flag", "soc_coulomb", "unknown"]
Column = tuple[str, str, Kind]
"""(header as printed, model field name or "" for unknown, value kind)."""

_JOINERS = frozenset({"State", "Status"})


@lru_cache(maxsize=64)
def header_tokens(line: str) -> tuple[str, ...]:
    """The column headers of a header row (cached: a capture repeats the same few header rows, and
    every table of one then shares one tuple of column names)."""
    out: list[str] = []
    for tok in line.split():
        if tok in _JOINERS and out:
            out[-1] = f"{out[-1]} {tok}"
        else:
            out.append(tok)
    return tuple(out)


def plan(headers: tuple[str, ...], known: Mapping[str, tuple[str, Kind]]) -> tuple[Column, ...]:
    cols: list[Column] = []
    for h in headers:
        field, kind = known.get(h, ("", "unknown"))
        cols.append((h, field, kind))
    return tuple(cols)


def _time(date: str, clock: str) -> datetime:
    try:
        y, mo, d = date.split("-")
        hh, mi, ss = clock.split(":")
        return datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss))
    except ValueError:
        raise BadValue(f"expected a time like 2026-07-17 01:20:56, found {date} {clock}") from None


Layout = list[tuple[str, str, str, int, int]]
"""Per column read: (header, field, how, first token index, token count)."""


def _read_general(
    tokens: list[str], cols: tuple[Column, ...], has_soc_column: bool
) -> tuple[dict[str, Any], dict[str, str], int, Layout]:
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    layout: Layout = []
    i = 0
    n = len(tokens)
    for header, field, kind in cols:
        if i >= n:
            break
        start = i
        how: str = kind
        tok = tokens[i]
        i += 1
        if kind == "int":
            values[field] = opt_int(tok)
            if i < n and tokens[i] in UNITS:
                i += 1
        elif kind == "str":
            values[field] = None if tok in ABSENT_TOKENS else tok
        elif kind == "time":
            if tok in ABSENT_TOKENS:
                values[field] = None
            elif i < n:
                values[field] = _time(tok, tokens[i])
                i += 1
            else:
                raise BadValue(f"expected a date and a time in column {header!r}, found {tok!r}")
        elif kind == "flag":
            values[field] = _flag(tok, header)
        elif kind == "soc_coulomb":
            # bat "Coulomb": "44628 mAH"; firmware without a SOC column prints "89%  42586 mAH".
            if tok.endswith("%") and not has_soc_column:
                how = "soc_pct+coulomb"
                values["soc_pct"] = opt_int(tok)
                if i < n and tokens[i][:1].isdecimal():
                    values[field] = opt_int(tokens[i])
                    i += 1
                else:
                    how = "soc_pct"
            elif tok.endswith("%"):
                raise BadValue(f"expected mAH in column {header!r}, found {tok!r}")
            else:
                values[field] = opt_int(tok)
            if i < n and tokens[i] in UNITS:
                i += 1
        else:
            val = tok
            if i < n and tokens[i] in UNITS:
                val = f"{tok} {tokens[i]}"
                i += 1
            extra[header] = val
        layout.append((header, field, how, start, i - start))
    return values, extra, n - i, layout


def _flag(tok: str, header: str = "BAL") -> bool | None:
    if tok == "Y":
        return True
    if tok == "N":
        return False
    if tok in ABSENT_TOKENS:
        return None
    raise BadValue(f"expected Y or N in column {header!r}, found {tok!r}")


def _dash(tok: str) -> None:
    if tok not in ABSENT_TOKENS:
        raise BadValue(tok)
    return None


REFUSED = (BadValue, ValueError, KeyError)
"""What a :class:`RowPlan` raises for a row that does not fit its layout."""

_FLAGS: dict[str, bool | None] = {"Y": True, "N": False, **dict.fromkeys(ABSENT_TOKENS)}

Convert = Callable[[str], Any]
"""A column's converter: the token as printed -> the field's value (raises :data:`REFUSED` when the token
is not what the learnt row had there)."""


def _count(tok: str) -> int:
    """A count after ``89%`` (firmware without a SOC column): the careful path takes only digits."""
    if not tok[:1].isdecimal():
        raise BadValue(tok)
    return int(tok)


def _pct_int(tok: str) -> int:
    """``96%`` -> 96 (a column learnt with ``%``: a token without it, ``-`` too, takes the careful path)."""
    if tok[-1:] != "%":
        raise BadValue(tok)
    return int(tok[:-1])


def _text(word: str | None) -> Convert:
    """A text column's converter; ``word`` (the learnt row's, ``Normal``...) is returned as that one string
    object for every row printing it (memory of built rows: issue 17)."""
    if word is None:
        return _absent_or_text

    def text(tok: str) -> str | None:
        return word if tok == word else (None if tok in ABSENT_TOKENS else tok)

    return text


def _absent_or_text(tok: str) -> str | None:
    return None if tok in ABSENT_TOKENS else tok


RowDict = Callable[[list[str], str, int, str], dict[str, Any]]
"""``(tokens, source, line, raw)`` -> the record's field dict (raises when the row does not fit)."""
RowRecord = Callable[[list[str], str, int, str], Any]
"""``(tokens, source, line, raw)`` -> the record itself (raises when the row does not fit)."""
RowCheck = Callable[[list[str]], object]
"""``tokens`` -> raises exactly when the :data:`RowRecord` of the layout would (builds nothing)."""


class RowPlan:
    """How rows shaped like one learnt row (the same token count) are read: one typed converter per column
    at a fixed token index, built once per layout from the row the careful path read
    (:func:`_read_general`'s ``Layout``). Anything unexpected raises (:data:`REFUSED`) and the caller reads
    that row column by column instead, so both paths give the same values.

    Issue 17 asked whether plain per-layout converters reach the parse target that generated source code
    (run with ``exec``) reached: since tables are checked by one pattern (:func:`whole_table`) and rows are
    built when read, they do (``bench/parse.py``; figures in ``docs/benchmarks.md``), so this is the only
    form. Records are built by ``model_construct`` (pydantic's public constructor for validated values).
    """

    __slots__ = ("defaults", "every", "extras", "model", "no_unit", "pairs", "plan", "unit")

    def __init__(self, layout: Layout, sample: list[str], model: ModelShape) -> None:
        plan: list[tuple[str, Convert, int]] = []
        pairs: list[tuple[str, int]] = []
        extras: list[tuple[str, int, int]] = []
        unit: list[int] = []
        no_unit: list[int] = []
        for n, (header, field, how, s, k) in enumerate(layout):
            after = layout[n + 1][2] if n + 1 < len(layout) else None
            if how in ("int", "unknown") and k == 1 and after in ("str", "unknown"):
                # This row had no unit after the value. In a later row a unit there would be taken as the
                # next (text) column's value: such a row must take the careful path. (Any other next
                # column refuses a unit token by itself: int(), the Y/N map, the time parser.)
                no_unit.append(s + 1)
            if how == "int":
                # int() refuses "-" and "96%" (ValueError): such rows take the careful path
                plan.append((field, _pct_int if sample[s].endswith("%") else int, s))
            elif how == "soc_coulomb":
                plan.append((field, int, s))
            elif how == "str":
                # the learnt row's word is shared by every row that has it: one string, not one per row
                plan.append((field, _text(None if sample[s] in ABSENT_TOKENS else sys.intern(sample[s])), s))
            elif how == "time":
                if k == 2:
                    pairs.append((field, s))
                else:
                    plan.append((field, _dash, s))
            elif how == "flag":
                plan.append((field, _FLAGS.__getitem__, s))
            elif how in ("soc_pct+coulomb", "soc_pct"):
                plan.append(("soc_pct", _pct_int, s))
                if how == "soc_pct+coulomb":
                    plan.append((field, _count, s + 1))
            else:
                extras.append((header, s, k))
            if how != "time" and k == (3 if how == "soc_pct+coulomb" else 2):
                unit.append(s + k - 1)  # the learnt row had a unit token last: so must this one
        self.plan = tuple(plan)
        self.pairs = tuple(pairs)
        self.extras = tuple(extras)
        self.unit = tuple(unit)
        self.no_unit = tuple(no_unit)
        self.defaults = model.defaults
        self.model = model
        self.every = model.every

    def _units(self, t: list[str]) -> None:
        """Refuses a row with a unit token missing where the learnt row had one, or present where not."""
        for i in self.unit:
            if t[i] not in UNITS:
                raise BadValue("layout")
        for i in self.no_unit:
            if t[i] in UNITS:
                raise BadValue("layout")

    def read(self, t: list[str], source: str, line: int, raw: str) -> dict[str, Any]:
        """The record's whole field dict (columns read, the model's defaults for the rest, ``extra`` and
        where it was read)."""
        self._units(t)
        d = self.defaults.copy()
        for field, convert, i in self.plan:
            d[field] = convert(t[i])
        for field, i in self.pairs:
            d[field] = _time(t[i], t[i + 1])
        d["extra"] = {h: t[s] if k == 1 else f"{t[s]} {t[s + 1]}" for h, s, k in self.extras}
        d["source"] = source
        d["line"] = line
        d["raw"] = raw
        return d

    def _key(self, t: list[str]) -> int:
        """The row's key token as the careful path accepts it (``model.key_*``)."""
        key = small_int(t[0], self.model.key_digits)
        if key is None or key < self.model.key_min:
            raise BadValue("key")
        return key

    def check(self, t: list[str]) -> None:
        """Refuses exactly what :meth:`record` refuses, building nothing (the parse keeps the row's line,
        :class:`~pylondiag.model.console.LinePack`, and :meth:`record` builds it when the table is read)."""
        self._key(t)
        self._units(t)
        for _field, convert, i in self.plan:
            convert(t[i])
        for _field, i in self.pairs:
            _time(t[i], t[i + 1])

    def record(self, t: list[str], source: str, line: int, raw: str) -> Any:
        """The record itself, when the row's key token is what the careful path accepts."""
        key = self._key(t)
        d = self.read(t, source, line, raw)
        if self.model.key_field is not None:
            d[self.model.key_field] = key
        return self.model.build(d)


class ModelShape:
    """The record a table row becomes: its class, field names in order and their defaults, and its key
    — the row's first token, an index or address of at most ``key_digits`` ASCII digits, at least
    ``key_min`` (``key_field``, when set, takes its value from that token whatever the column)."""

    __slots__ = ("cls", "defaults", "every", "fields", "key_digits", "key_field", "key_min")

    def __init__(
        self, cls: type[BaseModel], key_digits: int, key_min: int = 0, key_field: str | None = None
    ) -> None:
        self.cls = cls
        self.fields, self.defaults = shape_of(cls)
        self.key_digits = key_digits
        self.key_min = key_min
        self.key_field = key_field
        self.every = set(self.fields)
        """Every field name: the ``model_fields_set`` of each record (one set shared by them: see
        ``_build.constructor``)."""

    def build(self, d: dict[str, Any]) -> Any:
        """The record of field dict ``d`` (values already of their types: built, not validated)."""
        return self.cls.model_construct(self.every, **d)


_TOKEN = "[!-~]++"
"""A token the row patterns take: printable ASCII. ``str.split`` ends tokens at any whitespace; these
patterns separate them by spaces only, so a line they match splits into exactly their tokens (a line
with a tab, a control or non-ASCII character is left to the row-by-row path). Repeats are possessive
(``++``): what follows a repeat never starts with a character it takes, so the match is the same, ~20 %
faster."""
_END = "(?![!-~])"
_UNIT = f"(?:{'|'.join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))}){_END}"
_NOT_UNIT = f"(?!{_UNIT})"
_NUMBER = "-?[0-9]++"
_DASH = f"--?{_END}"
_DATE = "[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
"""Dates the ``Time`` column's reader takes for sure (days 29-31 are left to it)."""


def key_pattern(model: ModelShape) -> str | None:
    """A pattern of the row key ``model`` asks for (at most ``key_digits`` ASCII digits, at least
    ``key_min``: 0 or 1), or None."""
    if model.key_min == 0:
        return f"[0-9]{{1,{model.key_digits}}}{_END}"
    if model.key_min == 1:
        return f"(?=[0-9]{{1,{model.key_digits}}}{_END})0*[1-9][0-9]*"
    return None


def _row_pattern(layout: Layout, sample: list[str], model: ModelShape) -> str | None:
    """A regular expression matching only rows the layout's :meth:`RowPlan.check` accepts (a subset: digits
    are ASCII, tokens printable ASCII, a date's day at most 28), so a table whose rows all match needs no
    row-by-row check (:meth:`TableReader.body`). None when the layout has a column it cannot express."""
    key = key_pattern(model)
    if key is None:
        return None
    parts: list[str] = []
    guard = ""
    for i, (_header, _field, how, s, k) in enumerate(layout):
        unit = f" ++{_UNIT}" if k == (3 if how == "soc_pct+coulomb" else 2) and how != "time" else ""
        if s == 0:
            if how != "int" or k != 1 or sample[0].endswith("%"):
                return None  # (a key learnt as "96%" makes a check refusing every row: no pattern)
            token = key
        elif how in ("int", "soc_coulomb"):
            token = f"{_NUMBER}%" if how == "int" and sample[s].endswith("%") else _NUMBER
        elif how in ("str", "unknown"):
            token = _TOKEN
        elif how == "time":
            token = _DATE if k == 2 else _DASH
        elif how == "flag":
            token = f"(?:Y|N|--?){_END}"
        elif how == "soc_pct":
            token = f"{_NUMBER}%"
        elif how == "soc_pct+coulomb":
            token = f"{_NUMBER}% ++[0-9]++"
        else:
            return None
        parts.append(f"{guard}{token}{unit}")
        next_how = layout[i + 1][2] if i + 1 < len(layout) else None
        # RowPlan: after a number or unknown value without its unit, a unit token refuses the row
        guard = _NOT_UNIT if how in ("int", "unknown") and k == 1 and next_how in ("str", "unknown") else ""
    return f" *+{' ++'.join(parts)} *+"


class Whole(NamedTuple):
    """A table that is its command's whole answer, every row accepted as printed (:func:`whole_table`)."""

    head_line: int
    head_raw: str
    headers: tuple[str, ...]
    table: TableReader
    text: str
    """The rows, joined by ``\\n``."""
    lines: array[int]
    """Their line numbers."""

    def pack(self, source: str, read: Callable[[str, str, int], R]) -> tuple[R, ...]:
        return LinePack(source, self.text, self.lines, read, {}).as_field()


def whole_table(
    block: CommandBlock,
    is_header: Callable[[list[str]], bool],
    reader_for: Callable[[tuple[str, ...]], TableReader],
    other_rows: str = "",
) -> Whole | None:
    """The answer as one table when it is one: a header row (blank lines aside) then rows that all match
    a compiled layout's pattern (or ``other_rows``: :meth:`TableReader.body`). Such a table reads the
    same row by row with no warning; checking it is one regular-expression match instead of a split and
    a check per row (issue 17: speed). None otherwise: the caller reads it row by row."""
    lines = block.lines
    numbers: Sequence[int] = block.line_numbers
    if len(numbers) != len(lines):
        numbers = range(block.first_line + 1, block.first_line + 1 + len(lines))
    if "" in lines:
        kept = [n for n, s in zip(numbers, lines, strict=True) if s]
        lines = tuple(filter(None, lines))
        numbers = kept
    if len(lines) < 2 or not is_header(lines[0].split()):
        return None
    headers = header_tokens(lines[0])
    table = reader_for(headers)
    rx = table.body(other_rows)
    text = "\n".join(lines[1:])
    if rx is None or rx.fullmatch(text) is None:
        return None
    return Whole(numbers[0], lines[0], headers, table, text, array("i", numbers[1:]))


class TableReader:
    """Reads rows of one table: the first row of each token count is read column by column and
    its layout compiled; later rows of that count take the compiled path (any surprise in them
    falls back to the column-by-column read, so both give the same result)."""

    __slots__ = ("_body", "_full", "checks", "cols", "has_soc", "model", "patterns", "records")

    def __init__(self, cols: tuple[Column, ...], has_soc_column: bool, model: ModelShape) -> None:
        self.cols = cols
        self.has_soc = has_soc_column
        self.model = model
        self._full: dict[int, RowDict] = {}
        self.records: dict[int, RowRecord] = {}
        """Token count → the reader building a whole record of a row of that count (:meth:`RowPlan.record`);
        a row it refuses (:data:`REFUSED`) is read by the careful path."""
        self.checks: dict[int, RowCheck] = {}
        """Token count → the check refusing exactly what ``records`` refuses, building nothing."""
        self.patterns: dict[int, str] = {}
        """Token count → :func:`_row_pattern` of that layout (when it has one)."""
        self._body: dict[str, re.Pattern[str]] = {}

    def body(self, other_rows: str = "") -> re.Pattern[str] | None:
        """A pattern matching a table's rows joined by ``\\n`` when every one of them is a row some
        compiled layout's check accepts (:attr:`patterns`) or matches ``other_rows`` (a kind of row the
        caller reads itself: ``pwr``'s ``Absent`` rows). None before any layout is compiled."""
        if not self.patterns:
            return None
        key = f"{len(self.patterns)}:{other_rows}"
        rx = self._body.get(key)
        if rx is None:
            # each kind of row must reach its line's end (so the first that matches is the one); the
            # repeat is possessive: no state kept per row (a 170,000-row table: 250 -> 151 MB peak)
            row = "|".join(
                f"(?:{p})(?![^\n])" for p in [*self.patterns.values(), *([other_rows] if other_rows else [])]
            )
            rx = self._body[key] = re.compile(f"(?:{row})(?:\n(?:{row}))*+")
        return rx

    def record_dict(self, tokens: list[str], source: str, line: int, raw: str) -> tuple[dict[str, Any], int]:
        """The whole field dict of the record of row ``raw`` (line ``line`` of ``source``, split into
        ``tokens``; ``extra`` and where it was read included) and the count of tokens left over."""
        n = len(tokens)
        fast = self._full.get(n)
        if fast is not None:
            try:
                return fast(tokens, source, line, raw), 0
            except REFUSED:
                pass
        d, left, layout = self.record_dict_general(tokens, source, line, raw)
        if left == 0 and fast is None and len(self._full) < 8:
            row_plan = RowPlan(layout, tokens, self.model)
            self._full[n], self.records[n], self.checks[n] = row_plan.read, row_plan.record, row_plan.check
            pattern = _row_pattern(layout, tokens, self.model)
            if pattern is not None:
                self.patterns[n] = pattern
        return d, left

    def rebuild(self, raw: str, source: str, line: int) -> Any:
        """The record of a row its compiled reader accepted (:attr:`checks`), built again from its line."""
        tokens = raw.split()
        return self.records[len(tokens)](tokens, source, line, raw)

    def record_dict_general(
        self, tokens: list[str], source: str, line: int, raw: str
    ) -> tuple[dict[str, Any], int, Layout]:
        """:meth:`record_dict` read column by column."""
        values, extra, left, layout = _read_general(tokens, self.cols, self.has_soc)
        d = self.model.defaults.copy()
        d.update(values)
        d.update(extra=extra, source=source, line=line, raw=raw)
        return d, left, layout


@lru_cache(maxsize=64)
def table_reader(headers: tuple[str, ...], known_id: str, has_soc_column: bool = True) -> TableReader:
    """The (cached, pure) reader for one header row; ``known_id`` names the table in KNOWN."""
    columns, model = KNOWN[known_id]
    return TableReader(plan(headers, columns), has_soc_column, model)


KNOWN: dict[str, tuple[Mapping[str, tuple[str, Kind]], ModelShape]] = {}
"""Column maps and record shapes by table name, filled by the modules that own them (pwr, bat)."""
