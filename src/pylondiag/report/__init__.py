"""Views of a diagnosis: HTML and PDF reports (the terminal report is ``report.terminal``).

``render_html(diagnosis, view)`` and ``render_pdf(diagnosis, view)``; ``view`` is the case's ``CaseView``
or None (then only what the diagnosis itself holds is shown). ``preliminary=True`` marks a report no
engineer has signed off yet; ``signed_off=SignOff(engineer, at)`` names who signed it off and when.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pylondiag.report.html import PRELIMINARY_TEXT, SignOff, render_html
    from pylondiag.report.pdf import render_pdf

__all__ = ["PRELIMINARY_TEXT", "SignOff", "render_html", "render_pdf"]

# Imported on first use (PEP 562): the terminal report (``report.terminal``, core install) must not pull
# in Jinja2, Matplotlib and WeasyPrint, which only the ``[report]`` extra installs.
_LAZY = {
    "PRELIMINARY_TEXT": "pylondiag.report.html",
    "SignOff": "pylondiag.report.html",
    "render_html": "pylondiag.report.html",
    "render_pdf": "pylondiag.report.pdf",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pylondiag.report' has no attribute {name!r}")
    from pylondiag.extras import require

    require("report", "HTML and PDF reports")
    return getattr(importlib.import_module(module), name)
