"""Files the commands need beside the code: the diagnosis JSON Schema and the example cases.

In an installed wheel they live in ``pylondiag/_shipped/`` (put there by the wheel build, see
``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``); in a source checkout they
are ``schema/`` and ``examples/cases/`` at the repository root, where the README and tests name them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

_PACKAGE: Final = Path(__file__).resolve().parent
_SHIPPED: Final = _PACKAGE / "_shipped"
_SOURCE_ROOT: Final = _PACKAGE.parents[1]


def _first_existing(relative: str) -> Path | None:
    for base in (_SHIPPED, _SOURCE_ROOT):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return None


def schema_path() -> Path:
    """``diagnosis.schema.json`` (JSON Schema 2020-12 of ``pylondiag.diagnosis/1``)."""
    found = _first_existing("schema/diagnosis.schema.json")
    if found is None:  # pragma: no cover - a broken install
        raise FileNotFoundError("diagnosis.schema.json is missing from this pylondiag installation")
    return found


def examples_dir() -> Path | None:
    """The example case directories (``examples/cases``), or None when this install has none."""
    found = _first_existing("examples/cases")
    return found if found is not None and found.is_dir() else None
