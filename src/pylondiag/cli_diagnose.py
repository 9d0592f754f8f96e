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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pylondiag.cli_output import (
    EXIT_BUG,
    EXIT_OK,
    EXIT_UNUSABLE,
    UsageError,
    case_progress,
    choose_format,
    progress,
    read_stdin_to,
    spinner,
    stdin_dir,
    write_rendered,
)
from pylondiag.cli_output import detail as _detail
from pylondiag.cli_output import note as _note
from pylondiag.cli_output import say as _say
from pylondiag.errors import CaseError, PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView

if TYPE_CHECKING:
    from pylondiag.pipeline import CaseResult

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


def run_diagnose(cases: list[Path], fmt: str | None, output: Path | None) -> int:
    """One case: the spec's behaviour. Several: JSON Lines (a diagnosis per line) or text reports."""
    batch = len(cases) > 1
    try:
        fmt = choose_format(fmt, output, "json" if batch else "text", tuple(RENDERERS))
        if batch and fmt not in ("json", "text"):
            raise UsageError(
                f"several cases give JSON Lines or text, not {fmt}; diagnose one case for {fmt}."
            )
        if cases.count(STDIN) > 1:
            raise UsageError("`-` (stdin) can be given once.")
    except UsageError as exc:
        _say(f"error: {exc}")
        return EXIT_UNUSABLE
    if fmt in ("html", "pdf"):
        from pylondiag.extras import MissingExtra, require

        try:
            require("report", f"--format {fmt}")
        except MissingExtra as exc:
            _say(f"error: {exc}")
            return EXIT_UNUSABLE
    with stdin_dir() as tmp:
        if not batch:
            outcome = _diagnose_one(cases[0], tmp, bar=True)
            if isinstance(outcome, int):
                return outcome
            return _render_one(outcome, fmt, output)
        return _diagnose_batch(cases, fmt, output, tmp)


STDIN: Final = Path("-")


def _diagnose_one(case: Path, tmp: Path, *, bar: bool = False) -> CaseResult | int:
    """The case's diagnosis, or the exit status after saying why there is none; ``bar``: show a bar over
    the case's evidence bytes, then "diagnosing" (on a terminal only)."""
    try:
        from pylondiag.casedir import evidence_bytes
        from pylondiag.pipeline import run_case

        path = read_stdin_to(tmp) if case == STDIN else case
        started = time.perf_counter()
        with case_progress(evidence_bytes(path) if bar else 0, case.name or "stdin", shown=bar) as shown:
            result = run_case(path, shown.file_read)
        _detail(
            f"{case}: {len(result.view.files)} file(s) read, {len(result.view.gaps)} gap(s), "
            f"{time.perf_counter() - started:.2f} s"
        )
        return result
    except UsageError as exc:
        _say(f"error: {exc}")
        return EXIT_UNUSABLE
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
            "pylondiag; please report it with the case attached."
        )
        return EXIT_BUG


def _render_one(result: CaseResult, fmt: str, output: Path | None) -> int:
    try:
        if output is None and fmt == "text":
            from rich.console import Console

            from pylondiag.report.terminal import print_report

            print_report(result.diagnosis, result.view, Console())
            return EXIT_OK
        if fmt in ("html", "pdf"):  # charts and layout: seconds on a large case
            with spinner(f"rendering the {fmt.upper()} report"):  # terminal only
                rendered = RENDERERS[fmt](result.diagnosis, result.view)
        else:
            rendered = RENDERERS[fmt](result.diagnosis, result.view)
    except Exception as exc:  # renderer bug: report without traceback
        _say(f"internal error while rendering the {fmt} report: {type(exc).__name__}: {exc}. This is a bug.")
        return EXIT_BUG
    return write_rendered(rendered, fmt, output, result.diagnosis)


def _diagnose_batch(cases: list[Path], fmt: str, output: Path | None, tmp: Path) -> int:
    """Each case in turn; one JSON line (or one text report) per diagnosed case, in the order given.

    Exit 0 when every case was diagnosed; otherwise the worst status met (2 unusable input, 70 a bug),
    the other cases still printed.
    """
    worst = EXIT_OK
    try:
        out = output.open("w", encoding="utf-8") if output is not None else sys.stdout
    except OSError as exc:
        _say(
            f"error: cannot write {output}: {exc.strerror or exc}. Fix: choose a writable path for --output."
        )
        return EXIT_UNUSABLE
    try:
        with progress(len(cases), "diagnosing") as step:
            for case in cases:
                outcome = _diagnose_one(case, tmp)
                step(case.name)
                if isinstance(outcome, int):
                    worst = max(worst, outcome)
                    continue
                if fmt == "json":
                    out.write(json.dumps(outcome.diagnosis.to_json_dict(), ensure_ascii=False) + "\n")
                else:
                    out.write(_text(outcome.diagnosis, outcome.view).rstrip("\n") + "\n\n")
                out.flush()
    finally:
        if output is not None:
            out.close()
    if output is not None:
        _note(f"{len(cases)} case(s): {fmt} written to {output}")
    return worst
