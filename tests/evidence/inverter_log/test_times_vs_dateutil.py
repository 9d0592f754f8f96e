"""Issue 16 item 9: the inverter-log date parser against ``dateutil`` on the same inputs.

``dateutil.parser.parse`` reads one value at a time: ``03/04/2026`` is the 4th of March unless the caller
already knows the log is day-first (``dayfirst=True``), and a value that cannot be month-first
(``13/04/2026``) silently flips to day-first in the middle of a month-first column. An inverter log does
not say which convention it uses; our parser decides it for the whole column (a day above 12 anywhere,
else the reading whose times run in order and closer together, else the site's convention with a
warning). The test shows the difference on the same columns: ours resolves every column, dateutil gets
at least one wrong whichever way it is set — so the hand-written parser stays.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dateutil import parser as du

from pylondiag.evidence.inverter_log._times import parse_times

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

COLUMNS = {
    # a UK inverter (day first); one day above 12 settles the whole column
    "uk-with-a-late-day": (
        LONDON,
        ["03/04/2026 07:00", "03/04/2026 19:00", "04/04/2026 07:00", "13/04/2026 07:00"],
        [(2026, 4, 3), (2026, 4, 3), (2026, 4, 4), (2026, 4, 13)],
    ),
    # a US inverter (month first) with a 12-hour clock
    "us-12-hour": (
        NEW_YORK,
        ["04/03/2026 7:00 PM", "04/05/2026 7:00 AM", "04/13/2026 7:00 AM"],
        [(2026, 4, 3), (2026, 4, 5), (2026, 4, 13)],
    ),
    # every value ambiguous: daily rows 1-4 Feb read day-first, or 2 Jan..2 Apr month-first; the dense
    # reading (three days, not three months) is the log's
    "uk-all-ambiguous": (
        LONDON,
        ["01/02/2026 10:00", "02/02/2026 10:00", "03/02/2026 10:00", "04/02/2026 10:00"],
        [(2026, 2, 1), (2026, 2, 2), (2026, 2, 3), (2026, 2, 4)],
    ),
}


def _dates(times: list[datetime | None]) -> list[tuple[int, int, int] | None]:
    return [(t.year, t.month, t.day) if t else None for t in times]


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_our_parser_resolves_each_column(name: str) -> None:
    zone, values, expected = COLUMNS[name]
    col = parse_times(values, list(range(1, len(values) + 1)), zone, f"{name}.csv")
    assert _dates(col.times) == expected


@pytest.mark.parametrize("dayfirst", [False, True])
def test_dateutil_gets_a_column_wrong_whichever_way_it_is_set(dayfirst: bool) -> None:
    wrong = []
    for name, (_zone, values, expected) in COLUMNS.items():
        got = [(d.year, d.month, d.day) for d in (du.parse(v, dayfirst=dayfirst) for v in values)]
        if got != expected:
            wrong.append(name)
    assert wrong, "dateutil resolved every column: reconsider keeping the hand-written parser"
    # the failure is the one described: a fixed convention, or a silent flip inside a column
    if not dayfirst:
        assert "uk-all-ambiguous" in wrong and "uk-with-a-late-day" in wrong
    else:
        assert "us-12-hour" in wrong
