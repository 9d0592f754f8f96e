"""``pylondiag report DIAGNOSIS.json --format html|pdf [--output FILE] [--case DIR]``.

Re-renders a saved diagnosis.

The diagnosis document (``pylondiag.diagnosis/1``, e.g. from ``diagnose --format json``) is read and checked
against the model; with ``--case`` the case directory is read again so that the report can show the
charts and raw facts behind it. Exit 0: the report was written. Exit 2: the input cannot be used — one
paragraph on stderr naming the file, the line where known, and what to fix. Never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from pylondiag.cli_output import EXIT_BUG, EXIT_UNUSABLE, UsageError, choose_format, write_rendered
from pylondiag.cli_output import say as _say
from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis

FORMATS: Final = ("html", "pdf")


def read_diagnosis(path: Path) -> Diagnosis:
    """The diagnosis document at ``path``; :class:`PylondiagError` (file, line) when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PylondiagError(
            "no such file. Fix: give the JSON written by `pylondiag diagnose CASE --format json`.",
            source=str(path),
        ) from None
    except IsADirectoryError:
        raise PylondiagError(
            "is a directory. Fix: give the diagnosis JSON file; to report on a case directory use "
            "`pylondiag diagnose CASE --format html`.",
            source=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PylondiagError(f"cannot be read ({reason}).", source=str(path)) from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PylondiagError(
            f"not valid JSON: {exc.msg} (column {exc.colno}). Fix: give the unmodified output of "
            "`pylondiag diagnose CASE --format json`.",
            source=str(path),
            line=exc.lineno,
        ) from None
    try:
        return Diagnosis.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise PylondiagError(
            f"not a pylondiag.diagnosis/1 document: {where}: {first['msg']}{more}. "
            "Fix: give the JSON written by `pylondiag diagnose CASE --format json`.",
            source=str(path),
        ) from None


def run_report(diagnosis_path: Path, fmt: str | None, output: Path | None, case_dir: Path | None) -> int:
    try:
        fmt = choose_format(fmt, output, "html", FORMATS)
    except UsageError as exc:
        _say(f"error: {exc}")
        return EXIT_UNUSABLE
    try:
        diagnosis = read_diagnosis(diagnosis_path)
        view = None
        if case_dir is not None:
            from pylondiag.casedir import load_case

            view = load_case(case_dir)
            if view.case_id != diagnosis.case_id:
                _say(
                    f"note: {case_dir} is case {view.case_id!r} but the diagnosis is for "
                    f"{diagnosis.case_id!r}; the report shows that case's data."
                )
    except PylondiagError as exc:
        where = exc.source or str(diagnosis_path)
        line = f", line {exc.line}" if exc.line else ""
        _say(f"error: {where}{line}: {exc.message}")
        return EXIT_UNUSABLE
    try:
        if fmt == "pdf":
            from pylondiag.report import render_pdf

            rendered: str | bytes = render_pdf(diagnosis, view)
        else:
            from pylondiag.report import render_html

            rendered = render_html(diagnosis, view)
    except PylondiagError as exc:  # e.g. Pango missing for PDF output
        _say(f"error: {exc}")
        return EXIT_UNUSABLE
    except Exception as exc:  # a renderer bug: one paragraph, never a traceback
        _say(f"internal error while rendering the {fmt} report: {type(exc).__name__}: {exc}. This is a bug.")
        return EXIT_BUG
    return write_rendered(rendered, fmt, output, diagnosis)
