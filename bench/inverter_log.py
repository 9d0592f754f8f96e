"""Inverter event-log benchmark (not a timed test): a year of events at one per minute, read and correlated.

Builds a generic event CSV in memory (``time,code,message,severity,temperature``): 525,600 rows, one per
minute of 2026, Europe/London local times. Most rows are the inverter's informational status events
(kind ``other``, which the thermal test does not count as trips); about 1 % are battery trips
(Deye/Sunsynk ``W31`` / ``F58`` BMS-comms trips) placed on cold early mornings, so the correlation has a real
cluster to find; every row carries a battery temperature (seasonal + daily swing, seeded noise). Then:

* ``read_event_table`` (columnar fast path: numpy ISO times, one classification per distinct code/message)
  → rows/s, CPU s;
* the thermal correlation on the table (hourly exposure + Fisher's exact tests,
  :func:`pylondiag.diagnosis.thermal.correlate`) → CPU s;
* peak memory of each step (``tracemalloc``: Python and numpy allocations) and the process's peak RSS;
* with ``--objects``, also ``read_inverter_log`` (one pydantic ``BatteryEvent`` per row) → rows/s.

Usage: ``.venv/bin/python bench/inverter_log.py [--rows 525600] [--objects]``
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import resource
import time
import tracemalloc
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pylondiag.diagnosis.thermal import TRIP_KINDS, correlate
from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.evidence.inverter_log.table import SEVERITIES, read_event_table
from pylondiag.model.event import Severity

ZONE = "Europe/London"
TRIPS = (("W31", "Battery_comm_warn", "warning"), ("F58", "BMS_Comm_Fail", "fault"))
STATUS = (("", "Status normal", "info"), ("", "Grid connected", "info"), ("F35", "No AC grid", "info"))


def build(rows: int, seed: int = 1) -> tuple[bytes, int]:
    """The CSV bytes and how many rows are trips."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    out = ["time,code,message,severity,temperature"]
    trips = 0
    for i in range(rows):
        t = start + timedelta(minutes=i)
        season = 9.0 - 8.0 * math.cos((t.timetuple().tm_yday - 15) / 365.0 * 2 * math.pi)
        temp = season + 4.0 * math.sin((t.hour + t.minute / 60 - 9) / 24 * 2 * math.pi) + rng.gauss(0, 0.7)
        cold_morning = temp < 2.0 and 4 <= t.hour < 9
        if (cold_morning and rng.random() < 0.15) or rng.random() < 0.002:
            code, msg, sev = TRIPS[rng.randrange(len(TRIPS))]
            trips += 1
        else:
            code, msg, sev = STATUS[rng.randrange(3)]
        out.append(f"{t:%Y-%m-%d %H:%M:%S},{code},{msg},{sev},{temp:.1f}")
    return ("\n".join(out) + "\n").encode(), trips


def measure(label: str, fn, peak_memory: bool = True):  # type: ignore[no-untyped-def]
    """Run ``fn`` timed (wall and CPU), then once more under ``tracemalloc`` for its peak allocation
    (tracing slows Python allocations, so it is never part of the timing)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_text = ""
    if peak_memory:
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_text = f"   peak {peak / 2**20:8.1f} MiB"
    print(f"{label:<34} wall {wall:7.3f} s   cpu {cpu:7.3f} s{peak_text}")
    return result, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=525_600)
    ap.add_argument(
        "--objects", action="store_true", help="also time read_inverter_log (BatteryEvent objects)"
    )
    args = ap.parse_args()

    data, n_trips = build(args.rows)
    print(f"{args.rows} rows ({len(data) / 2**20:.1f} MiB), {n_trips} trips")

    table, wall, cpu_read = measure(
        "read_event_table (columnar)", lambda: read_event_table(data, "bench.csv", brand="sunsynk")
    )
    rates = f"{args.rows / wall:,.0f} rows/s wall, {args.rows / cpu_read:,.0f} rows/s CPU"
    print(f"  -> {rates} ({len(table)} events)")
    # Baseline in the same run: the standard library's csv reader splitting the same bytes into
    # fields, with no dates, codes or classification.
    _, wall_csv, cpu_csv = measure(
        "baseline: csv.reader (fields only)",
        lambda: sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))),
    )
    print(f"  -> reading takes {wall / wall_csv:.2f}x (wall) / {cpu_read / cpu_csv:.2f}x (CPU) of csv.reader")

    def correlation():  # type: ignore[no-untyped-def]
        from pylondiag.evidence.inverter_log.table import KINDS

        trip_mask = np.isin(table.kind, [KINDS.index(k) for k in TRIP_KINDS])
        trip_mask &= table.severity != SEVERITIES.index(Severity.INFO)
        trips = (table.utc_s[trip_mask], table.local_s[trip_mask] // 86400)
        span = (int(table.utc_s.min()), int(table.utc_s.max()))
        return correlate(trips, table.utc_s, table.temperature_c, ZoneInfo(ZONE), span=span)

    result, _, _ = measure("thermal correlation (Fisher)", correlation)
    best = result.best()
    counted = result.tests[0] if result.tests else None
    if counted is not None:
        print(
            f"  -> {len(result.tests)} tests over {result.hours} hours, {counted.trips_total} trips on "
            f"{counted.trip_days} days"
        )
    print(f"  -> {best.describe() if best else 'no significant cluster'}")

    if args.objects:
        log, wall, _ = measure(
            "read_inverter_log (objects)",
            lambda: read_inverter_log(data, "bench.csv", brand="sunsynk"),
            peak_memory=False,
        )
        print(f"  -> {len(log.events) / wall:,.0f} rows/s ({len(log.events)} BatteryEvent objects)")
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
