"""Rows and ``Key : value`` lines keep where they were read as plain fields and build their provenance
on access (issue 17): the provenance, the serialised form and the checks are as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _console_helpers import spec_lines
from pydantic import BaseModel, ValidationError

from pylondiag.evidence.console import read_console
from pylondiag.model.console import (
    BatCell,
    BatTable,
    ConsoleCapture,
    KeyValue,
    Provenance,
    PwrRow,
    line_fields,
)

LINE_RECORDS = (BatCell, PwrRow, KeyValue)


def _line_records(obj: Any) -> list[BatCell | PwrRow | KeyValue]:
    """Every row / key-value inside ``obj`` (records, tables, entries)."""
    if isinstance(obj, LINE_RECORDS):
        return [obj]
    if isinstance(obj, BaseModel):
        return [r for name in type(obj).model_fields for r in _line_records(getattr(obj, name))]
    if isinstance(obj, tuple | list):
        return [r for item in obj for r in _line_records(item)]
    return []


def _captures(captures_dir: Path) -> list[tuple[str, bytes, ConsoleCapture]]:
    out = []
    for path in sorted(captures_dir.glob("*.txt")):
        data = path.read_bytes()
        out.append((path.name, data, read_console(data, path.name)))
    return out


def test_every_row_of_the_real_captures_cites_its_line_as_before(captures_dir: Path) -> None:
    """Read in place: each row's provenance is the one the parser used to store — its capture, its line
    as the spec numbers it, that line's text, no end line — and serialises as before."""
    rows = 0
    for name, data, cap in _captures(captures_dir):
        lines = spec_lines(data)
        for rec in _line_records(list(cap.records)):
            expected = Provenance(source=name, line=rec.line, end_line=None, raw=lines[rec.line - 1])
            assert rec.provenance == expected, (name, rec.line)
            dumped = rec.model_dump(mode="json")
            assert list(dumped)[-1] == "provenance"
            assert dumped["provenance"] == expected.model_dump(mode="json")
            assert not {"source", "line", "raw"} & set(dumped)
            assert type(rec).model_validate(dumped) == rec
            rows += 1
    assert rows > 300


def test_rows_of_one_capture_share_its_source_and_the_learnt_words(captures_dir: Path) -> None:
    """The memory side: one source string per capture, one ``Normal`` per table layout."""
    shared = 0
    for _name, _data, cap in _captures(captures_dir):
        assert len({id(c.source) for c in _line_records(list(cap.records))}) <= 1
        cells = [c for r in cap.records if isinstance(r, BatTable) for c in r.cells]
        normal = [c.volt_state for c in cells if c.volt_state == "Normal"]
        if len(normal) >= 15:  # the first row is read column by column, the others share its word
            assert len({id(s) for s in normal}) <= 2
            shared += 1
    assert shared >= 3


def test_built_from_a_provenance_and_refused_with_an_end_line() -> None:
    prov = Provenance(source="c.txt", line=12, raw="3  3301  0")
    cell = BatCell(cell=3, voltage_mv=3301, provenance=prov)
    assert (cell.source, cell.line, cell.raw) == ("c.txt", 12, "3  3301  0")
    assert cell.provenance == prov
    assert cell == BatCell(cell=3, voltage_mv=3301, **line_fields(prov))
    assert (
        KeyValue.model_validate({"key": "k", "value": "v", "provenance": prov.model_dump()}).provenance
        == prov
    )
    with pytest.raises(ValidationError, match="end_line 14"):
        PwrRow(address=1, provenance=Provenance(source="c.txt", line=12, end_line=14, raw="x"))
    with pytest.raises(ValidationError):
        BatCell(cell=1, provenance=prov, unknown=1)
