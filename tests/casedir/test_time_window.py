"""Time travel (issue 15 item 4): rows dated far in the past or future are warnings, never a span.

One inverter-log row dated 0001 and one dated 9999 used to make the thermal rules walk an hourly series
of 87 million hours (minutes and gigabytes). Now every series lies in the plausible window: the rows are
left out with a gap naming the file and line, and the diagnosis costs what the clean case costs (a ratio
measured in the same run, not an absolute time).
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from pylondiag.casedir import load_case
from pylondiag.casedir.view import PLAUSIBLE_FROM, plausible_window
from pylondiag.pipeline import run_case

REPO = Path(__file__).resolve().parents[2]
DEYE = REPO / "examples" / "cases" / "inv-cold-mornings-deye"
TIME_TRAVEL = "9999-12-31 23:00:00,F58,BMS_Comm_Fail,fault\n0001-01-02 00:00:00,F58,BMS_Comm_Fail,fault\n"


def _copy(tmp_path: Path, name: str, extra: str = "") -> Path:
    case = tmp_path / name
    shutil.copytree(DEYE, case)
    log = case / "inverter" / "events.csv"
    log.write_text(log.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return case


def _seconds(case: Path) -> float:
    start = time.perf_counter()
    run_case(case)
    return time.perf_counter() - start


def test_rows_outside_the_plausible_window_are_gaps_not_spans(tmp_path: Path) -> None:
    clean, travelled = _copy(tmp_path, "clean"), _copy(tmp_path, "travelled", TIME_TRAVEL)
    view = load_case(travelled)
    lo, hi = plausible_window(view.observed_at)
    assert all(lo <= e.time <= hi for e in view.events if e.time is not None)
    assert len(view.events) == len(load_case(clean).events)
    gap = next(g.text for g in view.gaps if "dated outside" in g.text)
    assert "inverter/events.csv: 2 rows" in gap and "9999-12-31" in gap
    _seconds(clean)  # warm imports and caches
    baseline = min(_seconds(clean) for _ in range(2))
    assert _seconds(travelled) < 5 * baseline + 0.5


def test_the_window_starts_before_any_real_capture_and_ends_after_now() -> None:
    lo, hi = plausible_window(None, now=datetime(2026, 12, 5, tzinfo=UTC))
    assert lo == PLAUSIBLE_FROM and lo.year == 2010 and hi.date().isoformat() == "2027-12-06"
    lo, hi = plausible_window(datetime(2027, 1, 1, tzinfo=UTC), now=datetime(2026, 12, 5, tzinfo=UTC))
    assert hi.date().isoformat() == "2028-01-02"
