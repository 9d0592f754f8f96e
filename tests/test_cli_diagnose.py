"""``pylondiag diagnose``: exit codes, one JSON document on stdout, a readable text report, clear errors
on stderr and never a traceback (``diagnosis-format.md`` command-line contract)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pylondiag.model.diagnosis import Diagnosis

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "cases" / "rebalance-us2000c-cell-imbalance"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pylondiag.cli", "diagnose", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )


def test_json_is_exactly_one_document(validator):
    r = run(EXAMPLE, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # the whole of stdout is one JSON document
    Diagnosis.model_validate(doc)
    assert doc["outcome"] == "rebalance" and doc["culprit_modules"] == [3]
    v = subprocess.run(
        [sys.executable, str(validator), str(EXAMPLE), "-"], input=r.stdout, capture_output=True, text=True
    )
    assert v.returncode == 0, v.stdout


def test_text_report():
    r = run(EXAMPLE)
    assert r.returncode == 0, r.stderr
    for part in ("REBALANCE", "cell_imbalance", "Modules", "Findings", "What to do", "Safety", "bat 3"):
        assert part in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_output_file(tmp_path):
    out = tmp_path / "d.json"
    r = run(EXAMPLE, "--format", "json", "--output", out)
    assert r.returncode == 0 and r.stdout == ""
    assert json.loads(out.read_text())["primary_cause"] == "cell_imbalance"
    txt = tmp_path / "d.txt"
    assert run(EXAMPLE, "--output", txt).returncode == 0 and "REBALANCE" in txt.read_text()


@pytest.mark.parametrize(
    ("yaml_text", "says"),
    [
        ("schema: pylondiag.case/1\nstack:\n  - position: 1\n    led: blue\n", "line 4, key stack[0].led"),
        ("schema: pylondiag.case/1\nstackk: []\n", "key stackk: unknown key"),
        ("schema: pylondiag.case/1\nstack: [\n", "YAML syntax error"),
    ],
)
def test_invalid_case_yaml_exit_2(tmp_path, yaml_text, says):
    (tmp_path / "case.yaml").write_text(yaml_text)
    r = run(tmp_path, "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert says in r.stderr and "case.yaml" in r.stderr and "Fix:" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_path_exit_2(tmp_path):
    r = run(tmp_path / "nope", "--format", "json")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_unknown_format_exit_2():
    r = run(EXAMPLE, "--format", "xml")
    assert r.returncode == 2 and "xml" in r.stderr


@pytest.mark.parametrize("kind", ["empty", "junk", "thousand"])
def test_awkward_directories_still_diagnose(tmp_path, validator, kind):
    if kind == "junk":
        (tmp_path / "console").mkdir()
        (tmp_path / "console" / "x.bin").write_bytes(os.urandom(2048) + b"\x00")
    if kind == "thousand":
        for i in range(1000):
            (tmp_path / f"f{i:04d}.txt").write_text(f"not evidence {i}\n")
    r = run(tmp_path, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["outcome"] == "insufficient_evidence" and doc["evidence_gaps"]
    v = subprocess.run(
        [sys.executable, str(validator), str(tmp_path), "-"], input=r.stdout, capture_output=True, text=True
    )
    assert v.returncode == 0, v.stdout


def test_single_file_case(tmp_path, captures_dir, validator):
    src = next(captures_dir.glob("bat_balancing_imbalance*20260713.txt"))
    f = tmp_path / src.name
    f.write_bytes(src.read_bytes())
    r = run(f, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["findings"][0]["evidence"][0]["source"] == src.name
    v = subprocess.run(
        [sys.executable, str(validator), str(f), "-"], input=r.stdout, capture_output=True, text=True
    )
    assert v.returncode == 0, v.stdout
