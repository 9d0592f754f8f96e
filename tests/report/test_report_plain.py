"""Owner words (``report.plain.owner_text``) on the evidence gaps a reader writes about skipped lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pylondiag.pipeline import run_case
from pylondiag.report.plain import owner_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cases" / "rebalance-us2000c-cell-imbalance"
ENGINEER_ONLY = re.compile(r"\bline \d|expected|found '|\b(?:console|inverter)/|ISO 8601|\bpwr row\b")


def test_skipped_lines_are_told_to_the_owner_without_the_readers_details(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(EXAMPLE, case)
    session = case / "console" / "session.txt"
    text = session.read_text(encoding="utf-8")
    session.write_text(re.sub(r"(?m)^2 ", "2 33#6 ", text, count=1), encoding="utf-8")
    (case / "inverter").mkdir()
    (case / "inverter" / "events.csv").write_text(
        "time,event\n2026-01-01 06:00,Battery low temperature\nnot a date,Battery fault\n", encoding="utf-8"
    )
    gaps = run_case(case).diagnosis.evidence_gaps
    skipped = [g for g in gaps if "could not be read" in g]
    assert len(skipped) == 2, gaps
    assert all(ENGINEER_ONLY.search(g) for g in skipped)  # the engineer's text keeps line and reason
    for gap in skipped:
        said = owner_text(gap)
        assert not ENGINEER_ONLY.search(said), said
        assert "could not be read" in said and said.endswith(".")


CORPUS = Path(__file__).resolve().parents[2] / "tests" / "realworld"
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def test_cause_codes_and_internal_keys_are_said_in_words() -> None:
    said = owner_text(
        "the stack-level finding (inverter_charge_limits, dip_no_master) cites no reading of position 1; "
        "its own records show cell_over_voltage"
    )
    assert "inverter charge limits, no master" in said and "cell over-voltage" in said
    assert not SNAKE.search(said)


def test_an_unexplained_light_beside_a_stack_finding_is_answered_without_codes() -> None:
    """A real report (an Axpert King's float voltage): the owner's red light on position 1 is answered;
    the engineer's text names the stack finding by its code, the owner's by its label."""
    gaps = run_case(CORPUS / "powerforum5904-axpert-king-float-protection").diagnosis.evidence_gaps
    (led,) = [g for g in gaps if g.startswith("The LED of position 1")]
    assert "inverter_charge_limits" in led
    assert "inverter charge limits" in owner_text(led) and not SNAKE.search(owner_text(led))


def test_a_low_confidence_figure_is_said_in_words() -> None:
    said = owner_text(
        "Position 2: cell 7 low. No action is needed now (low confidence, 55%: see the evidence gaps)."
    )
    assert "55" not in said and "%" not in said and "not yet certain" in said
