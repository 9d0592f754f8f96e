"""The plain alternative to the console table's generated row readers, for ``bench/parse.py`` to measure.

``evidence/console/_table.py`` reads a table row with a small function generated as source text per row
layout (``_compile``, run with ``exec``): every column's conversion inlined in one dict display. Issue 17
keeps that only if plain typed converters cannot reach the parse target. This is the plain form: per
row layout, a tuple of ``(field, converter, token index)`` built once and applied in a loop, with the
same checks (unit tokens where the learnt row had them, none where it had not), so both give the same
records — ``bench/parse.py --converters`` parses the same session with each and prints both figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pylondiag.evidence.console import _table
from pylondiag.evidence.console._build import raw_builder
from pylondiag.evidence.console._common import ABSENT_TOKENS, UNITS, BadValue, small_int
from pylondiag.evidence.console._table import _FLAGS, Layout, ModelShape, RowCheck, RowDict, RowRecord, _time


def _text(tok: str) -> str | None:
    return None if tok in ABSENT_TOKENS else tok


def _pct(tok: str) -> int:
    if tok[-1:] != "%":
        raise BadValue(tok)
    return int(tok[:-1])


def _dash(tok: str) -> None:
    if tok not in ABSENT_TOKENS:
        raise BadValue(tok)
    return None


def _count(tok: str) -> int:
    """A count after ``89%`` (firmware without a SOC column): the careful path takes only digits."""
    if not tok[:1].isdecimal():
        raise BadValue(tok)
    return int(tok)


class RowPlan:
    """How rows shaped like one learnt row are read: one converter per column at a fixed token index."""

    __slots__ = ("build", "defaults", "extras", "model", "no_unit", "pairs", "plan", "unit")

    def __init__(self, layout: Layout, sample: list[str], model: ModelShape) -> None:
        plan: list[tuple[str, Callable[[str], Any], int]] = []
        pairs: list[tuple[str, int]] = []
        extras: list[tuple[str, int, int]] = []
        unit: list[int] = []
        no_unit: list[int] = []
        for n, (header, field, how, s, k) in enumerate(layout):
            after = layout[n + 1][2] if n + 1 < len(layout) else None
            if how in ("int", "unknown") and k == 1 and after in ("str", "unknown"):
                no_unit.append(s + 1)  # a unit here would be read as the next column's text
            if how in ("int", "soc_coulomb"):
                plan.append((field, _pct if how == "int" and sample[s].endswith("%") else int, s))
            elif how == "str":
                plan.append((field, _text, s))
            elif how == "time":
                if k == 2:
                    pairs.append((field, s))
                else:
                    plan.append((field, _dash, s))
            elif how == "flag":
                plan.append((field, _FLAGS.__getitem__, s))
            elif how in ("soc_pct+coulomb", "soc_pct"):
                plan.append(("soc_pct", _pct, s))
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
        self.build = raw_builder(model.cls)

    def _units(self, t: list[str]) -> None:
        """Refuses a row with a unit token missing where the learnt row had one, or present where not."""
        for i in self.unit:
            if t[i] not in UNITS:
                raise BadValue("layout")
        for i in self.no_unit:
            if t[i] in UNITS:
                raise BadValue("layout")

    def read(self, t: list[str], source: str, line: int, raw: str) -> dict[str, Any]:
        self._units(t)
        d = self.defaults.copy()
        for field, convert, i in self.plan:
            d[field] = convert(t[i])
        for field, i in self.pairs:
            d[field] = _time(t[i], t[i + 1])
        d["extra"] = {h: t[s] if k == 1 else f"{t[s]} {t[s + 1]}" for h, s, k in self.extras}
        d.update(source=source, line=line, raw=raw)
        return d

    def check(self, t: list[str]) -> None:
        """Refuses what :meth:`record` refuses, building nothing (the table loops keep the line)."""
        key = small_int(t[0], self.model.key_digits)
        if key is None or key < self.model.key_min:
            raise BadValue("key")
        self._units(t)
        for _field, convert, i in self.plan:
            convert(t[i])
        for _field, i in self.pairs:
            _time(t[i], t[i + 1])

    def record(self, t: list[str], source: str, line: int, raw: str) -> Any:
        """The record itself, when the row's key token is what the careful path accepts."""
        key = small_int(t[0], self.model.key_digits)
        if key is None or key < self.model.key_min:
            raise BadValue("key")
        d = self.read(t, source, line, raw)
        if self.model.key_field is not None:
            d[self.model.key_field] = key
        return self.build(d)


def compile_plan(layout: Layout, sample: list[str], model: ModelShape) -> tuple[RowDict, RowRecord, RowCheck]:
    plan = RowPlan(layout, sample, model)
    return plan.read, plan.record, plan.check


@contextmanager
def installed() -> Iterator[None]:
    """Table rows read by :class:`RowPlan` instead of the generated readers, for as long as it lasts."""
    generated = _table._compile
    _table._compile = compile_plan
    _table.table_reader.cache_clear()
    try:
        yield
    finally:
        _table._compile = generated
        _table.table_reader.cache_clear()
