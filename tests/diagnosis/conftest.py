"""Fixtures for the diagnosis tests: build case directories from hand-written console shapes and
diagnose them with the spec's validator run on every document.

Console text comes from ``examples/make_cases.py`` (the project's own writer of the real dialects'
shapes), so the rules are tested through the real parser with real line numbers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from pylondiag.model.diagnosis import Diagnosis
from pylondiag.pipeline import run_case

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def shapes() -> ModuleType:
    """``examples/make_cases.py``: Mod, cells, pwr_old/pwr_new, bat, stat, pwr_detail, Session..."""
    return _load("pylondiag_example_shapes", REPO / "examples" / "make_cases.py")


@pytest.fixture(scope="session")
def check_doc(validator: Path) -> Callable[[Path, dict[str, Any]], list[str]]:
    """The spec's validator, in-process: returns its list of problems."""
    mod = _load("pylondiag_validate_diagnosis", validator)

    def check(case: Path, doc: dict[str, Any]) -> list[str]:
        return list(mod.check(case, doc))

    return check


CaseMaker = Callable[..., Path]


@pytest.fixture
def make_case(tmp_path: Path) -> CaseMaker:
    counter = iter(range(10_000))

    def make(case: dict[str, Any] | None = None, files: dict[str, str | bytes] | None = None) -> Path:
        d = tmp_path / f"case{next(counter)}"
        d.mkdir()
        if case is not None:
            body = {"schema": "pylondiag.case/1", **case}
            (d / "case.yaml").write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        for rel, content in (files or {}).items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return d

    return make


@pytest.fixture
def diagnose_case(check_doc: Callable[[Path, dict[str, Any]], list[str]]) -> Callable[[Path], Diagnosis]:
    """Diagnose a case directory; fails the test if the spec's validator finds any problem."""

    def run(path: Path) -> Diagnosis:
        d = run_case(path).diagnosis
        doc = json.loads(json.dumps(d.to_json_dict()))
        problems = check_doc(path, doc)
        assert problems == [], problems
        return d

    return run


def stack(n: int, model: str = "US2000C", **per: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        m: dict[str, Any] = {
            "position": i,
            "model": model,
            "dip": "0000",
            "role": "master" if i == 1 else "slave",
            "address": i,
            "led": "green",
        }
        m.update(per.get(f"p{i}", {}))
        out.append(m)
    return out


@pytest.fixture(scope="session")
def stack_of() -> Callable[..., list[dict[str, Any]]]:
    return stack


@pytest.fixture(autouse=True)
def _strict_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing rule family must fail the test, not be reported as an evidence gap."""
    monkeypatch.setenv("PYLONDIAG_STRICT_RULES", "1")
