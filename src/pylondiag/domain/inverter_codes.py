"""Inverter code tables: one YAML file per brand in ``pylondiag/data/codes/``.

Each entry maps a code exactly as an inverter shows it (``F58``, ``W000``, ``ID157``, ``8210``,
``/Alarms/LowVoltage``) to its text, the normalized :class:`~pylondiag.model.event.EventKind`, a
severity, the source it was taken from and whether that source is verified. The facts are those of
``shared/domain/inverters/codes_*.md``; codes the domain notes mark as unverified (grade U, "general
knowledge - verify") keep ``verified: false`` so a finding that rests on one can say so.

The tables are package data read with :mod:`importlib.resources` (no file paths), loaded once.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pylondiag.errors import PylondiagError
from pylondiag.model.event import EventKind, Severity

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_PACKAGE: Final = "pylondiag"
_DIR: Final = ("data", "codes")


class CodeEntry(BaseModel):
    """One code of one brand's table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    """The code as the inverter shows it."""
    text: str
    kind: EventKind
    severity: Severity
    source: str
    """Key of the table's ``sources`` entry the fact comes from."""
    verified: bool
    """False for codes the domain notes grade U (unverified): findings must say so."""
    grade: str = "T"
    """Domain grade of the source: C capture, M manual, T third party, U unverified."""
    aliases: tuple[str, ...] = ()
    """Other spellings seen for the same code (LCD short names, app text)."""
    note: str = ""
    """What the code implies for a Pylontech stack."""


class CodeTable(BaseModel):
    """One brand's table as stored in its YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brand: str
    aliases: tuple[str, ...] = ()
    """Other brand names that share this table (``deye`` for ``sunsynk``)."""
    sources: dict[str, str]
    """Source key -> citation (repository @ commit, file; or document)."""
    notes: str = ""
    codes: tuple[CodeEntry, ...] = Field(default=())

    @model_validator(mode="after")
    def _sources_known(self) -> CodeTable:
        for entry in self.codes:
            if entry.source not in self.sources:
                raise ValueError(f"{entry.code}: source {entry.source!r} is not in this table's sources")
        return self


_SPACE: Final = re.compile(r"[\s_\-]+")
_LEADING_ZERO: Final = re.compile(r"^([A-Z#]*?)0+(\d)")


def normalize_code(code: str) -> str:
    """Canonical form used as lookup key: upper case, no spaces/underscores, no leading zeros.

    ``"f058"``, ``"F 58"`` and ``"F58"`` are one key; ``"Err 27"`` -> ``"ERR27"``; ``"#67"`` stays.
    Lux-style ``W000`` becomes ``W0``, the same key as ``W0``.
    """
    key = _SPACE.sub("", code.strip().upper())
    if key.startswith("/"):
        return key  # Victron D-Bus paths are matched as written (case-insensitively)
    key = _LEADING_ZERO.sub(r"\1\2", key)
    return key


class UnknownBrand(PylondiagError):
    """A brand name that has no code table."""


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader (same safety as ``yaml.safe_load``, ~10× faster) where PyYAML was built with it."""


def _table_files() -> list[Traversable]:
    folder = resources.files(_PACKAGE).joinpath(*_DIR)
    return sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)


@cache
def _load_all() -> dict[str, CodeTable]:
    tables: dict[str, CodeTable] = {}
    for item in _table_files():
        raw = yaml.load(item.read_text(encoding="utf-8"), Loader=_LOADER)
        try:
            table = CodeTable.model_validate(raw)
        except ValidationError as exc:  # a broken table is a packaging bug: say which file
            raise PylondiagError(f"invalid code table: {exc}", source=item.name) from exc
        tables[table.brand] = table
    return tables


_CODES_KEY: Final = re.compile(r"(?m)^codes:")


@cache
def _brand_index() -> dict[str, str]:
    """Brand name and aliases (lower case) -> table name, read from each table's head: the keys above
    ``codes:`` (every table has ``brand`` and ``aliases`` there). A diagnosis asks for the brand of every
    case with an inverter; parsing and validating all eleven tables for it cost ~15 ms of start-up."""
    index: dict[str, str] = {}
    for item in _table_files():
        text = item.read_text(encoding="utf-8")
        found = _CODES_KEY.search(text)
        head = yaml.load(text[: found.start()] if found else text, Loader=_LOADER)
        if not isinstance(head, dict) or not isinstance(head.get("brand"), str):  # not as documented
            return _index_of(_load_all())
        name = head["brand"]
        index[name] = name
        for alias in head.get("aliases") or ():
            index[str(alias).lower()] = name
    return index


def _index_of(tables: dict[str, CodeTable]) -> dict[str, str]:
    """The brand index from the validated tables (also what the test compares the quick one with)."""
    index: dict[str, str] = {}
    for name, table in tables.items():
        index[name] = name
        for alias in table.aliases:
            index[alias.lower()] = name
    return index


@cache
def _code_index(brand: str) -> dict[str, CodeEntry]:
    table = _load_all()[brand]
    index: dict[str, CodeEntry] = {}
    for entry in table.codes:
        for spelling in (entry.code, *entry.aliases):
            index.setdefault(normalize_code(spelling), entry)
    return index


def brands() -> list[str]:
    """Brands with a code table (canonical names)."""
    return sorted(_load_all())


def canonical_brand(brand: str | None) -> str | None:
    """The table name for a brand as written in ``case.yaml`` (``deye`` -> ``sunsynk``), or None."""
    if not brand:
        return None
    return _brand_index().get(brand.strip().lower())


def table(brand: str) -> CodeTable:
    """The code table of a brand (aliases accepted); raises :class:`UnknownBrand`."""
    name = canonical_brand(brand)
    if name is None:
        raise UnknownBrand(f"no code table for inverter brand {brand!r}; known: {', '.join(brands())}")
    return _load_all()[name]


def lookup(brand: str | None, code: str | None) -> CodeEntry | None:
    """The table entry for ``code`` as shown by ``brand``'s inverter, or None when not in the table."""
    if not code:
        return None
    name = canonical_brand(brand)
    if name is None:
        return None
    return _code_index(name).get(normalize_code(code))
