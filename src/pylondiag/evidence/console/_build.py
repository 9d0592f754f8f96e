"""Constructors for the record models (the parsers' hot path), by pydantic's public ``model_construct``.

The parsers build values of the right types themselves, so pydantic validation would only repeat the
work. Records built with the same field names share one ``model_fields_set`` set object (a set per
record was ~370 B, a tenth of what a 20 MB capture keeps: issue 17, memory): these models are frozen and
pydantic never changes that set in place (``model_copy`` copies it first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from pylondiag.model.console import (
    BatCell,
    BatTable,
    InfoRecord,
    KeyValue,
    Provenance,
    PwrDetail,
    PwrTable,
    StatCounters,
)

M = TypeVar("M", bound=BaseModel)


def constructor(cls: type[M]) -> Callable[..., M]:
    """``cls.model_construct`` taking keyword arguments, with ``model_fields_set`` (the names given) one set
    shared by every record given the same names (at most 256 combinations kept); an unknown name raises
    (``model_construct`` would drop it)."""
    known = frozenset(cls.__pydantic_fields__)
    given: dict[tuple[str, ...], set[str]] = {}
    construct = cls.model_construct

    def make(**values: Any) -> M:
        names = tuple(values)
        fields_set = given.get(names)
        if fields_set is None:
            if not known.issuperset(values):
                raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(values) - known)}")
            fields_set = set(values)
            if len(given) < 256:
                given[names] = fields_set
        return construct(fields_set, **values)

    make.__name__ = f"make_{cls.__name__}"
    return make


_PROV_SET = {"source", "line", "end_line", "raw"}
_construct_provenance = Provenance.model_construct


def make_provenance_fast(source: str, line: int, raw: str, end_line: int | None) -> Provenance:
    """A :class:`Provenance` (the commonest object by far), built directly."""
    return _construct_provenance(_PROV_SET, source=source, line=line, end_line=end_line, raw=raw)


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


_KV_SET = set(KeyValue.__pydantic_fields__)
_construct_key_value = KeyValue.model_construct


def make_key_value_fast(key: str, value: str, source: str, line: int, raw: str) -> KeyValue:
    """A :class:`KeyValue` of line ``line`` (text ``raw``) of ``source``, built directly."""
    return _construct_key_value(_KV_SET, source=source, line=line, raw=raw, key=key, value=value)
