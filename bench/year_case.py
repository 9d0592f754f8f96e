"""Year-long case benchmark (not a timed test): a case whose inverter log holds a year at one row a minute.

Writes a case directory — ``case.yaml`` (Sunsynk inverter, two modules) and ``inverter/events.csv`` from
:func:`bench.inverter_log.build`: 525,600 rows, every row with a battery temperature, about 1 % battery
trips on cold mornings — then, each in a fresh child process (so the peak memory is the run's own):

* the whole pipeline, ``run_case`` (read, columns, diagnose) → CPU s, wall s, peak RSS (MB);
* the baseline: the same process reading the file's bytes (and importing the pipeline), nothing else.

Targets (issue 17): diagnosed in ≤ 2 s wall and ≤ 400 MB peak on the 2-core machine. CPU time is the
steadier figure on a shared machine; both are printed.

With ``--events`` the log is a year of inverter EVENTS instead (:mod:`bench.event_log`: a Deye/Sunsynk
export, every row an event — comms warnings and faults, low-voltage and over-current trips — one a
minute: the hostile end of what an event log holds), and the case says ``inverter: {brand: deye}``.

With ``--shape`` the same year is written in another accepted shape (:mod:`bench.log_shapes`): ``dayfirst``
and ``offset`` (the generic CSV dated ``01/01/2026 00:00:00`` / ``2026-01-01T00:00:00+00:00``),
``home_assistant`` (History download), ``victron`` (dbus-serialbattery log), ``lux`` (portal JSON;
``--rows 160000`` keeps it under the 40 MiB file limit). ``--ab`` adds, in the same run, the row-wise reader
on the same case (one object per row: what every shape but the ISO CSV took before).

Usage: ``.venv/bin/python bench/year_case.py [--rows 525600] [--runs 3] [--events] [--shape S] [--ab]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

CASE_YAML = """schema: pylondiag.case/1
site: {timezone: Europe/London}
inverter: {brand: sunsynk}
stack:
  - {position: 1, model: US3000C}
  - {position: 2, model: US3000C}
"""

_CHILD = """
import sys, time
from pathlib import Path
case = Path(sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
from pylondiag.pipeline import run_case
if sys.argv[2] == "rows":  # A/B: the row-wise reader for every shape (one event object per row)
    from pylondiag.evidence.inverter_log import columns
    columns._COLUMN_READERS.clear()
if sys.argv[2] in ("diagnose", "rows"):
    result = run_case(case)
    what = f"{result.diagnosis.outcome.value}, {len(result.diagnosis.findings)} findings"
else:
    what = f"{len(next((case / 'inverter').iterdir()).read_bytes())} bytes read"
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
# VmHWM, not ru_maxrss: after fork + exec, ru_maxrss still counts what the parent process held
peak = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:")) / 1024
print(f"{cpu:.3f} {wall:.3f} {peak:.0f} {what}")
"""


def write_case(root: Path, rows: int, events: bool = False, shape: str = "generic") -> tuple[Path, int, int]:
    """The case directory, its log's size in bytes and how many rows are trips (``events``: every row
    is an event, see :mod:`bench.event_log`; ``shape``: the year written in that shape)."""
    name = "events.csv"
    if shape != "generic":
        from inverter_log import build as build_year
        from log_shapes import SHAPES

        name, make = SHAPES[shape]
        data, trips = make(rows), build_year(rows)[1]
        case_yaml = CASE_YAML
    elif events:
        from event_log import build_events

        data, trips = build_events(rows), rows
        case_yaml = CASE_YAML.replace("brand: sunsynk", "brand: deye")
    else:
        from inverter_log import build

        data, trips = build(rows)
        case_yaml = CASE_YAML
    (root / "inverter").mkdir(parents=True)
    (root / "inverter" / name).write_bytes(data)
    (root / "case.yaml").write_text(case_yaml, encoding="utf-8")
    return root, len(data), trips


def child(case: Path, what: str) -> tuple[float, float, float, str]:
    """(CPU s, wall s, peak RSS MB, summary) of one fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(case), what], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=3)
    return float(out[0]), float(out[1]), float(out[2]), out[3].strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=525_600)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", action="store_true", help="a year of Deye events, every row an event")
    ap.add_argument(
        "--shape", default="generic", help="generic, dayfirst, offset, home_assistant, victron, lux"
    )
    ap.add_argument("--ab", action="store_true", help="also the row-wise reader, in the same run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case, size, trips = write_case(Path(tmp) / "year", args.rows, args.events, args.shape)
        what = "events" if args.events else "trips"
        print(f"year case ({args.shape}): {args.rows} rows ({size / 2**20:.1f} MiB), {trips} {what}")
        for run in range(1, args.runs + 1):
            d_cpu, d_wall, d_peak, d_what = child(case, "diagnose")
            b_cpu, b_wall, b_peak, _ = child(case, "read")
            print(
                f"run {run}: diagnose CPU {d_cpu:.2f} s, wall {d_wall:.2f} s, peak RSS {d_peak:.0f} MB "
                f"({d_what}) | baseline (import + read bytes) CPU {b_cpu:.2f} s, wall {b_wall:.2f} s, "
                f"peak {b_peak:.0f} MB | ratio CPU {d_cpu / b_cpu:.1f}x, memory +{d_peak - b_peak:.0f} MB"
            )
            if args.ab:
                r_cpu, r_wall, r_peak, r_what = child(case, "rows")
                print(
                    f"       row-wise reader: CPU {r_cpu:.2f} s, wall {r_wall:.2f} s, peak RSS "
                    f"{r_peak:.0f} MB ({r_what}) | columns take {d_cpu / r_cpu:.2f}x its CPU, "
                    f"{d_peak / r_peak:.2f}x its memory"
                )


if __name__ == "__main__":
    main()
