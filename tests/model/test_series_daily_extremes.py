"""``TemperatureSeries.daily_extremes``: each local day's lowest and highest reading of a long series, the
same as a plain Python pass over every reading finds them — across a DST change and in zones whose offset
is not a whole hour."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pylondiag.model.columns import SeriesOrigin, TemperatureSeries


def series(start: datetime, minutes: int, zone: ZoneInfo, seed: int = 1) -> TemperatureSeries:
    rng = np.random.default_rng(seed)
    utc = start.timestamp() + 60.0 * np.arange(minutes)
    celsius = np.round(rng.normal(15, 4, minutes), 1)  # rounded: many ties
    celsius[minutes // 3] = 61.0  # a one-minute spike
    celsius[7] = np.nan  # a row without a reading
    return TemperatureSeries(
        zone=zone,
        utc_s=utc,
        celsius=celsius,
        origin=np.zeros(minutes, dtype=np.int32),
        line=np.arange(2, minutes + 2, dtype=np.int32),
        origins=(SeriesOrigin("inverter/log.csv", "battery"),),
    )


def by_hand(s: TemperatureSeries) -> list[int]:
    """Every reading looked at once, with the standard library: the rows of each local day's extremes."""
    days: dict[object, list[int]] = defaultdict(list)
    for j in range(len(s)):
        if not np.isnan(s.celsius[j]):
            days[datetime.fromtimestamp(float(s.utc_s[j]), UTC).astimezone(s.zone).date()].append(j)
    rows: set[int] = set()
    for js in days.values():
        low = min(js, key=lambda j: (s.celsius[j], j))
        high = max(js, key=lambda j: (s.celsius[j], j))
        rows |= {low, high}
    return sorted(rows)


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/London", datetime(2026, 3, 27, 21, 13, tzinfo=UTC)),  # spring forward on the 29th
        ("Europe/London", datetime(2026, 10, 23, 5, 0, tzinfo=UTC)),  # fall back on the 25th
        ("America/St_Johns", datetime(2026, 3, 6, 0, 0, tzinfo=UTC)),  # -3:30, DST on the 8th
        ("Asia/Kathmandu", datetime(2026, 6, 1, 0, 7, tzinfo=UTC)),  # +5:45
    ],
)
def test_each_local_day_keeps_its_lowest_and_highest_reading(zone: str, start: datetime) -> None:
    s = series(start, 6 * 24 * 60, ZoneInfo(zone))
    rows = s.daily_extremes()
    assert rows.tolist() == by_hand(s)
    assert len(rows) <= 2 * 7
    assert 61.0 in s.celsius[rows]  # the spike stays


def test_a_year_at_one_reading_a_minute_keeps_two_readings_a_day() -> None:
    s = series(datetime(2026, 1, 1, tzinfo=UTC), 525_600, ZoneInfo("Europe/London"))
    rows = s.daily_extremes()
    assert 2 * 364 <= len(rows) <= 2 * 366
    kept = s.take(rows)
    assert float(np.nanmax(kept.celsius)) == float(np.nanmax(s.celsius))
    assert float(np.nanmin(kept.celsius)) == float(np.nanmin(s.celsius))
    assert list(rows) == sorted(rows)  # series order


def test_an_empty_series_has_no_extremes() -> None:
    assert TemperatureSeries().daily_extremes().tolist() == []
