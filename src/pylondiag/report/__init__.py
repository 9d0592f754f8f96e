"""Views of a diagnosis: HTML and PDF reports (the terminal report is ``report.terminal``).

``render_html(diagnosis, view)`` and ``render_pdf(diagnosis, view)``; ``view`` is the case's ``CaseView``
or None (then only what the diagnosis itself holds is shown).
"""

from pylondiag.report.html import render_html
from pylondiag.report.pdf import render_pdf

__all__ = ["render_html", "render_pdf"]
