"""A year of inverter EVENTS in a Deye/Sunsynk export's shape, for ``bench/year_case.py --events``.

Every row is an event (no status rows, no temperatures): Deye/Sunsynk codes as their manuals name them
(``shared/domain/inverters/codes_deye_sunsynk.md``) — W31 ``Battery_comm_warn``, F58 ``BMS_Comm_Fail``
and its clearing, F56 ``BAT1_VoltLow_Fault``, F20 ``Tz_Dc_OverCurr_Fault``, F13 ``Working_Mode_Change`` —
in the generic event CSV the tests' Deye logs use (``time,code,message,severity``, site-local ISO times).
A real event log is sparse (tens to thousands of rows a year); one event a minute for a year is the
hostile end: the case reader must not blow up on it, and the findings must be those of the same rows
read one by one.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

DEYE_EVENTS = (
    (("W31", "Battery_comm_warn", "warning"), 40),
    (("F58", "BMS_Comm_Fail", "fault"), 20),
    (("F58", "BMS_Comm_Fail cleared", "info"), 20),
    (("F56", "BAT1_VoltLow_Fault", "fault"), 10),
    (("F20", "Tz_Dc_OverCurr_Fault", "fault"), 8),
    (("F13", "Working_Mode_Change", "info"), 2),
)
"""(code, message, severity) and its weight among the rows."""


def build_events(rows: int, seed: int = 1, start: datetime = datetime(2026, 1, 1)) -> bytes:
    """``rows`` events, one a minute from ``start`` (site-local), as CSV bytes."""
    rng = random.Random(seed)
    kinds = [k for k, _ in DEYE_EVENTS]
    weights = [w for _, w in DEYE_EVENTS]
    out = ["time,code,message,severity"]
    for i, (code, message, severity) in enumerate(rng.choices(kinds, weights, k=rows)):
        out.append(f"{start + timedelta(minutes=i):%Y-%m-%d %H:%M:%S},{code},{message},{severity}")
    return ("\n".join(out) + "\n").encode()
