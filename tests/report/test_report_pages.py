"""PDF reports without wasted pages: no page holding only a line or two, and no page left half empty
because a box that would have fitted went to the next page (issue 14 item 12). Chart captions speak to an
engineer, not to this repository. Measured with poppler's ``pdftotext -bbox-layout`` on real example cases.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pylondiag.pipeline import run_case
from pylondiag.report import render_html, render_pdf

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "case.yaml").is_file()) if EXAMPLES.is_dir() else []
PDF_CASES = [
    c for c in CASES if c.startswith(("replace-weak", "onsite-hot", "reconfigure-two", "rebalance-us2000c"))
]
RUNNING = re.compile(
    r"pylondiag report · case|^Page \d+ of \d+|Battery diagnosis · Pylontech|PRELIMINARY ·"
    r"|^\d{4}-\d{2}-\d{2}$"
)
SECTION_STARTS = ("The evidence — for the engineer", "On-site specification")
"""Sections that start on a new page on purpose (the owner's page one ends before them)."""


def pages_of(pdf: bytes, tmp: Path) -> list[tuple[float, float, list[str]]]:
    """Per page: its height, the lowest point of its body text (pt), its body lines (no running header)."""
    path = tmp / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, check=True
    ).stdout
    root = ElementTree.fromstring(re.sub(rb'xmlns="[^"]+"', b"", out))
    pages = []
    for page in root.iter("page"):
        height = float(page.get("height", "842"))
        lines, bottom = [], 0.0
        for line in page.iter("line"):
            text = " ".join(w.text or "" for w in line.iter("word")).strip()
            if not text or RUNNING.search(text):
                continue
            lines.append(text)
            bottom = max(bottom, float(line.get("yMax", "0")))
        pages.append((height, bottom, lines))
    return pages


@pytest.mark.skipif(not PDF_CASES or shutil.which("pdftotext") is None, reason="no examples or no poppler")
@pytest.mark.parametrize("name", PDF_CASES)
def test_no_wasted_pages(name: str, tmp_path: Path) -> None:
    result = run_case(EXAMPLES / name)
    pages = pages_of(render_pdf(result.diagnosis, result.view, preliminary=True), tmp_path)
    assert pages
    for n, (height, bottom, lines) in enumerate(pages):
        assert len(lines) > 2, f"{name}: page {n + 1} holds only {lines}"
        last = n == len(pages) - 1
        next_starts_section = not last and any(pages[n + 1][2][0].startswith(s) for s in SECTION_STARTS)
        if not last and not next_starts_section and n > 0:
            assert bottom > 0.55 * height, f"{name}: page {n + 1} ends at {bottom:.0f} of {height:.0f} pt"


@pytest.mark.skipif(not CASES, reason="no examples/cases")
def test_chart_captions_name_no_repository_path() -> None:
    for name in CASES:
        result = run_case(EXAMPLES / name)
        html = render_html(result.diagnosis, result.view)
        captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)
        for caption in captions:
            assert not re.search(r"shared/|\.md\b|src/|examples/", caption), (name, caption[:200])
        assert "shared/domain" not in html, name
