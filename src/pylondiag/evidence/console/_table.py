"""Whitespace tables read by their header row (never by character offsets).

A header is tokenised on whitespace; ``State``/``Status`` words join the word before them
(``Base State``, ``Volt. State`` in ``bat``). A row is tokenised the same way and values are taken
column by column: a ``Time`` value is two tokens (``2026-07-17 01:20:56``) unless it is ``-``, a
number may be followed by its unit token (``44628 mAH``). Rows may stop early: trailing columns
left blank (``Absent`` rows, columns a module does not have) are None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pylondiag.evidence.console._common import ABSENT_TOKENS, UNITS, BadValue, opt_int

Kind = Literal["int", "str", "time", "flag", "soc_coulomb", "unknown"]
Column = tuple[str, str, Kind]
"""(header as printed, model field name or "" for unknown, value kind)."""

_JOINERS = frozenset({"State", "Status"})


def header_tokens(line: str) -> tuple[str, ...]:
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


def read_row(
    tokens: list[str], cols: tuple[Column, ...], has_soc_column: bool = True
) -> tuple[dict[str, Any], dict[str, str], int]:
    """Values by field, unknown columns by header, and the count of tokens left over.

    Raises :class:`BadValue` for a value of the wrong type.
    """
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    i = 0
    n = len(tokens)
    for header, field, kind in cols:
        if i >= n:
            break
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
            if tok == "Y":
                values[field] = True
            elif tok == "N":
                values[field] = False
            elif tok in ABSENT_TOKENS:
                values[field] = None
            else:
                raise BadValue(f"expected Y or N in column {header!r}, found {tok!r}")
        elif kind == "soc_coulomb":
            # bat "Coulomb": "44628 mAH"; firmware without a SOC column prints "89%  42586 mAH".
            if tok.endswith("%") and not has_soc_column:
                values["soc_pct"] = opt_int(tok)
                if i < n and tokens[i][:1].isdigit():
                    values[field] = opt_int(tokens[i])
                    i += 1
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
    return values, extra, n - i
