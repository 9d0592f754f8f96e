"""The one confidence scale: levels in order, names for calibration, and every finding the examples
produce sits on a level (or one corroboration bonus above it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pylondiag.diagnosis import confidence as C
from pylondiag.diagnosis.leds import CORROBORATION_BONUS
from pylondiag.pipeline import run_case

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "src" / "pylondiag" / "diagnosis"


def test_levels_rise_and_are_named() -> None:
    values = [v for _, v in C.LEVELS]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert C.level_of(C.FIRM) == "firm" and C.level_of(C.FIRM + CORROBORATION_BONUS) == "near_certain"
    assert C.level_of(0.0) == "conjecture" and C.LOW_CONFIDENCE_BELOW == C.PROBABLE


def test_no_rule_module_writes_a_confidence_literal() -> None:
    """``confidence=0.8`` anywhere in the rules would bypass the scale."""
    for path in RULES.glob("*.py"):
        if path.name in ("confidence.py", "thresholds.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "confidence":
                for sub in ast.walk(node.value):
                    assert not (isinstance(sub, ast.Constant) and isinstance(sub.value, float)), path.name


@pytest.mark.parametrize("case", sorted(p.name for p in (REPO / "examples" / "cases").iterdir()))
def test_every_example_finding_is_on_the_scale(case: str) -> None:
    allowed = {round(v, 2) for _, v in C.LEVELS} | {round(v + CORROBORATION_BONUS, 2) for _, v in C.LEVELS}
    d = run_case(REPO / "examples" / "cases" / case).diagnosis
    assert all(round(f.confidence, 2) in allowed for f in d.findings)
