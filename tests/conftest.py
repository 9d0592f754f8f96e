"""Shared fixtures: where the real captures and the shared spec live.

The real captures are read in place from ``../shared/captures`` (override with
``PYLONDIAG_CAPTURES``). When ``CI=true`` and they are missing, the tests that need them fail
instead of skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

from shared_paths import CAPTURES, REPO, SHARED, SpecCheck

__all__ = ["CAPTURES", "REPO", "SHARED"]


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        msg = f"{what} not found at {path} (set PYLONDIAG_SHARED / PYLONDIAG_CAPTURES)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED, "shared/ folder")


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """``shared/captures/console``: the real console captures."""
    return _need(CAPTURES / "console", "real console captures")


@pytest.fixture(scope="session")
def validator(shared_dir: Path) -> Path:
    """``shared/tools/validate_diagnosis.py``: the spec's own checker."""
    return _need(shared_dir / "tools" / "validate_diagnosis.py", "validate_diagnosis.py")


@pytest.fixture(scope="session")
def spec_check(validator: Path) -> SpecCheck:
    """The spec's checker as a function: ``spec_check(case_dir, diagnosis)`` → its complaints (none when
    valid). ``diagnosis`` is a JSON dict or a :class:`~pylondiag.model.diagnosis.Diagnosis`."""
    spec = importlib.util.spec_from_file_location("validate_diagnosis", validator)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def check(case: Path, diagnosis: Any) -> list[str]:
        doc = diagnosis.to_json_dict() if hasattr(diagnosis, "to_json_dict") else diagnosis
        return list(module.check(case, json.loads(json.dumps(doc))))

    return check
