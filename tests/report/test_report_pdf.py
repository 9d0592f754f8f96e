"""The PDF report, read back with poppler (pdftotext, pdfinfo, pdftoppm) as a person would see it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import report_samples as samples

from pylondiag.model.diagnosis import Diagnosis
from pylondiag.report import render_pdf
from pylondiag.report.words import OUTCOME_HEADLINE

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftotext", "pdfinfo", "pdftoppm")),
    reason="poppler-utils not installed (scripts/setup.sh installs it)",
)

CASES = ("rebalance", "replace", "reconfigure", "on_site_check", "insufficient_evidence", "environment")


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert m, info
    return int(m.group(1))


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Diagnosis, Path]]:
    out = tmp_path_factory.mktemp("pdf")
    made = {}
    for name in CASES:
        d, data = samples.ALL_OUTCOMES[name]()
        path = out / f"{name}.pdf"
        path.write_bytes(render_pdf(d, data, generated_at=samples.GENERATED))
        made[name] = (d, path)
    return made


@pytest.mark.parametrize("name", CASES)
def test_text_holds_outcome_culprits_and_every_action(
    name: str, pdfs: dict[str, tuple[Diagnosis, Path]]
) -> None:
    d, pdf = pdfs[name]
    text = words(pdf_text(pdf))
    assert OUTCOME_HEADLINE[d.outcome] in text
    for pos in d.culprit_modules:
        assert f"position {pos}" in text
    for action in d.actions:
        assert words(action.text) in text, f"action {action.step} missing"
    for gap in d.evidence_gaps:
        assert words(gap) in text


@pytest.mark.parametrize("name", CASES)
def test_every_page_is_a4_with_case_id_date_and_page_number(
    name: str, pdfs: dict[str, tuple[Diagnosis, Path]]
) -> None:
    d, pdf = pdfs[name]
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    n = page_count(pdf)
    assert n >= 2  # the owner's page, then the evidence
    for page in range(1, n + 1):
        text = words(pdf_text(pdf, page))
        assert f"case {d.case_id}" in text, f"page {page}: no case id"
        assert "2026-11-26" in text, f"page {page}: no date"
        assert f"Page {page} of {n}" in text


def test_engineer_section_starts_on_a_new_page(pdfs: dict[str, tuple[Diagnosis, Path]]) -> None:
    _, pdf = pdfs["rebalance"]
    first, second = words(pdf_text(pdf, 1)), words(pdf_text(pdf, 2))
    assert "Your battery stack" in first and "What to do now" in first and "Safety" in first
    assert "The evidence — for the engineer" not in first
    assert "The evidence — for the engineer" in second


def test_on_site_specification_is_in_the_pdf(pdfs: dict[str, tuple[Diagnosis, Path]]) -> None:
    _d, pdf = pdfs["on_site_check"]
    text = words(pdf_text(pdf))
    assert "On-site specification" in text
    assert "Safety precautions" in text
    assert "Spare RJ45 link cable" in text  # module_not_communicating → bring a link cable


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """A binary PGM (P5, 8-bit) as written by ``pdftoppm -gray``."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    i = 0
    while len(tokens) < 4:
        while data[i : i + 1].isspace():
            i += 1
        if data[i : i + 1] == b"#":
            while data[i : i + 1] not in (b"\n", b""):
                i += 1
            continue
        j = i
        while not data[j : j + 1].isspace():
            j += 1
        tokens.append(data[i:j])
        i = j
    assert tokens[0] == b"P5" and tokens[3] == b"255", tokens
    width, height = int(tokens[1]), int(tokens[2])
    pixels = data[i + 1 : i + 1 + width * height]
    assert len(pixels) == width * height
    return width, height, pixels


@pytest.mark.parametrize("name", ["rebalance", "insufficient_evidence", "replace"])
def test_first_page_image_is_not_blank(
    name: str, pdfs: dict[str, tuple[Diagnosis, Path]], tmp_path: Path
) -> None:
    _, pdf = pdfs[name]
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True
    )
    (pgm,) = tmp_path.glob("p*.pgm")
    width, height, pixels = read_pgm(pgm)
    inked = sum(1 for p in pixels if p < 200)
    assert inked / (width * height) > 0.03, "first page is (almost) blank"
    # the outcome banner (top fifth of the page) is tinted, not white paper
    top = pixels[int(height * 0.08) * width : int(height * 0.2) * width]
    assert sum(1 for p in top if p < 250) / len(top) > 0.3


@pytest.mark.slow
def test_sixteen_modules_and_a_year_of_events_fit_in_reasonable_size(tmp_path: Path) -> None:
    d, data = samples.big_stack()
    pdf = tmp_path / "big.pdf"
    pdf.write_bytes(render_pdf(d, data, generated_at=samples.GENERATED))
    assert pdf.stat().st_size < 1_500_000
    text = words(pdf_text(pdf, 1))
    assert "Safety" in text, "the 16-module stack drawing pushed the safety box off page one"
    for pos in d.culprit_modules:
        assert f"position {pos}" in text
