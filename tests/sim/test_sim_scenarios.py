"""Scenario catalogue: coverage of the spec's codes, determinism, valid case directories, honest labels."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

import pylondiag.sim
from pylondiag.casedir import load_case
from pylondiag.model.case import CaseFile
from pylondiag.sim import list_scenarios, write_case
from pylondiag.sim.bms import Flag
from pylondiag.sim.scenarios import UnknownScenario, catalogue, run_scenario

SIM_DIR = Path(pylondiag.sim.__file__).parent


def _spec_codes(shared_dir: Path) -> tuple[set[str], set[str]]:
    text = (shared_dir / "spec" / "diagnosis-format.md").read_text()
    causes = set(
        re.findall(r"^\| `([a-z_]+)` \|", text.split("## Cause codes")[1].split("## From cause")[0], re.M)
    )
    outcomes = set(
        re.findall(r"^\| `([a-z_]+)` \|", text.split("## Outcomes")[1].split("## Module verdicts")[0], re.M)
    )
    return causes, outcomes


def test_the_simulator_never_imports_the_diagnosis() -> None:
    for path in SIM_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("pylondiag.diagnosis", "pylondiag.pipeline")), (path, name)


def test_every_cause_code_has_a_scenario_and_labels_use_spec_words(shared_dir: Path) -> None:
    causes, outcomes = _spec_codes(shared_dir)
    assert len(causes) >= 19
    seen_causes, seen_outcomes = set(), set()
    for name in list_scenarios():
        res = run_scenario(name, 1)
        lab = res.setup.label
        assert lab.outcome in outcomes
        assert lab.primary_cause is None or lab.primary_cause in causes
        positions = {m.position for m in res.setup.modules}
        assert set(lab.culprit_modules) <= positions
        seen_causes.add(lab.primary_cause)
        seen_outcomes.add(lab.outcome)
    assert causes <= seen_causes, causes - seen_causes
    assert outcomes <= seen_outcomes, outcomes - seen_outcomes
    assert {"healthy", "healthy_cold", "healthy_old_module", "healthy_midsoc_spread_under_load"} <= set(
        list_scenarios()
    )


def test_same_seed_same_case_bytes_different_seed_different_case(tmp_path: Path) -> None:
    a = write_case("cell_imbalance", 11, tmp_path / "a")
    b = write_case("cell_imbalance", 11, tmp_path / "b")
    c = write_case("cell_imbalance", 12, tmp_path / "c")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "case.yaml").read_bytes() != (c / "case.yaml").read_bytes()


@pytest.mark.parametrize("name", list_scenarios())
def test_each_scenario_writes_a_valid_case_with_its_label(tmp_path: Path, name: str) -> None:
    out = write_case(name, 3, tmp_path / name)
    doc = yaml.safe_load((out / "case.yaml").read_text())
    CaseFile.model_validate(doc)  # strict: unknown keys are errors
    view = load_case(out)
    label = json.loads((out / "label.json").read_text())
    assert set(label) == {"outcome", "primary_cause", "culprit_modules"}
    assert label["culprit_modules"] == sorted(label["culprit_modules"])
    for f in (out / "console").glob("*.txt") if (out / "console").exists() else []:
        assert f.read_bytes().startswith(b"# captured ")
    gaps = [g for g in view.evidence_gaps if "label.json" not in g] if hasattr(view, "evidence_gaps") else []
    assert not [g for g in gaps if "console/" in g or "inverter/" in g], gaps


def test_injected_faults_show_in_the_simulation() -> None:
    """The label is what was injected — and the injection visibly happened."""
    uv = run_scenario("cell_under_voltage", 4)
    culprit = uv.setup.label.culprit_modules[0]
    i = [m.position for m in uv.setup.modules].index(culprit)
    assert uv.max_flags[i] & Flag.P_CELL_UV
    cold = run_scenario("under_temperature", 4)
    assert all(f & Flag.P_CUT for f in cold.max_flags)
    oc = run_scenario("over_current", 4)
    assert any(f & Flag.P_DOC for f in oc.max_flags)
    assert any(e.severity == "fault" for e in oc.inverter.events)
    healthy = run_scenario("healthy", 4)
    assert not any(f & (Flag.P_CELL_OV | Flag.P_CELL_UV | Flag.P_DOC | Flag.P_COT) for f in healthy.max_flags)


def test_unknown_scenario_is_a_clear_error() -> None:
    with pytest.raises(UnknownScenario, match="sim list"):
        run_scenario("no_such_thing", 1)


def test_the_evidence_shows_what_the_label_claims_about_cell_spread() -> None:
    """Hard negative and cell fault, each held to its label in the evidence written (specs.md §1: a healthy
    module spreads 30-50 mV at the top of charge). Found where the diagnosis and the labels disagreed:
    healthy_old_module seed 8 read the old module at 58 mV at the top (seed 32: 74 mV) under a no-fault
    label; cell_over_voltage seed 8 never read the 'imbalanced module' at the top of charge (97 % and
    42 mV was its best reading)."""
    for seed in (8, 32):
        res = run_scenario("healthy_old_module", seed)
        old = next(m for m in res.setup.modules if m.soh_override is not None)
        spreads = catalogue.read_spreads_mv(res, old)
        assert spreads and max(spreads) <= catalogue.HEALTHY_SPREAD_MV, (seed, spreads)
    res = run_scenario("cell_over_voltage", 8)
    victim = next(m for m in res.setup.modules if m.position in res.setup.label.culprit_modules)
    assert max(catalogue.read_spreads_mv(res, victim, top_only=True)) > catalogue.HEALTHY_SPREAD_MV
