"""`pylondiag report DIAGNOSIS.json --format html|pdf`: re-render a saved diagnosis; clear errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import report_samples as samples
from typer.testing import CliRunner

from pylondiag.cli import app

runner = CliRunner()


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    d, _ = samples.replace()
    path = tmp_path / "diagnosis.json"
    path.write_text(json.dumps(d.to_json_dict(), indent=2), encoding="utf-8")
    return path


def test_html_to_file(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(saved), "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "A module needs to be replaced" in html and "2026-0050" in html


def test_html_to_stdout_by_default(saved: Path) -> None:
    result = runner.invoke(app, ["report", str(saved)])
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")
def test_pdf_to_file(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    result = runner.invoke(app, ["report", str(saved), "--format", "pdf", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "schema": "pylondiag.diagnosis/1",\n  "case_id": \n}', encoding="utf-8")
    result = runner.invoke(app, ["report", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}, line 4" in result.stderr and "not valid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_not_a_diagnosis_says_which_key(saved: Path) -> None:
    doc = json.loads(saved.read_text())
    doc["outcome"] = "explode"
    saved.write_text(json.dumps(doc))
    result = runner.invoke(app, ["report", str(saved)])
    assert result.exit_code == 2
    assert "outcome" in result.stderr and "pylondiag.diagnosis/1" in result.stderr


def test_missing_file_and_unknown_format(tmp_path: Path, saved: Path) -> None:
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    fmt = runner.invoke(app, ["report", str(saved), "--format", "docx"])
    assert fmt.exit_code == 2 and "html, pdf" in fmt.stderr


def test_bad_case_directory_is_exit_2(saved: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(saved), "--case", str(tmp_path / "no-such-case")])
    assert result.exit_code == 2
    assert "no-such-case" in result.stderr


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cases" / "rebalance-us2000c-cell-imbalance"


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="example case missing")
def test_diagnose_writes_the_html_report_and_report_rerenders_it(tmp_path: Path) -> None:
    html_out, json_out, again = tmp_path / "d.html", tmp_path / "d.json", tmp_path / "again.html"
    first = runner.invoke(app, ["diagnose", str(EXAMPLE), "--format", "html", "--output", str(html_out)])
    assert first.exit_code == 0, first.output
    saved = runner.invoke(app, ["diagnose", str(EXAMPLE), "--format", "json", "--output", str(json_out)])
    assert saved.exit_code == 0, saved.output
    second = runner.invoke(
        app, ["report", str(json_out), "--format", "html", "--case", str(EXAMPLE), "--output", str(again)]
    )
    assert second.exit_code == 0, second.output
    strip = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC|\d{4}-\d\d-\d\d")  # the report's own date/time
    assert strip.sub("", html_out.read_text(encoding="utf-8")) == strip.sub(
        "", again.read_text(encoding="utf-8")
    )
