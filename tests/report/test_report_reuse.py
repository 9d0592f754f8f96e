"""The HTML and then the PDF of one diagnosis draw each chart once: the second render reuses the first's
flattened data and charts (same objects), and a different diagnosis or view is drawn afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
import report_samples

from pylondiag.pipeline import run_case
from pylondiag.report import html, render_html, render_pdf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times charts were drawn (one entry per ``build_charts`` call)."""
    calls: list[int] = []
    real = html.build_charts

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(html, "build_charts", counting)
    monkeypatch.setattr(html, "_PREPARED", html._Prepared())
    return calls


def test_html_then_pdf_draws_the_charts_once(builds: list[int]) -> None:
    diagnosis, data = report_samples.rebalance()
    page = render_html(diagnosis, data)
    pdf = render_pdf(diagnosis, data)
    assert len(builds) == 1
    assert pdf.startswith(b"%PDF") and "<svg" in page


def test_a_case_view_is_flattened_once_and_a_new_diagnosis_is_drawn_again(builds: list[int]) -> None:
    result = run_case(REPO / "examples" / "cases" / "rebalance-us2000c-cell-imbalance")
    first = render_html(result.diagnosis, result.view)
    again = render_html(result.diagnosis, result.view)  # same objects: no redraw
    assert len(builds) == 1 and again.count("<svg") == first.count("<svg") > 0
    amended = result.diagnosis.model_copy()
    render_html(amended, result.view)
    assert len(builds) == 2
