"""Every example case gives its expected diagnosis; the real captures give the known answers.

Real captures are read in place (``captures_dir``), copied into a temporary case at test time,
never committed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pylondiag.casedir import load_case
from pylondiag.model.diagnosis import Cause, Outcome

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = sorted(p for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.exists() else []


def test_examples_cover_every_outcome_and_most_causes():
    expected = [json.loads((c / "expected.json").read_text()) for c in CASES]
    assert len(CASES) >= 10
    assert {e["outcome"] for e in expected} == {o.value for o in Outcome}
    codes = {c for e in expected for c in e["required_codes"]}
    assert len(codes) >= 12, sorted(codes)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_example_case(case: Path, diagnose_case):
    exp = json.loads((case / "expected.json").read_text())
    d = diagnose_case(case)  # the spec's validator checks every evidence line and quote
    assert d.outcome.value == exp["outcome"]
    assert (d.primary_cause.value if d.primary_cause else None) == exp["primary_cause"]
    assert d.culprit_modules == exp["culprit_modules"]
    assert set(exp["required_codes"]) <= {f.code.value for f in d.findings}
    for f in d.findings:
        for e in f.evidence:
            if e.line is not None:
                text = (case / e.source).read_bytes().decode("utf-8", "replace").splitlines()[e.line - 1]
                assert " ".join((e.quote or "").split()).lower() in " ".join(text.split()).lower()


def _case_from(captures_dir: Path, tmp_path: Path, pattern: str) -> Path:
    d = tmp_path / pattern.strip("*")
    (d / "console").mkdir(parents=True)
    files = sorted(captures_dir.glob(pattern))
    assert files, pattern
    for f in files:
        shutil.copyfile(f, d / "console" / f.name)
    return d


def test_gpollakdiener_weak_or_imbalanced_cell_12_and_4(captures_dir, tmp_path, diagnose_case):
    d = diagnose_case(_case_from(captures_dir, tmp_path, "*GPollakDiener*"))
    cell = [f for f in d.findings if f.code in (Cause.CELL_IMBALANCE, Cause.WEAK_CELL)]
    assert len(cell) == 1
    f = cell[0]
    assert f.message.startswith("Cell 12 ") and "cell 4 " in f.message
    assert d.culprit_modules == [f.module]
    # cell 12's own rows are cited, with BAL=N
    assert any(e.quote and e.quote.startswith("12 ") and e.quote.endswith(" N") for e in f.evidence)
    assert any(e.quote and e.quote.startswith("4 ") for e in f.evidence)


def test_gpollakdiener_single_capture_is_imbalance(captures_dir, tmp_path, diagnose_case):
    d = diagnose_case(_case_from(captures_dir, tmp_path, "*GPollakDiener*20260713.txt"))
    assert d.primary_cause == Cause.CELL_IMBALANCE and d.outcome == Outcome.REBALANCE
    assert "spread 124 mV" in d.findings[0].message


def test_healthy_real_captures_give_no_fault(captures_dir, tmp_path, diagnose_case):
    d = diagnose_case(_case_from(captures_dir, tmp_path, "*Hrabovszki1023*"))
    assert d.outcome == Outcome.NO_FAULT and d.culprit_modules == []
    assert all(f.severity.value == "info" for f in d.findings)
    assert len(d.modules) >= 2


def test_donverduyn_lifetime_counters_are_a_lead_not_a_fault(captures_dir, tmp_path, diagnose_case):
    """The US2KBPL runs normally in every live reading, but its lifetime `stat` is that of a chronic
    top-end-imbalance module (Bat OV 56, Bat HV 5832 over 430 cycles, SC 12; console_fields.md calls it
    so): a lead to re-check (monitor), never a culprit."""
    d = diagnose_case(_case_from(captures_dir, tmp_path, "*donverduyn*"))
    assert d.outcome == Outcome.MONITOR and d.culprit_modules == []
    assert d.primary_cause == Cause.CELL_OVER_VOLTAGE
    assert all(f.severity.value in ("info", "warning") for f in d.findings)
    ov = next(f for f in d.findings if f.code == Cause.CELL_OVER_VOLTAGE)
    assert "Bat OV Times 56" in ov.message and "5832" in ov.message
    assert len(d.modules) >= 2


@pytest.mark.parametrize("command", ["time", "help", "ci"])
def test_a_capture_without_module_data_says_what_it_holds(
    captures_dir: Path, tmp_path: Path, diagnose_case, command: str
) -> None:
    """A real capture of only `time`, `help` or `ci` was read: the diagnosis names what it
    holds and asks for `pwr`/`bat N`, instead of saying no console capture was readable."""
    d = diagnose_case(_case_from(captures_dir, tmp_path, f"{command}__US2000C*"))
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert f"holds only `{command}`" in d.summary
    assert "no console capture" not in d.summary.lower()
    assert not any(g.startswith("No console capture") for g in d.evidence_gaps)
    assert any(f"holds only `{command}`" in g and "`pwr`" in g for g in d.evidence_gaps)


def test_a_getpwr_capture_is_read_as_the_plugged_in_modules_cells(
    captures_dir: Path, tmp_path: Path, diagnose_case
) -> None:
    """`getpwr` (debug console) prints the plugged-in module's states and its 15 cells: read like a plain
    `bat` of that module (assumed address 1, said so), each cell with the module's current and state from
    the dump's first line; the stack beyond it stays unknown."""
    case = _case_from(captures_dir, tmp_path, "getpwr__US2000C*")
    d = diagnose_case(case)
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert "only position 1 was read" in d.summary and "holds only" not in d.summary
    assert [(m.position, m.verdict.value) for m in d.modules] == [(1, "ok")]
    assert any("`getpwr`" in g and "taken as address 1" in g for g in d.evidence_gaps)
    bat = load_case(case).bat
    assert len(bat) == 1 and len(bat[0].table.cells) == 15
    cells = bat[0].table.cells
    assert {c.current_ma for c in cells} == {-2632} and {c.base_state for c in cells} == {"Dischg"}
    assert (min(c.voltage_mv or 0 for c in cells), max(c.voltage_mv or 0 for c in cells)) == (3317, 3318)
    assert (bat[0].table.provenance.line, bat[0].table.provenance.end_line) == (9, 28)  # the whole answer
