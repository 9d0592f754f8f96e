"""Constructors for the record models (the parsers' hot path).

The parsers build values of the right types themselves, so pydantic validation would only repeat the
work. Records built with the same field names share one ``model_fields_set`` set object (a set per
record was ~370 B, a tenth of what a 20 MB capture keeps: issue 17, memory): these models are frozen and
pydantic never changes that set in place (``model_copy`` copies it first).

The four objects every command block makes (the block, its record, two provenances) are written through
pydantic's slots, as ``model_construct`` would leave them (field order, fields-set, no extra, no private):
issue 17 keeps slot writes only where the public constructors miss the parse target, and on an idle fresh
clone they did (26.6-29.4 MB/s against 30; docs/benchmarks.md). This module is the only place that does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from pylondiag.model.console import (
    BatCell,
    BatTable,
    CommandBlock,
    InfoRecord,
    KeyValue,
    Provenance,
    PwrDetail,
    PwrTable,
    StatCounters,
)

M = TypeVar("M", bound=BaseModel)


_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_new = object.__new__


def filled(cls: type[M], d: dict[str, Any], fields_set: set[str]) -> M:
    """An instance of ``cls`` holding ``d`` (every field, in field order) as ``model_construct`` leaves one:
    ``model_fields_set`` = ``fields_set`` (shared, never changed in place), no extra, no private."""
    m = _new(cls)
    _set_dict(m, d)
    _set_fields(m, fields_set)
    _set_extra(m, None)
    _set_private(m, None)
    return m


def constructor(cls: type[M]) -> Callable[..., M]:
    """What ``cls.model_construct`` does (defaults filled, ``model_fields_set`` = the names given, one set
    shared per combination of names), by pydantic's slots directly: issue 17's rule keeps slot writes where
    ``model_construct`` misses the parse target (PROTOTYPE, not landed)."""
    known = frozenset(cls.__pydantic_fields__)
    given: dict[tuple[str, ...], set[str]] = {}
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, field in cls.__pydantic_fields__.items():
        if field.default_factory is not None:
            factories[name] = field.default_factory  # type: ignore[assignment]
        elif not field.is_required():
            defaults[name] = field.default
    order = tuple(cls.__pydantic_fields__)

    def make(**values: Any) -> M:
        names = tuple(values)
        fields_set = given.get(names)
        if fields_set is None:
            if not known.issuperset(values):
                raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(values) - known)}")
            fields_set = set(values)
            if len(given) < 256:
                given[names] = fields_set
        d = {}
        for name in order:  # field order, as model_construct writes them
            if name in values:
                d[name] = values[name]
            elif name in defaults:
                d[name] = defaults[name]
            else:
                d[name] = factories[name]()
        return filled(cls, d, fields_set)

    make.__name__ = f"make_{cls.__name__}"
    return make


_PROV_SET = {"source", "line", "end_line", "raw"}


def make_provenance_fast(source: str, line: int, raw: str, end_line: int | None) -> Provenance:
    """A :class:`Provenance` (the commonest object by far), built directly."""
    return filled(Provenance, {"source": source, "line": line, "end_line": end_line, "raw": raw}, _PROV_SET)


if TYPE_CHECKING:  # type-check the keyword arguments as pydantic's model_construct would
    make_provenance = Provenance.model_construct
    make_bat_cell = BatCell.model_construct
    make_bat_table = BatTable.model_construct
    make_pwr_table = PwrTable.model_construct
    make_pwr_detail = PwrDetail.model_construct
    make_stat = StatCounters.model_construct
    make_info = InfoRecord.model_construct
else:
    make_provenance = constructor(Provenance)
    make_bat_cell = constructor(BatCell)
    make_bat_table = constructor(BatTable)
    make_pwr_table = constructor(PwrTable)
    make_pwr_detail = constructor(PwrDetail)
    make_stat = constructor(StatCounters)
    make_info = constructor(InfoRecord)


def shape_of(cls: type[BaseModel]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Field names in order, and the default of every field that has one (factories called once:
    callers always pass those fields)."""
    defaults: dict[str, Any] = {}
    for name, field in cls.__pydantic_fields__.items():
        if field.default_factory is not None:
            continue
        if not field.is_required():
            defaults[name] = field.default
    return tuple(cls.__pydantic_fields__), defaults


_BLOCK_SET = set(CommandBlock.__pydantic_fields__)


def make_block_fast(d: dict[str, Any]) -> CommandBlock:
    """A :class:`CommandBlock` from its complete field dict (in field order), by pydantic's slots."""
    return filled(CommandBlock, d, _BLOCK_SET)


_KV_SET = set(KeyValue.__pydantic_fields__)
_construct_key_value = KeyValue.model_construct


def make_key_value_fast(key: str, value: str, source: str, line: int, raw: str) -> KeyValue:
    """A :class:`KeyValue` of line ``line`` (text ``raw``) of ``source``, built directly."""
    return _construct_key_value(_KV_SET, source=source, line=line, raw=raw, key=key, value=value)
