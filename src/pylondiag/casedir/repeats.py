"""Inverter-log rows read twice: counted once.

Owners export the same log twice with overlapping dates, or add the same file twice to a case; every
row of the overlap is then in the case two times and every count a rule makes of it doubles ("80 of 80
trips", "80 BMS communication failures" for 40). A row is a *repeat* when an earlier row (in reading
order: files in the order read, rows in file order) has the same instant, code, message, kind, severity,
temperature, module and the same line text once its date and time, quotes and spaces are taken out
(another export may write the instant in another zone or date format, quote fields or end lines
differently), so that any column the reader does not keep (a voltage, SOC, an "occurred / recovered"
field) also counts.
Rows that share an instant but differ in anything are different events and are all kept.

The first occurrence stays (findings cite it); each file with repeats gets one gap saying how many of
its rows were set aside and where the first repeat is (the line cited in the "(first: ...)" note is for
the engineer; the owner's copy of the text drops it, ``report/plain.py``).

Cost: a log whose times strictly increase and whose span overlaps no other log's (every export as
written) is checked with one pass over its time column; only rows sharing an instant with another row
are looked at further (their line text hashed once each).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from pylondiag.casedir import gaps
from pylondiag.model.columns import EventColumns, EventPair
from pylondiag.model.stack import EvidenceGap

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pylondiag.evidence.inverter_log.columns import LogColumns

    IntArray = npt.NDArray[np.int64]


def once(logs: list[LogColumns]) -> tuple[list[LogColumns], list[EvidenceGap]]:
    """``logs`` with every repeated event row left out, and one gap per file that had any."""
    parts = [log.events for log in logs]
    if not may_repeat(parts):
        return logs, []
    import numpy as np

    starts = np.cumsum([0, *(len(c) for c in parts)])
    first_of = _first_occurrence(parts, starts)
    repeated = np.nonzero(first_of != np.arange(len(first_of)))[0]
    if repeated.shape[0] == 0:
        return logs, []
    part_of = np.searchsorted(starts, repeated, side="right") - 1
    out: list[LogColumns] = []
    found: list[EvidenceGap] = []
    for k, log in enumerate(logs):
        mine = repeated[part_of == k]
        if mine.shape[0] == 0:
            out.append(log)
            continue
        keep = np.ones(len(parts[k]), dtype=np.bool_)
        keep[mine - starts[k]] = False
        out.append(dataclasses.replace(log, events=parts[k].take(keep)))
        found.append(_gap(parts, starts, int(mine[0]), int(first_of[mine[0]]), mine.shape[0]))
    return out, found


def may_repeat(parts: Sequence[EventColumns]) -> bool:
    """False when no two rows can share an instant: each part's times strictly increase and no two
    parts' spans overlap (one pass over each time column)."""
    spans: list[tuple[float, float]] = []
    for c in parts:
        if len(c) == 0:
            continue
        utc = c.utc_s
        if len(c) > 1 and not bool((utc[1:] > utc[:-1]).all()):
            return True
        spans.append((float(utc[0]), float(utc[-1])))
    spans.sort()
    return any(later[0] <= earlier[1] for earlier, later in itertools.pairwise(spans))


def _first_occurrence(parts: Sequence[EventColumns], starts: IntArray) -> IntArray:
    """For every row (global index: part ``k``'s row ``i`` is ``starts[k] + i``) the global index of the
    first row identical to it (itself when it is the first).

    Two passes: rows whose whole line is the same (a file added twice, overlapping exports of one format:
    a plain hash per line), then, among the rows left that still share an instant, lines compared without
    their date and time (:func:`_plain_hash`: a regex per line, so only for the few rows the first pass
    could not settle). Every line equal as a whole is also equal without its time, so the second pass
    only joins groups of the first, and the earliest row of the joined group stays."""
    import numpy as np

    utc = np.concatenate([c.utc_s for c in parts])
    first: IntArray = np.arange(utc.shape[0], dtype=np.int64)
    candidates = rows = _sharing_an_instant(utc, first)
    if rows.shape[0] == 0:
        return first
    fields = _fields(parts, candidates)
    for text_of in (_raw_hash, _plain_hash):
        at = np.searchsorted(candidates, rows)  # both in reading order; rows ⊆ candidates
        _group(rows, [_hashes(parts, starts, rows, text_of), *(f[at] for f in fields)], first)
        kept = rows[first[rows] == rows]
        rows = _sharing_an_instant(utc[kept], kept)
        if rows.shape[0] == 0:
            break
    first[candidates] = first[first[candidates]]  # joined in the second pass: to the joined group's first
    return first


def _sharing_an_instant(utc: npt.NDArray[np.float64], rows: IntArray) -> IntArray:
    """Those of ``rows`` (global indexes, their instants ``utc``) whose instant another shares, in
    reading order."""
    import numpy as np

    order = np.argsort(utc, kind="stable")
    ordered = utc[order]
    shared = np.zeros(rows.shape[0], dtype=np.bool_)
    same = ordered[1:] == ordered[:-1]
    shared[1:] |= same
    shared[:-1] |= same
    out: IntArray = np.sort(rows[order[shared]])
    return out


def _group(rows: IntArray, keys: list[npt.NDArray[np.generic]], first: IntArray) -> None:
    """``first[r]`` := the earliest of ``rows`` whose ``keys`` all equal ``r``'s."""
    import numpy as np

    by_key = np.lexsort((rows, *keys))  # identical keys grouped, each group in reading order
    same_key = np.ones(rows.shape[0] - 1, dtype=np.bool_)
    for k in keys:
        ordered = k[by_key]
        same_key &= ordered[1:] == ordered[:-1]
    group_start = np.arange(rows.shape[0], dtype=np.int64)
    group_start[1:][same_key] = 0
    group_start = np.maximum.accumulate(group_start)
    first[rows[by_key]] = first[rows[by_key][group_start]]


def _fields(parts: Sequence[EventColumns], rows: IntArray) -> list[npt.NDArray[np.generic]]:
    """What else makes two of ``rows`` (global indexes) the same event, one array per field, least
    significant first: temperature, module, severity, kind, the (code, message) pair, the site's wall clock,
    the instant. The wall clock as well: a naive time in the hour the spring clock change skips (01:30) is
    read as the same instant as the hour after it (02:30), but they are two rows an hour apart."""
    import numpy as np

    pair_ids: dict[EventPair, int] = {}
    ids = [np.array([pair_ids.setdefault(p, len(pair_ids)) for p in c.pairs] or [0], np.int64) for c in parts]
    cat = {
        name: np.concatenate([getattr(c, name) for c in parts])
        for name in ("kind", "severity", "module", "temperature_c", "local_us", "utc_s")
    }
    return [
        np.nan_to_num(cat["temperature_c"][rows], nan=np.inf),
        cat["module"][rows],
        cat["severity"][rows],
        cat["kind"][rows],
        np.concatenate([ids[k][c.pair] for k, c in enumerate(parts)])[rows],
        cat["local_us"][rows],
        cat["utc_s"][rows],
    ]


def _hashes(
    parts: Sequence[EventColumns], starts: IntArray, rows: IntArray, text_of: Callable[[str], int]
) -> npt.NDArray[np.int64]:
    """``text_of`` each of ``rows``' line text (global indexes)."""
    import numpy as np

    part_of = np.searchsorted(starts, rows, side="right") - 1
    return np.fromiter(
        (text_of(_line(parts[int(k)], int(r - starts[k]))) for k, r in zip(part_of, rows, strict=True)),
        dtype=np.int64,
        count=rows.shape[0],
    )


def _line(c: EventColumns, i: int) -> str:
    """Row ``i``'s line as written."""
    if c.objects is not None and not c.lines:
        return c.objects[i].provenance.raw
    line = int(c.line[i])
    return c.lines[line - 1] if 0 < line <= len(c.lines) else ""


_STAMP: Final = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?"
)
"""A date and time as exports write them (ISO, day-first, with an offset or ``Z``): taken out of a line
before lines are compared, since the instant itself is compared exactly (an export in another zone or
re-saved with another date format writes the same instant differently). Linear: no nested repetition."""
_NOISE: Final = re.compile(r'"|\s+')


def _raw_hash(text: str) -> int:
    """The line as written, ends stripped (64-bit hash: two different lines of one instant, code and
    message colliding is not a real risk)."""
    return hash(text.strip())


def _plain_hash(text: str) -> int:
    """The line without its date and time, quotes and spaces."""
    return hash(_NOISE.sub("", _STAMP.sub("", text, count=1)))


def _gap(parts: Sequence[EventColumns], starts: IntArray, row: int, first: int, count: int) -> EvidenceGap:
    import numpy as np

    k = int(np.searchsorted(starts, row, side="right") - 1)
    f = int(np.searchsorted(starts, first, side="right") - 1)
    line = int(parts[k].line[row - starts[k]])
    first_line = int(parts[f].line[first - starts[f]])
    text = gaps.repeated_rows(parts[k].source, count, line, parts[f].source, first_line)
    return EvidenceGap(text=text, source=parts[k].source)
