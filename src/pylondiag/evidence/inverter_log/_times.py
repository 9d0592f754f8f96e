"""Timestamps as event logs write them, read into timezone-aware datetimes.

Styles accepted (one style per file is expected, each row still falls back on the others):

* ISO 8601 (``2026-11-18 07:12:40``, ``2026-11-18T07:12:40Z``, ``...+01:00``) — the generic CSV's style;
* numeric day/month/year with ``/``, ``-`` or ``.`` (``18/11/2026 07:12``, ``11/18/26 7:12:40 PM``),
  year first (``2026/11/18``); 12-hour clocks with ``AM``/``PM``;
* month names (``18 Nov 2026 07:12``, ``Nov 18, 2026 7:12:40 PM``);
* Unix epoch seconds or milliseconds.

Naive times are local to the site timezone. Whether ``03/04/2026`` is the 3rd of April or the 4th of
March is decided from the rest of the file: a day above 12 in either place settles it; otherwise the
reading whose times run in order wins; otherwise the site's convention (month first only for
``America/*`` zones) is used and a warning says so. In the autumn clock change the repeated hour is
resolved by the order of the log (the second pass through the hour is the later one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from itertools import pairwise
from typing import Final
from zoneinfo import ZoneInfo

from pylondiag.model.console import ParseWarning

_NUMERIC: Final = re.compile(
    r"""^\s*+(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{2,4})
    (?:[\sT,]++(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6})\d*+)?)?
       \s*+(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?)?
    \s*+(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*+$""",
    re.X,
)
"""Possessive quantifiers (``*+``, ``++``): no run of spaces or digits is ever given back and re-split
between neighbouring quantifiers, so a long run followed by an odd character fails in linear time."""
_NAMED: Final = re.compile(
    r"""^\s*+(?:[A-Za-z]{3,9},?\s++)??
    (?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?[\s\-/]++(?P<m1>[A-Za-z]{3,9})\.?
      |(?P<m2>[A-Za-z]{3,9})\.?\s++(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?)
    [\s\-/,]++(?P<y>\d{4}),?
    (?:[\sT,]++(?:at\s++)?(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6})\d*+)?)?
       \s*+(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?)?
    \s*+(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*+$""",
    re.X,
)
MAX_TIME_CHARS: Final = 64
"""A time cell longer than this (characters, after stripping) is not a time: refused before any regex."""
_DIRECTION_SAMPLE: Final = 5000
"""Rows looked at to tell a log written oldest-first from one written newest-first."""
_MIN_ROWS_FOR_ORDER: Final = 3
"""Ambiguous rows needed before their order or spacing may decide day-first vs month-first."""
_DENSER: Final = 0.5
"""One reading must step through less than half the time of the other to be preferred."""
_EPOCH: Final = re.compile(r"^\s*+(\d{10}|\d{13})(?:\.\d++)?\s*+$")
_MONTHS: Final = {
    name: i + 1
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        )
    )
    for name in names.split()
}


@dataclass(slots=True)
class _Parts:
    """A date/time split into numbers before day and month are told apart."""

    a: int  # first number: day (DMY), month (MDY) or year (YMD)
    b: int
    year: int
    hour: int
    minute: int
    second: int
    micro: int
    tz: tzinfo | None
    order: str  # "ymd", "named" (day and month known) or "xx" (day/month not yet known)


@dataclass
class TimeColumn:
    """The times of one column, one per input value (None where unreadable), and what was decided."""

    times: list[datetime | None]
    warnings: list[ParseWarning] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    day_first: bool | None = None


def _tz(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _clock(m: re.Match[str]) -> tuple[int, int, int, int] | None:
    if m["H"] is None:
        return 0, 0, 0, 0
    hour, minute = int(m["H"]), int(m["M"])
    second = int(m["S"] or 0)
    micro = int((m["f"] or "0").ljust(6, "0")[:6])
    ampm = m["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            return None
        pm = ampm[0] in "Pp"
        hour = (hour % 12) + (12 if pm else 0)
    return hour, minute, second, micro


def _split(value: str) -> _Parts | datetime | None:
    """Parts of a non-ISO value, an aware datetime for epochs, or None when no style fits."""
    value = value.strip()
    if len(value) > MAX_TIME_CHARS:
        return None
    m = _NUMERIC.match(value)
    if m:
        clock = _clock(m)
        if clock is None:
            return None
        a, b, c = m["a"], int(m["b"]), m["c"]
        if len(a) == 4:
            return _Parts(int(m["b"]), int(c), int(a), *clock, _tz(m["tz"]), "ymd")
        if len(c) == 3:
            return None
        year = int(c) + (2000 if len(c) == 2 else 0)
        return _Parts(int(a), b, year, *clock, _tz(m["tz"]), "xx")
    m = _NAMED.match(value)
    if m:
        month = _MONTHS.get((m["m1"] or m["m2"]).lower())
        clock = _clock(m)
        if month is None or clock is None:
            return None
        return _Parts(int(m["d1"] or m["d2"]), month, int(m["y"]), *clock, _tz(m["tz"]), "named")
    m = _EPOCH.match(value)
    if m:
        raw = int(m[1])
        return datetime.fromtimestamp(raw / 1000 if len(m[1]) == 13 else raw, UTC)
    return None


def _build(p: _Parts, day_first: bool) -> datetime | None:
    if p.order == "ymd":
        y, mo, d = p.year, p.a, p.b
    elif p.order == "named" or day_first:
        y, mo, d = p.year, p.b, p.a
    else:
        y, mo, d = p.year, p.a, p.b
    try:
        return datetime(y, mo, d, p.hour, p.minute, p.second, p.micro, tzinfo=p.tz)
    except ValueError:
        return None


def _inversions(times: Sequence[datetime | None]) -> int:
    """How far a sequence is from sorted either way: the smaller of its up and down steps."""
    seq = [t.replace(tzinfo=None) for t in times if t is not None]
    up = sum(1 for x, y in pairwise(seq) if y > x)
    down = sum(1 for x, y in pairwise(seq) if y < x)
    return min(up, down)


def _travel(times: Sequence[datetime | None]) -> float:
    """Total time stepped between consecutive rows, in seconds (how spread the reading makes the log)."""
    seq = [t.replace(tzinfo=None) for t in times if t is not None]
    return sum(abs((y - x).total_seconds()) for x, y in pairwise(seq))


def _localize(
    naive: list[datetime | None], zone: ZoneInfo, ascending: bool | None = None
) -> list[datetime | None]:
    """Attach the site zone; the repeated autumn hour takes ``fold`` from the log's order.

    ``ascending`` (oldest first) is found from the first rows when not given.
    """
    if ascending is None:
        sample = [t for t in naive[:_DIRECTION_SAMPLE] if t is not None and t.tzinfo is None]
        ascending = sum(y >= x for x, y in pairwise(sample)) >= sum(y < x for x, y in pairwise(sample))
    hour_kind: dict[tuple[int, int, int, int], bool] = {}
    out: list[datetime | None] = []
    fold = 0 if ascending else 1
    fold_day: tuple[int, ...] = ()
    prev: datetime | None = None
    for n in naive:
        if n is None:
            out.append(None)
            continue
        if n.tzinfo is not None:
            out.append(n)
            continue
        key = (n.year, n.month, n.day, n.hour)
        ambiguous = hour_kind.get(key)
        if ambiguous is None:
            offsets = {n.replace(tzinfo=zone, fold=f).utcoffset() for f in (0, 1)}
            ambiguous = len(offsets) > 1
            hour_kind[key] = ambiguous
        if not ambiguous:
            out.append(n.replace(tzinfo=zone))
            prev = n
            continue
        if key[:3] != fold_day:
            fold_day, fold = key[:3], (0 if ascending else 1)
        elif prev is not None and ((ascending and n < prev) or (not ascending and n > prev)):
            fold = 1 - fold  # the clock went back: second pass through the hour (or first, read backwards)
        out.append(n.replace(tzinfo=zone, fold=fold))
        prev = n
    return out


def parse_times(values: Sequence[str], lines: Sequence[int], zone: ZoneInfo, source: str) -> TimeColumn:
    """Read one column of timestamps; ``lines[i]`` is the file line of ``values[i]``."""
    naive: list[datetime | None] = [None] * len(values)
    pending: list[tuple[int, _Parts]] = []
    bad: list[int] = []
    fromiso = datetime.fromisoformat
    for i, value in enumerate(values):
        try:
            naive[i] = fromiso(value)
            continue
        except ValueError:
            pass
        parts = _split(value)
        if parts is None:
            bad.append(i)
        elif isinstance(parts, datetime):
            naive[i] = parts
        else:
            pending.append((i, parts))

    column = TimeColumn(times=naive)
    ambiguous = [(i, p) for i, p in pending if p.order == "xx"]
    if ambiguous:
        column.day_first = _decide_order(ambiguous, lines, zone, column, source)
    for i, p in pending:
        t = _build(p, column.day_first if column.day_first is not None else True)
        if t is None:
            style = "calendar"
            if p.order == "xx":
                style = "day-first" if column.day_first in (True, None) else "month-first"
            column.warnings.append(
                ParseWarning(
                    source=source,
                    line=lines[i],
                    message=f"not a valid {style} date: {values[i]!r}",
                    raw=values[i],
                )
            )
        naive[i] = t
    for i in bad:
        column.warnings.append(
            ParseWarning(
                source=source,
                line=lines[i],
                message=f"unreadable time {values[i]!r} (expected ISO 8601 like 2026-11-18 07:12:40, "
                "or 18/11/2026 07:12:40)",
                raw=values[i],
            )
        )
    column.times = _localize(naive, zone)
    column.warnings.sort(key=lambda w: w.line)
    return column


def _decide_order(
    ambiguous: list[tuple[int, _Parts]],
    lines: Sequence[int],
    zone: ZoneInfo,
    column: TimeColumn,
    source: str,
) -> bool:
    """Day-first or month-first for a file's ``nn/nn/yyyy`` dates; notes or warns how it was decided."""
    dmy_line = next((lines[i] for i, p in ambiguous if p.a > 12), None)
    mdy_line = next((lines[i] for i, p in ambiguous if p.b > 12), None)
    if dmy_line is not None and mdy_line is None:
        column.notes.append(f"dates read day-first (UK): line {dmy_line} has a day above 12 first")
        return True
    if mdy_line is not None and dmy_line is None:
        column.notes.append(f"dates read month-first (US): line {mdy_line} has a day above 12 second")
        return False
    if dmy_line is not None and mdy_line is not None:
        dmy = sum(1 for _, p in ambiguous if p.a > 12)
        mdy = sum(1 for _, p in ambiguous if p.b > 12)
        day_first = dmy >= mdy
        column.notes.append(
            f"dates mix day-first (e.g. line {dmy_line}) and month-first (e.g. line {mdy_line}); "
            f"read {'day' if day_first else 'month'}-first, the majority"
        )
        return day_first
    by_dmy = [_build(p, True) for _, p in ambiguous]
    by_mdy = [_build(p, False) for _, p in ambiguous]
    inv_dmy, inv_mdy = _inversions(by_dmy), _inversions(by_mdy)
    if inv_dmy != inv_mdy and len(ambiguous) >= _MIN_ROWS_FOR_ORDER:
        day_first = inv_dmy < inv_mdy
        column.notes.append(
            f"dates such as {_example(ambiguous[0][1])} are ambiguous; read "
            f"{'day' if day_first else 'month'}-first because the times then run in order"
        )
        return day_first
    span_dmy, span_mdy = _travel(by_dmy), _travel(by_mdy)
    if len(ambiguous) >= _MIN_ROWS_FOR_ORDER and min(span_dmy, span_mdy) < _DENSER * max(span_dmy, span_mdy):
        day_first = span_dmy < span_mdy
        column.notes.append(
            f"dates such as {_example(ambiguous[0][1])} are ambiguous; read "
            f"{'day' if day_first else 'month'}-first because the events then lie days, not months, apart"
        )
        return day_first
    day_first = zone_day_first(zone)
    p = ambiguous[0][1]
    column.warnings.append(ambiguous_warning(source, lines[ambiguous[0][0]], (p.a, p.b, p.year), zone))
    return day_first


def zone_day_first(zone: ZoneInfo) -> bool:
    """The site's convention for dates nothing else decides: month first only for ``America/*``."""
    return not zone.key.startswith("America/")


def ambiguous_warning(source: str, line: int, example: tuple[int, int, int], zone: ZoneInfo) -> ParseWarning:
    """The warning for a file whose day and month only the site's timezone told apart (``example``:
    the first date's two numbers and year)."""
    read_as = "day-first (UK)" if zone_day_first(zone) else "month-first (US)"
    date = f"{example[0]:02d}/{example[1]:02d}/{example[2]}"
    return ParseWarning(
        source=source,
        line=line,
        message=f"ambiguous dates (e.g. {date}): day and month cannot be told apart from the file; read "
        f"{read_as} from the site timezone {zone.key} — check",
    )


def _example(p: _Parts) -> str:
    return f"{p.a:02d}/{p.b:02d}/{p.year}"
