"""Report rendering benchmark (not a timed test): a 16-module stack with a year of events.

Builds the case of ``tests/report/report_samples.big_stack`` — 16 US5000 modules (two imbalanced, one
with the real 124 mV capture values), a ``pwr`` snapshot every hour for a week, ``stat``/``info`` for every
module and 5000 inverter/BMS events over 365 days with temperatures and a thermal finding (so every chart
is drawn, the timeline binned and overlaid) — then renders HTML and PDF and prints time and size.
With ``--case DIR`` it runs the real pipeline on a case directory instead.

Usage: ``.venv/bin/python bench/report.py [--events 5000] [--modules 16] [--runs 3] [--case DIR]``
``[--keep OUT]`` also writes the two reports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "report"))

from pylondiag.report import render_html, render_pdf  # noqa: E402


def _timed(fn: Any, runs: int) -> tuple[float, Any]:
    """Median CPU time (s) of ``runs`` calls — the machine is shared, so CPU is the steadier figure —
    and the last result."""
    times, out = [], None
    for _ in range(runs):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), out


def _pages(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return "?"
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--modules", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--case", type=Path, help="a case directory: bench the real pipeline's report")
    ap.add_argument("--keep", type=Path, help="write report.html and report.pdf into this directory")
    args = ap.parse_args()

    t0 = time.perf_counter()
    if args.case:
        from pylondiag.pipeline import run_case

        result = run_case(args.case)
        diagnosis, view = result.diagnosis, result.view
        what = f"case {args.case}"
    else:
        import report_samples

        diagnosis, view = report_samples.big_stack(args.modules, args.events)
        what = f"{args.modules} modules, {len(view.events)} events over a year, {len(view.temps)} pwr rows"
    build = time.perf_counter() - t0

    # The first PDF of a process imports WeasyPrint and loads the fonts of WeasyPrint and Matplotlib:
    # timed apart, so that the figure measured first ("PDF alone") does not carry it.
    t0 = time.process_time()
    render_pdf(diagnosis.model_copy(), view)
    first_s = time.process_time() - t0
    # PDF alone: a fresh copy of the diagnosis each run, so no chart drawn for an earlier report is reused.
    pdf_alone_s, _ = _timed(lambda: render_pdf(diagnosis.model_copy(), view), args.runs)
    # The HTML and then the PDF of the same diagnosis and view (what scripts/demo.sh and the service do):
    # the PDF reuses the charts' figures drawn for the HTML. A fresh copy of the diagnosis per run, so
    # every run draws its charts.
    html_times, pdf_times = [], []
    html, pdf = "", b""
    for _ in range(args.runs):
        fresh = diagnosis.model_copy()
        t0 = time.process_time()
        html = render_html(fresh, view)
        html_times.append(time.process_time() - t0)
        t0 = time.process_time()
        pdf = render_pdf(fresh, view)
        pdf_times.append(time.process_time() - t0)
    html_s, pdf_s = statistics.median(html_times), statistics.median(pdf_times)
    # Baseline in the same run: the same diagnosis without the case data behind it (no charts, no raw
    # facts), so the ratios say what the evidence pages cost.
    base_html_s, base_html = _timed(lambda: render_html(diagnosis, None), args.runs)
    base_pdf_s, base_pdf = _timed(lambda: render_pdf(diagnosis, None), args.runs)
    print(f"report bench: {what} (data built in {build:.2f} s; median CPU time of {args.runs} runs)")
    print(f"  first PDF of the process (imports, fonts; not counted below): {first_s:.2f} s")
    print(f"  HTML  {html_s:6.2f} s   {len(html.encode()) / 1024:8.0f} KiB")
    pages = _pages(pdf)
    print(
        f"  PDF   {pdf_s:6.2f} s   {len(pdf) / 1024:8.0f} KiB   {pages} pages (after the HTML: charts reused)"
    )
    print(
        f"  PDF alone {pdf_alone_s:6.2f} s (charts drawn for it; both PDF times include laying out the HTML)"
    )
    print(
        f"  baseline without case data: HTML {base_html_s:.2f} s {len(base_html.encode()) / 1024:.0f} KiB, "
        f"PDF {base_pdf_s:.2f} s {len(base_pdf) / 1024:.0f} KiB, {_pages(base_pdf)} pages"
    )
    print(
        f"  ratio with/without case data: HTML {html_s / base_html_s:.1f}x time, "
        f"PDF {pdf_s / base_pdf_s:.1f}x time, {len(pdf) / len(base_pdf):.1f}x size"
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        (args.keep / "report.html").write_text(html, encoding="utf-8")
        (args.keep / "report.pdf").write_bytes(pdf)
        print(f"  written to {args.keep}/report.html and report.pdf")


if __name__ == "__main__":
    main()
