"""Every example case through the real pipeline: self-contained HTML holding the diagnosis; a few PDFs read
back with pdftotext hold the outcome, every culprit and every action."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_html import parse

from pylondiag.pipeline import run_case
from pylondiag.report import render_html, render_pdf
from pylondiag.report.plain import owner_text
from pylondiag.report.words import OUTCOME_HEADLINE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.is_dir() else []
PDF_CASES = [c for c in CASES if c.startswith(("replace-", "reconfigure-two", "onsite-module"))][:3]


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not CASES, reason="no examples/cases")
@pytest.mark.parametrize("name", CASES)
def test_example_html(name: str) -> None:
    result = run_case(EXAMPLES / name)
    d = result.diagnosis
    html = render_html(d, result.view)
    page = parse(html)
    assert OUTCOME_HEADLINE[d.outcome] in page.plain
    assert {"outcome", "stack", "actions", "safety", "evidence", "findings", "facts"} <= page.ids
    assert [p for p, cls in page.modules if "culprit" in cls.split()] == d.culprit_modules
    for a in d.actions:  # page one says each action in owner words (report.plain.owner_text)
        assert words(owner_text(a.text).replace("`", "")) in words(page.plain.replace("`", ""))
    for tag, attr, value in page.urls:
        assert value.startswith(("#", "data:")), (tag, attr, value[:60])
    assert not re.search(r"https?://", html)
    assert "script" not in page.tags


@pytest.mark.skipif(not PDF_CASES or shutil.which("pdftotext") is None, reason="no examples or no poppler")
@pytest.mark.parametrize("name", PDF_CASES)
def test_example_pdf_text(name: str, tmp_path: Path) -> None:
    result = run_case(EXAMPLES / name)
    d = result.diagnosis
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(d, result.view))
    text = words(
        subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    )
    assert OUTCOME_HEADLINE[d.outcome] in text
    for pos in d.culprit_modules:
        assert f"position {pos}" in text
    for a in d.actions:
        assert words(a.text.replace("`", "")) in text, f"action {a.step} missing from the PDF"
