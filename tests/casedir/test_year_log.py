"""A year of inverter log at one row a minute (525,600 rows, every row with a temperature) is accepted
and diagnosed from columns: no object per row, citations only for what a finding quotes; files above
the documented limits are refused with a gap, never read into memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pylondiag import casedir
from pylondiag.casedir import files
from pylondiag.model.diagnosis import Cause
from pylondiag.pipeline import run_case
from shared_paths import SpecCheck

ROWS = 525_600
"""One row a minute for the 365 days of 2026."""


def _year_csv() -> tuple[bytes, int]:
    """A generic event CSV: the inverter's status every minute with the battery temperature (seasonal +
    daily swing), and a BMS comms trip (F58) at 06:00 on each day that is below 2 °C then."""
    minutes = np.arange(ROWS)
    day, minute_of_day = minutes // 1440, minutes % 1440
    temp = (
        9.0
        - 8.0 * np.cos((day - 15) / 365 * 2 * np.pi)
        + 4.0 * np.sin((minute_of_day / 60 - 9) / 24 * 2 * np.pi)
    )
    stamps = np.datetime_as_string(np.datetime64("2026-01-01T00:00") + minutes.astype("timedelta64[m]"))
    trip = (minute_of_day == 360) & (temp < 2.0)
    rows = [
        f"{s},F58,BMS_Comm_Fail,fault,{t:.1f}" if k else f"{s},,Status normal,info,{t:.1f}"
        for s, t, k in zip(stamps.tolist(), temp.tolist(), trip.tolist(), strict=True)
    ]
    return ("time,code,message,severity,temperature\n" + "\n".join(rows) + "\n").encode(), int(trip.sum())


@pytest.fixture(scope="module")
def year_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("year") / "case"
    (root / "inverter").mkdir(parents=True)
    data, trips = _year_csv()
    (root / "inverter" / "events.csv").write_bytes(data)
    (root / "case.yaml").write_text(
        "schema: pylondiag.case/1\nsite: {timezone: Europe/London}\ninverter: {brand: sunsynk}\n"
        "stack:\n  - {position: 1, model: US3000C}\n  - {position: 2, model: US3000C}\n",
        encoding="utf-8",
    )
    return root, trips


def test_a_year_at_one_row_a_minute_is_read_and_diagnosed(
    year_case: tuple[Path, int], spec_check: SpecCheck
) -> None:
    root, trips = year_case
    size = (root / "inverter" / "events.csv").stat().st_size
    assert 20 * 2**20 < size <= casedir.MAX_FILE_BYTES  # over the old limit, within the documented one
    result = run_case(root)
    view = result.view
    assert [f.used for f in view.files] == [True] and view.gaps == []
    assert len(view.temperatures) == ROWS  # every row's temperature, as columns
    assert len(view.events) == trips  # the trips are events; the status rows stay columns
    assert sum(len(c) for c in view.inverter_status) == ROWS - trips
    assert view.inverter_status[0].objects is None  # read column-wise, no object per row
    codes = {f.code for f in result.diagnosis.findings}
    assert Cause.THERMAL_INTERMITTENT in codes
    assert spec_check(root, result.diagnosis) == []


def test_files_over_the_limits_are_refused_with_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(files, "MAX_CONSOLE_BYTES", 200)
    (tmp_path / "inverter").mkdir()
    (tmp_path / "console").mkdir()
    (tmp_path / "inverter" / "big.csv").write_bytes(
        b"time,code,message\n" + b"2026-01-01 00:00:00,F58,x\n" * 60
    )
    (tmp_path / "console" / "pwr.txt").write_bytes(b"pylon>pwr\r\n" + b"@\r\n" + b"x" * 300 + b"\r\n$$\r\n")
    view = run_case(tmp_path).view
    texts = sorted(g.text for g in view.gaps)
    assert "too large for a console capture (limit 200)" in texts[0]
    assert "too large for an evidence file (limit 1000)" in texts[1]
    assert not any(f.used for f in view.files)
