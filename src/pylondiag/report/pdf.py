"""The PDF report: the HTML report laid out on A4 by WeasyPrint (page numbers, case id, date on each page).

Needs Pango and the DejaVu fonts (Debian ``libpango-1.0-0``, ``fonts-dejavu-core``; ``scripts/setup.sh``).
"""

from __future__ import annotations

import gc
import logging
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView
from pylondiag.report.data import ReportData
from pylondiag.report.html import SignOff, render_html, stylesheet_text

if TYPE_CHECKING:
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher


def render_pdf(
    diagnosis: Diagnosis,
    view: CaseView | ReportData | None = None,
    *,
    generated_at: datetime | None = None,
    preliminary: bool = False,
    signed_off: SignOff | None = None,
) -> bytes:
    """The report as PDF bytes (A4), from the same HTML as :func:`render_html` (``preliminary``: the
    banner on page one and "PRELIMINARY" in every page header; ``signed_off``: who signed it off, when)."""
    html_class, fetcher_class = _weasyprint()  # first, so that this report's objects are not frozen
    html = render_html(  # print layout: the CSS's @media print; charts as PNG (charts.Chart says why)
        diagnosis,
        view,
        generated_at=generated_at,
        preliminary=preliminary,
        signed_off=signed_off,
        png_charts=True,
        stylesheet=False,
    )
    # The report is self-contained: only inline data: URLs may load, nothing is fetched from anywhere.
    # WeasyPrint logs every CSS property it does not know at WARNING; a report is not the place for them.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = html_class(string=html, base_url=None, url_fetcher=fetcher_class(allowed_protocols={"data"}))
    pdf = document.write_pdf(stylesheets=[_stylesheet()])
    assert pdf is not None
    return bytes(pdf)


@cache
def _weasyprint() -> tuple[type[HTML], type[URLFetcher]]:
    """WeasyPrint's ``HTML`` and ``URLFetcher``, imported once a process; then everything the process holds
    so far is moved out of reach of the cyclic garbage collector (``gc.freeze``).

    By then the process holds WeasyPrint, Matplotlib, their fonts and the rest of the imported code:
    ~200,000 objects that live as long as the process. A PDF makes and drops enough objects (figures,
    boxes) for about one full collection, and each walked all of them: ~0.1 s a PDF, a tenth of the
    16-module report. Frozen, they are not walked again; the report's own objects are collected as
    before. A full collection first, so that no garbage is frozen with them (once a process)."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except OSError as exc:  # Pango missing: say what to install instead of a traceback
        raise PylondiagError(
            f"PDF output needs Pango and the DejaVu fonts (run scripts/setup.sh): {exc}"
        ) from exc
    gc.collect()
    gc.freeze()
    return HTML, URLFetcher


@cache
def _stylesheet() -> CSS:
    """``report.css`` parsed once a process (~30 ms a PDF), handed to WeasyPrint beside the HTML.

    WeasyPrint ranks it as a user stylesheet: above its own defaults, below the document's ``<style>``,
    which then holds only the preliminary or signed-off page header — meant to override it anyway. The
    stylesheet has no ``!important`` (where the user's would win), so every property comes out as from
    the ``<style>``: every example's PDF is byte-identical."""
    from weasyprint import CSS

    return CSS(string=stylesheet_text())
