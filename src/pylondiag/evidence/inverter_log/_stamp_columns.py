"""A column of timestamps read at once with numpy, when its values are laid out alike.

The row-wise reader (:func:`~pylondiag.evidence.inverter_log._times.parse_times`) tries ISO 8601, then the
numeric and named styles, one value at a time. Exports write one style for the whole file, so this module
reads the column as a matrix of characters instead: values are grouped by *layout* (which characters are
digits, and the others themselves: ``18/11/2026 07:12:40`` → ``99/99/9999 99:99:99``), each layout is
matched once against the styles below, and the digits are read by position as integers. Styles:

* ISO 8601 with an offset or ``Z`` (``2026-11-18T07:12:40.000Z``, ``2026-11-18 07:12:40+01:00``): each
  time keeps its own fixed offset, as ``datetime.fromisoformat`` gives it;
* numeric dates with ``/``, ``.`` or ``-`` and an optional clock (``18/11/2026 07:12``, ``2026/11/18``,
  ``1/2/26 7:05:09``): year first, or day and month decided for the whole file exactly as the row-wise
  reader decides (:func:`~pylondiag.evidence.inverter_log._times.order_decision`).

Anything else — a value in no layout above, more than :data:`MAX_LAYOUTS` layouts, an invalid date or
clock, a mix of naive and offset times, 12-hour clocks, month names — returns None: the caller reads the
file row by row, which warns row by row. A sample of values is re-read by the row-wise functions and
must agree (a guard against a layout read wrongly).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from pylondiag.evidence.inverter_log import _times
from pylondiag.model.console import ParseWarning

IntArray = npt.NDArray[np.int64]

MAX_LAYOUTS: Final = 32
"""Distinct layouts read column-wise (variable-width days, months and hours give up to 16)."""
MAX_WIDTH: Final = 40
"""Longest value read column-wise (characters)."""
_SAMPLE: Final = 9
"""Values per layout re-read row-wise as a check."""
_US: Final = 1_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_US: Final = int(np.datetime64("0001-01-02", "us").astype(np.int64))
_LAST_US: Final = int(np.datetime64("9999-12-30", "us").astype(np.int64))
"""Times read column-wise: a day inside Python's datetime range either side (a zone's offset can move a
time by up to a day)."""

_CLOCK: Final = r"(?P<H>HOUR):(?P<M>99)(?::(?P<S>99)(?:[.,](?P<f>9{1,6}))?)?"
_ISO_AWARE: Final = re.compile(
    r"^(?P<Y>9999)-(?P<m>99)-(?P<d>99)[T ]"
    + _CLOCK.replace("HOUR", "99")
    + r"(?:(?P<z>Z)|(?P<sign>[+-])(?P<oh>99):?(?P<om>99))$"
)
_NUMERIC: Final = re.compile(
    r"^(?P<a>99?|9999)(?P<s>[/.\-])(?P<b>99?)(?P=s)(?P<c>99|9999)(?:[ T]"
    + _CLOCK.replace("HOUR", "99?")
    + ")?$"
)
"""A subset of :data:`_times._NUMERIC`: one separator, no 12-hour clock, no offset."""


@dataclass(frozen=True)
class Stamps:
    """One chunk's times as read; ``style`` is ``wall`` (naive, fully known), ``xx`` (naive, day and
    month not yet told apart) or ``aware`` (each with its own offset)."""

    style: str
    us: IntArray
    """``wall``: µs since 1970 (wall clock as written); ``aware``: the UTC instant in µs; ``xx``: the
    time of day in µs."""
    a: IntArray | None = None
    """``xx``: the first and second numbers of the date and the year."""
    b: IntArray | None = None
    year: IntArray | None = None
    offset_s: IntArray | None = None
    """``aware``: each value's own UTC offset, s."""


@dataclass(frozen=True)
class Resolved:
    """A whole column's times: naive wall clock (µs) or UTC instants with their offsets."""

    wall_us: IntArray | None
    utc_us: IntArray | None
    offset_s: IntArray | None
    warnings: list[ParseWarning]


def read(values: Sequence[str]) -> Stamps | None:
    """The times of ``values`` (one chunk), or None when the row-wise reader must read them."""
    n = len(values)
    if n == 0:
        return Stamps("wall", np.empty(0, np.int64))
    lengths = np.fromiter(map(len, values), np.int64, count=n)
    if int(lengths.max()) > MAX_WIDTH or int(lengths.min()) < len("1/1/26"):
        return None
    try:
        raw = "".join(values).encode("ascii")
    except UnicodeEncodeError:
        return None
    flat = np.frombuffer(raw, np.uint8)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    parts: list[tuple[IntArray, Stamps]] = []
    for width in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == width)
        matrix = flat[starts[rows, None] + np.arange(width)]
        found = _by_layout(matrix, rows, values, parts)
        if not found or len(parts) > MAX_LAYOUTS:
            return None
    return _merge(parts, n)


def _by_layout(
    matrix: npt.NDArray[np.uint8], rows: IntArray, values: Sequence[str], parts: list[tuple[IntArray, Stamps]]
) -> bool:
    """Rows of one width, split by layout and read; False when a layout is not one this module reads."""
    digit = (matrix >= 48) & (matrix <= 57)
    mask = (digit.astype(np.int64) << np.arange(matrix.shape[1], dtype=np.int64)).sum(axis=1)
    keys, which = np.unique(mask, return_inverse=True)  # rows of one width, by where their digits are
    if keys.shape[0] > MAX_LAYOUTS:
        return False
    for k in range(keys.shape[0]):
        mine = np.flatnonzero(which.reshape(-1) == k)
        sub = matrix[mine]
        layout = np.where(digit[mine[0]], np.uint8(57), sub[0])  # every digit as '9'
        others = np.flatnonzero(~digit[mine[0]])
        if (sub[:, others] != sub[0, others]).any():
            return False  # same digits, different separators: not one layout
        sample = [values[int(i)] for i in rows[mine[:_SAMPLE]]]
        stamps = _read_layout(bytes(layout).decode("ascii"), sub, sample)
        if stamps is None:
            return False
        parts.append((rows[mine], stamps))
    return True


def _digits(matrix: npt.NDArray[np.uint8], span: tuple[int, int]) -> IntArray:
    out = np.zeros(matrix.shape[0], np.int64)
    for p in range(*span):
        out = out * 10 + (matrix[:, p].astype(np.int64) - 48)
    return out


def _field(matrix: npt.NDArray[np.uint8], m: re.Match[str], name: str) -> IntArray | None:
    return _digits(matrix, m.span(name)) if m[name] is not None else None


def _time_of_day(matrix: npt.NDArray[np.uint8], m: re.Match[str]) -> IntArray | None:
    """µs since midnight, None when a clock is out of range."""
    zero = np.zeros(matrix.shape[0], np.int64)
    hour = _field(matrix, m, "H")
    minute = _field(matrix, m, "M")
    second = _field(matrix, m, "S")
    hour, minute, second = (zero if x is None else x for x in (hour, minute, second))
    micro = zero
    if m["f"] is not None:
        micro = _digits(matrix, m.span("f")) * 10 ** (6 - len(m["f"]))
    if (hour > 23).any() or (minute > 59).any() or (second > 59).any():
        return None
    out: IntArray = ((hour * 60 + minute) * 60 + second) * _US + micro
    return out


def _days(year: IntArray, month: IntArray, day: IntArray) -> IntArray | None:
    """Days since 1970-01-01 of each date, None when any date does not exist."""
    if ((month < 1) | (month > 12) | (day < 1) | (year < 1)).any():
        return None
    months = (year - 1970) * 12 + (month - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    after = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    if (day > after - first).any():
        return None
    out: IntArray = first + day - 1
    return out


def _read_layout(layout: str, matrix: npt.NDArray[np.uint8], sample: list[str]) -> Stamps | None:
    m = _ISO_AWARE.match(layout)
    if m is not None:
        return _iso_aware(m, matrix, sample)
    m = _NUMERIC.match(layout)
    if m is not None:
        return _numeric(m, matrix, sample)
    return None


def _iso_aware(m: re.Match[str], matrix: npt.NDArray[np.uint8], sample: list[str]) -> Stamps | None:
    tod = _time_of_day(matrix, m)
    days = _days(_digits(matrix, m.span("Y")), _digits(matrix, m.span("m")), _digits(matrix, m.span("d")))
    if tod is None or days is None:
        return None
    offset = np.zeros(matrix.shape[0], np.int64)
    if m["sign"] is not None:
        hours, minutes = _digits(matrix, m.span("oh")), _digits(matrix, m.span("om"))
        if (hours > 23).any() or (minutes > 59).any():
            return None
        sign = np.where(matrix[:, m.start("sign")] == ord("-"), -1, 1)
        offset = sign * (hours * 3600 + minutes * 60)
    written = days * 86400 * _US + tod
    stamps = Stamps("aware", written - offset * _US, offset_s=offset)
    for value, utc, off in zip(sample, stamps.us.tolist(), offset.tolist(), strict=False):
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            return None
        off_t = t.utcoffset()
        if off_t is None or int(off_t.total_seconds()) != off or _utc_us(t) != utc:
            return None
    return stamps


def _utc_us(t: datetime) -> int:
    """µs since 1970 UTC of an aware time, exactly."""
    return (t - _EPOCH) // timedelta(microseconds=1)


def _numeric(m: re.Match[str], matrix: npt.NDArray[np.uint8], sample: list[str]) -> Stamps | None:
    tod = _time_of_day(matrix, m)
    if tod is None:
        return None
    a, b, c = (_digits(matrix, m.span(g)) for g in ("a", "b", "c"))
    if len(m["c"]) == 2 and len(m["a"]) != 4:
        c = c + 2000
    for value, ai, bi, ci in zip(sample, a.tolist(), b.tolist(), c.tolist(), strict=False):
        p = _times._split(value)
        if not isinstance(p, _times._Parts) or p.tz is not None:
            return None
        want = (p.year, p.a, p.b) if p.order == "ymd" else (p.a, p.b, p.year)
        if want != (ai, bi, ci):
            return None
    if len(m["a"]) == 4:  # year first
        days = _days(a, b, c)
        return None if days is None else Stamps("wall", days * 86400 * _US + tod)
    return Stamps("xx", tod, a=a, b=b, year=c)


def _merge(parts: list[tuple[IntArray, Stamps]], n: int) -> Stamps | None:
    """One chunk's layouts put back in row order; None when they mix styles."""
    styles = {s.style for _, s in parts}
    if len(styles) != 1:
        return None
    style = styles.pop()
    if len(parts) == 1:
        return parts[0][1]

    def gather(name: str) -> IntArray | None:
        if getattr(parts[0][1], name) is None:
            return None
        out = np.empty(n, np.int64)
        for rows, s in parts:
            out[rows] = getattr(s, name)
        return out

    us = gather("us")
    assert us is not None
    return Stamps(style, us, gather("a"), gather("b"), gather("year"), gather("offset_s"))


def resolve(chunks: Sequence[Stamps], first_line: int, zone: ZoneInfo, source: str) -> Resolved | None:
    """A column's chunks as one: day and month told apart for the whole column as the row-wise reader
    does (``first_line``: the line of its first value, where a warning would point). None when the
    chunks mix styles or a date does not exist."""
    if not chunks:
        return Resolved(np.empty(0, np.int64), None, None, [])
    styles = {c.style for c in chunks}
    if len(styles) != 1:
        return None
    style = styles.pop()
    us = np.concatenate([c.us for c in chunks])
    if style == "aware":
        offset = np.concatenate([c.offset_s for c in chunks if c.offset_s is not None])
        return _bounded(Resolved(None, us, offset, []))
    if style == "wall":
        return _bounded(Resolved(us, None, None, []))
    a, b, year = (np.concatenate([getattr(c, k) for c in chunks]) for k in ("a", "b", "year"))
    decided = _day_first(a, b, year, us, zone)
    if decided is None:
        return None
    day_first, warned = decided
    days = _days(year, b, a) if day_first else _days(year, a, b)
    if days is None:
        return None
    warnings = [_times.ambiguous_warning(source, first_line, (int(a[0]), int(b[0]), int(year[0])), zone)]
    return _bounded(Resolved(days * 86400 * _US + us, None, None, warnings if warned else []))


def _bounded(r: Resolved) -> Resolved | None:
    us = r.wall_us if r.wall_us is not None else r.utc_us
    assert us is not None
    if us.size and (int(us.min()) < _FIRST_US or int(us.max()) > _LAST_US):
        return None
    return r


def _steps(us: IntArray) -> tuple[int, float]:
    """(the smaller of up and down steps, total time stepped in s) of times in row order, as
    :func:`_times._inversions` and :func:`_times._travel` count them."""
    d = np.diff(us)
    inversions = min(int((d > 0).sum()), int((d < 0).sum()))
    return inversions, sum((np.abs(d) / _US).tolist())


def _day_first(
    a: IntArray, b: IntArray, year: IntArray, tod: IntArray, zone: ZoneInfo
) -> tuple[bool, bool] | None:
    """(day first?, decided only by the site's zone?) for ``nn/nn/yyyy`` dates, as
    :func:`_times._decide_order` decides; None when some dates are invalid either way."""
    dmy, mdy = int((a > 12).sum()), int((b > 12).sum())
    if dmy or mdy:
        return (dmy >= mdy if dmy and mdy else bool(dmy)), False
    by_dmy, by_mdy = _days(year, b, a), _days(year, a, b)
    if by_dmy is None or by_mdy is None:
        return None  # a 0 day or month: the row-wise reader warns row by row
    enough = a.shape[0] >= _times._MIN_ROWS_FOR_ORDER
    inv_dmy, span_dmy = _steps(by_dmy * 86400 * _US + tod)
    inv_mdy, span_mdy = _steps(by_mdy * 86400 * _US + tod)
    if inv_dmy != inv_mdy and enough:
        return inv_dmy < inv_mdy, False
    if enough and min(span_dmy, span_mdy) < _times._DENSER * max(span_dmy, span_mdy):
        return span_dmy < span_mdy, False
    return _times.zone_day_first(zone), True
