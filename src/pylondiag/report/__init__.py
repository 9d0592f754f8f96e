"""Views of a diagnosis: HTML and PDF reports (the terminal report is ``report.terminal``).

``render_html(diagnosis, view)`` and ``render_pdf(diagnosis, view)``; ``view`` is the case's ``CaseView``
or None (then only what the diagnosis itself holds is shown). ``preliminary=True`` marks a report no
engineer has signed off yet; ``signed_off=SignOff(engineer, at)`` names who signed it off and when.
"""

from pylondiag.report.html import PRELIMINARY_TEXT, SignOff, render_html
from pylondiag.report.pdf import render_pdf

__all__ = ["PRELIMINARY_TEXT", "SignOff", "render_html", "render_pdf"]
