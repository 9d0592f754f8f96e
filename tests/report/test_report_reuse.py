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


def test_charts_waiting_for_a_drawing_are_kept_only_while_they_are_the_newest(builds: list[int]) -> None:
    # A chart drawn for the PDF keeps its figure for the HTML's SVG: tens of thousands of objects that
    # every full garbage collection walks. Another report's charts replace such an entry; charts with
    # both drawings made (no figure left) stay for reuse.
    diagnosis, data = report_samples.rebalance()
    other = diagnosis.model_copy()
    render_pdf(diagnosis, data)
    render_pdf(other, data)  # the first report's charts still wait for their SVG: dropped
    render_html(diagnosis, data)
    assert len(builds) == 3
    render_pdf(diagnosis, data)  # both drawings made: kept, nothing drawn again
    render_html(other, data)
    render_pdf(diagnosis, data)
    assert len(builds) == 4


def test_a_case_view_is_flattened_once_and_a_new_diagnosis_is_drawn_again(builds: list[int]) -> None:
    result = run_case(REPO / "examples" / "cases" / "rebalance-us2000c-cell-imbalance")
    first = render_html(result.diagnosis, result.view)
    again = render_html(result.diagnosis, result.view)  # same objects: no redraw
    assert len(builds) == 1 and again.count("<svg") == first.count("<svg") > 0
    amended = result.diagnosis.model_copy()
    render_html(amended, result.view)
    assert len(builds) == 2
