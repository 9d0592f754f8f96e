"""The real-report corpus (``tests/realworld/``): every case is valid, diagnosed, validated by the spec's
validator; the cases the engine gets right are pinned so they cannot regress.

The exact-match rate itself is a bench figure (``bench/realworld.py``); a case joins ``PINNED`` once the
engine matches its label, and never leaves it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.model.diagnosis import Cause, Outcome

CORPUS = Path(__file__).resolve().parents[1] / "realworld"
CASES = sorted(p.parent for p in CORPUS.glob("*/expected.json"))
EXPECTED_KEYS = {"outcome", "primary_cause", "culprit_modules", "required_codes"}
SOURCE_KEYS = {"url", "resolved_by", "label", "why", "alternatives", "facts_from_source"}

PINNED = {
    "esphome3114-us5000-lifetime-counters",  # issue 11 item 7: lifetime SC count is a note
    "gpollak-us2000c-cell12-low-two-days",  # item 5: worse at rest and under current = weak cell
    "powerforum5904-axpert-king-float-protection",  # item 6: the owner's story
    "esphome13772-us5000-cool-room-discharge",
    "esphome7114-four-charging-soc-spread",
    "frankkkkk42-us3000c-single-rest",
    "pvopt417-solis-bms-overvoltage-after-replacements",  # item 1 (rules)
    "pytes26-two-us2000c-info-only",  # item 1 (rules)
    "powerforum11998-us2000c-added-to-us2000b-firmware",  # item 4 (rules)
    "donverduyn-us2kbpl-chronic-top-alarms",
    "frankkkkk4-us3000-idle-full-rs485",  # item 1: one module of four read is not no_fault
    "guybw3-us5000-four-discharging",
    "hrabovszki-us2000c-master-with-older-us2000",
    "irek-us5000-v23-idle-cold-room",
    "irek32-mixed-us3000c-us2000c-soc-differs",  # item 4 (rules): a supported mix's gauge drift
    "pytes45-us-single-top-balancing",
    "venus536-us3000-cells-at-99pct",
    "hidaba7-us5000-master-two-us2000-discharging",  # a supported mix (newest master) that works
    "esphome5889-us3000-three-idle-over-100pct",  # gauge past 100 % on an old US3000 is not a fault
    "victron20236-us2000c-one-block-cell-ov",  # one block alarms at 52.4 V: not the charger; ask for bat N
    "mman-us3000c-b69-rebuilt-top-balancing",  # a rebuilt module's cells at different charge: rebalance
    "mman-us3000d-six-top-of-charge",  # a US3000D master's stack settling at the top: no fault
    "frankkkkk2-us3000-master-us2000-rs485",  # RS485 reply of a supported mix (US3000 master): no fault
}
"""Real cases whose label the engine matches exactly (outcome, primary cause, culprits)."""


def test_corpus_size_and_balance():
    assert len(CASES) >= 15
    labels = [json.loads((c / "expected.json").read_text()) for c in CASES]
    assert sum(lab["outcome"] == "no_fault" for lab in labels) >= 3, (
        "healthy stacks wrongly suspected belong in it"
    )
    assert sum(lab["outcome"] not in ("no_fault", "insufficient_evidence") for lab in labels) >= 3
    assert {c.name for c in CASES} >= PINNED


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_well_formed(case: Path):
    """expected.json in the examples' shape with the spec's codes; source.yaml says where and why."""
    exp = json.loads((case / "expected.json").read_text())
    assert set(exp) == EXPECTED_KEYS
    Outcome(exp["outcome"])
    assert exp["primary_cause"] is None or Cause(exp["primary_cause"])
    assert all(Cause(c) for c in exp["required_codes"])
    assert exp["culprit_modules"] == sorted(exp["culprit_modules"])
    src = yaml.safe_load((case / "source.yaml").read_text())
    assert set(src) >= SOURCE_KEYS, SOURCE_KEYS - set(src)
    assert str(src["url"]).startswith("https://")
    parse_case_yaml(
        (case / "case.yaml").read_bytes()
    )  # valid against the case format (raises with file and line)
    for f in (case / "console").glob("*") if (case / "console").exists() else []:
        assert f.read_text().startswith("# re-typed from https://"), (
            f"{f.name}: say where the figures come from"
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_diagnoses_validly(case: Path, diagnose_case):
    """Every real case gives a document the spec's validator accepts (evidence lines and quotes real)."""
    d = diagnose_case(case)
    assert d.outcome in set(Outcome)
    assert not any("source.yaml" in g for g in d.evidence_gaps), "case metadata is not evidence"


@pytest.mark.parametrize("case", [c for c in CASES if c.name in PINNED], ids=lambda c: c.name)
def test_pinned_case_matches_its_label(case: Path, diagnose_case):
    exp = json.loads((case / "expected.json").read_text())
    d = diagnose_case(case)
    got = (d.outcome.value, d.primary_cause.value if d.primary_cause else None, d.culprit_modules)
    assert got == (exp["outcome"], exp["primary_cause"], exp["culprit_modules"])
    assert set(exp["required_codes"]) <= {f.code.value for f in d.findings}
