"""Helpers shared by the console-reader tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from pylondiag.evidence.console import ConsoleReader, parse_block
from pylondiag.model.console import CommandBlock, ConsoleRecord, ParseWarning, Provenance


def spec_lines(data: bytes) -> list[str]:
    """The lines as the diagnosis spec (and validate_diagnosis.py) counts them."""
    return re.split(r"\r\n|\r|\n", data.decode("utf-8", "replace"))


def provenances(obj: Any) -> Iterator[Provenance]:
    """Every Provenance inside a record (records, rows, cells, fields, entries)."""
    if isinstance(obj, Provenance):
        yield obj
    elif isinstance(obj, BaseModel):
        for name in [*type(obj).model_fields, *type(obj).model_computed_fields]:
            yield from provenances(getattr(obj, name))
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from provenances(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from provenances(item)


def feed_in_chunks(data: bytes, size: int, source: str = "s") -> list[CommandBlock]:
    reader = ConsoleReader(source)
    blocks: list[CommandBlock] = []
    for i in range(0, len(data), size):
        blocks += reader.feed(data[i : i + size])
    blocks += reader.close()
    return blocks


def records_of(
    blocks: list[CommandBlock], source: str = "s"
) -> tuple[list[ConsoleRecord], list[ParseWarning]]:
    records: list[ConsoleRecord] = []
    warnings: list[ParseWarning] = []
    for b in blocks:
        r, w = parse_block(b, source)
        records += r
        warnings += w
    return records, warnings
