"""``pylondiag diagnose CASE [--format text|json|html|pdf] [--output FILE]`` (``diagnosis-format.md``).

Exit 0: a diagnosis was produced (whatever it found). Exit 2: the input cannot be used at all (path
missing, ``case.yaml`` invalid) — one paragraph on stderr naming the file, line, key and the fix.
``--format json`` prints exactly one JSON document on stdout. Never a traceback.

Formats are a table (:data:`RENDERERS`): format name → ``(diagnosis, view) -> str | bytes``. A new
format is one entry.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from pylondiag.cli_output import EXIT_BUG, EXIT_OK, EXIT_UNUSABLE, write_rendered
from pylondiag.cli_output import say as _say
from pylondiag.errors import CaseError, PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView

Renderer = Callable[[Diagnosis, CaseView], "str | bytes"]

"""Only for an internal error (a bug): the spec allows 0 and 2."""


def _json(d: Diagnosis, _view: CaseView) -> str:
    return json.dumps(d.to_json_dict(), indent=2, ensure_ascii=False) + "\n"


def _text(d: Diagnosis, view: CaseView) -> str:
    from pylondiag.report.terminal import render_text

    return render_text(d, view)


def _html(d: Diagnosis, view: CaseView) -> str:
    from pylondiag.report import render_html

    return render_html(d, view)


def _pdf(d: Diagnosis, view: CaseView) -> bytes:
    from pylondiag.report import render_pdf

    return render_pdf(d, view)


RENDERERS: Final[dict[str, Renderer]] = {"text": _text, "json": _json, "html": _html, "pdf": _pdf}


def run_diagnose(case: Path, fmt: str, output: Path | None) -> int:
    fmt = fmt.lower().strip()
    if fmt not in RENDERERS:
        _say(f"error: --format {fmt!r} is not one of: {', '.join(RENDERERS)}.")
        return EXIT_UNUSABLE
    if fmt in ("html", "pdf"):
        from pylondiag.extras import MissingExtra, require

        try:
            require("report", f"--format {fmt}")
        except MissingExtra as exc:
            _say(f"error: {exc}")
            return EXIT_UNUSABLE
    try:
        from pylondiag.pipeline import run_case

        result = run_case(case)
    except CaseError as exc:
        where = exc.source or str(case)
        if where in exc.message:
            _say(f"error: {exc.message}")
        else:
            line = f", line {exc.line}" if exc.line else ""
            _say(f"error: {where}{line}: {exc.message}")
        return EXIT_UNUSABLE
    except PylondiagError as exc:
        _say(f"error: {exc}")
        return EXIT_UNUSABLE
    except Exception as exc:  # a bug: say so in one paragraph, never a traceback
        _say(
            f"internal error while diagnosing {case}: {type(exc).__name__}: {exc}. This is a bug in "
            "pylondiag; "
            "please report it with the case attached."
        )
        return EXIT_BUG
    try:
        if output is None and fmt == "text":
            from rich.console import Console

            from pylondiag.report.terminal import print_report

            print_report(result.diagnosis, result.view, Console())
            return EXIT_OK
        rendered = RENDERERS[fmt](result.diagnosis, result.view)
    except Exception as exc:  # renderer bug: report without traceback
        _say(f"internal error while rendering the {fmt} report: {type(exc).__name__}: {exc}. This is a bug.")
        return EXIT_BUG
    return write_rendered(rendered, fmt, output, result.diagnosis)
    if isinstance(rendered, bytes):
        if sys.stdout.isatty():
            _say(f"error: {fmt} is binary; use --output FILE.")
            return EXIT_UNUSABLE
        sys.stdout.buffer.write(rendered)
    else:
        sys.stdout.write(rendered)
    return EXIT_OK
