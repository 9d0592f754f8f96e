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
