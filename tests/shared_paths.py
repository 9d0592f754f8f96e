"""Where the shared material lives: ``../shared`` beside the repo, overridable by environment.

A module of its own (not ``conftest``) so that test modules can import it by name: several
``conftest.py`` files exist under ``tests/`` and ``import conftest`` would pick any of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PYLONDIAG_SHARED", REPO.parent / "shared"))
CAPTURES = Path(os.environ.get("PYLONDIAG_CAPTURES", SHARED / "captures"))

SpecCheck = Callable[[Path, Any], list[str]]
"""The ``spec_check`` fixture: ``(case_dir, diagnosis or its JSON dict)`` → the spec checker's complaints."""
