"""Fast constructors for the record models (the parsers' hot path).

The parsers build values of the right types themselves, so pydantic validation would only repeat
the work. :func:`builder` returns a function doing what ``Model.model_construct`` does (defaults
filled, ``model_fields_set`` = the names given) at a fraction of its per-call cost.
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
    PwrRow,
    PwrTable,
    StatCounters,
)

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__
# The slot descriptors pydantic's model_construct sets through object.__setattr__, called directly.
set_dict = _set_dict = BaseModel.__dict__["__dict__"].__set__
set_fields = _set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
set_extra = _set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
set_private = _set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def builder(cls: type[M]) -> Callable[..., M]:
    if cls.__pydantic_post_init__ or cls.__pydantic_root_model__:  # pragma: no cover - not used by our models
        return cls.model_construct
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, field in cls.__pydantic_fields__.items():
        if field.default_factory is not None:
            factories[name] = field.default_factory  # type: ignore[assignment]
        elif not field.is_required():
            defaults[name] = field.default
    new = object.__new__

    known = frozenset(cls.__pydantic_fields__)
    given: dict[tuple[str, ...], set[str]] = {}
    """The fields-set of each combination of names a caller gives, shared (see _SHARED_NOTE): a set per
    record was ~370 B, a tenth of what a 20 MB capture keeps (issue 17, memory)."""

    def make(**values: Any) -> M:
        if not known.issuperset(values):
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(values) - known)}")
        m = new(cls)
        d = defaults.copy()
        d.update(values)
        for name, factory in factories.items():
            if name not in values:
                d[name] = factory()
        _set(m, "__dict__", d)
        names = tuple(values)
        fields_set = given.get(names)
        if fields_set is None:
            fields_set = set(values)
            if len(given) < 256:
                given[names] = fields_set
        _set(m, "__pydantic_fields_set__", fields_set)
        _set(m, "__pydantic_extra__", None)
        _set(m, "__pydantic_private__", None)
        return m

    make.__name__ = f"make_{cls.__name__}"
    return make


_new = object.__new__
_PROV_SET = {"source", "line", "end_line", "raw"}  # shared: see _SHARED_NOTE


def make_provenance_fast(source: str, line: int, raw: str, end_line: int | None) -> Provenance:
    """A :class:`Provenance` (the commonest object by far), built directly."""
    m = _new(Provenance)
    _set_dict(m, {"source": source, "line": line, "end_line": end_line, "raw": raw})
    _set_fields(m, _PROV_SET)
    _set_extra(m, None)
    _set_private(m, None)
    return m


if TYPE_CHECKING:  # type-check the keyword arguments as pydantic's model_construct would
    make_provenance = Provenance.model_construct
    make_bat_cell = BatCell.model_construct
    make_bat_table = BatTable.model_construct
    make_pwr_table = PwrTable.model_construct
    make_pwr_detail = PwrDetail.model_construct
    make_stat = StatCounters.model_construct
    make_info = InfoRecord.model_construct
else:
    make_provenance = builder(Provenance)
    make_bat_cell = builder(BatCell)
    make_bat_table = builder(BatTable)
    make_pwr_table = builder(PwrTable)
    make_pwr_detail = builder(PwrDetail)
    make_stat = builder(StatCounters)
    make_info = builder(InfoRecord)


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


def raw_builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A constructor taking the complete field dict (kept as the instance's ``__dict__``)."""
    new = object.__new__
    every_field = set(cls.__pydantic_fields__)  # shared: see _SHARED_NOTE

    def make(d: dict[str, Any]) -> M:
        m = new(cls)
        _set_dict(m, d)
        _set_fields(m, every_field)
        _set_extra(m, None)
        _set_private(m, None)
        return m

    return make


_SHARED_NOTE = """The per-row records (cells, rows, provenances, key/values) share one ``model_fields_set``
set object per class: every field of them is set, pydantic never changes that set in place (its
``model_copy`` copies it first) and building a fresh set per row cost about a tenth of the parse."""


bat_cell_raw: Callable[[dict[str, Any]], BatCell] = raw_builder(BatCell)
pwr_row_raw: Callable[[dict[str, Any]], PwrRow] = raw_builder(PwrRow)
block_raw: Callable[[dict[str, Any]], CommandBlock] = raw_builder(CommandBlock)


_KV_SET = set(KeyValue.__pydantic_fields__)  # shared: see _SHARED_NOTE


def make_key_value_fast(key: str, value: str, source: str, line: int, raw: str) -> KeyValue:
    """A :class:`KeyValue` of line ``line`` (text ``raw``) of ``source``, built directly."""
    m = _new(KeyValue)
    _set_dict(m, {"source": source, "line": line, "raw": raw, "key": key, "value": value})
    _set_fields(m, _KV_SET)
    _set_extra(m, None)
    _set_private(m, None)
    return m
