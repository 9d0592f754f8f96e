"""How fast the simulator runs: a year of 1-minute steps for a 16-module stack.

Runs the stack with the inverter's daily load/PV profile, with the same control loop the scenarios
use (``Stack.chunk_for`` holds the controls for 1-60 steps: single steps charging into the top, every
BMS transition cut exactly), and prints the simulated time over the wall-clock time.

    .venv/bin/python bench/sim_speed.py [--days 365] [--modules 16] [--chunk 5]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime

import numpy as np

from pylondiag.sim.inverter import Inverter, InverterSettings, daily_profile
from pylondiag.sim.module import ModuleSpec
from pylondiag.sim.stack import Stack


def run(days: int, modules: int, chunk: int, seed: int = 1) -> tuple[float, int, Stack]:
    start = datetime(2026, 1, 1)
    mods = [ModuleSpec(i + 1, "US3000C", f"S{i}", date(2022, 5, 1), cycles=600) for i in range(modules)]
    st = Stack(mods, seed=seed, start=start, ambient_c=15.0, soc=0.5)
    minutes = days * 1440
    rng = np.random.default_rng(seed)
    ah = 74.0 * modules
    demand = daily_profile(
        rng,
        start,
        minutes,
        pv_peak_w=ah * 51.2 * 0.4,
        base_load_w=400.0,
        evening_w=min(ah * 51.2 * 0.25, 9000.0),
    )
    inv = Inverter(
        InverterSettings(
            "victron",
            "MultiPlus-II 48/5000",
            "CAN-bus BMS LV (500 kbit/s)",
            "Pylontech",
            max_charge_current_a=200.0,
            max_discharge_current_a=200.0,
        ),
        demand,
        np.zeros(minutes, dtype=bool),
    )
    hod = np.arange(minutes) / 60.0
    ambient = 15.0 + 3.0 * np.cos((hod % 24 - 15.0) / 24 * 2 * np.pi)
    k = calls = 0
    t0 = time.perf_counter()
    while k < minutes:
        planned = inv.planned_current(st, k, min(chunk, minutes - k))
        n = min(st.chunk_for(planned), minutes - k)
        k += st.advance(inv.current(st, k, n), ambient[k : k + n])
        calls += 1
    return time.perf_counter() - t0, calls, st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--modules", type=int, default=16)
    ap.add_argument("--chunk", type=int, default=5, help="look-ahead for the planned current")
    a = ap.parse_args()
    wall, calls, st = run(a.days, a.modules, a.chunk)
    simulated = a.days * 86400.0
    print(f"{a.modules} modules x 15 cells, {a.days} days of 1-minute steps ({a.days * 1440} steps)")
    print(f"wall clock {wall:.1f} s in {calls} integration calls; {simulated / wall:,.0f}x real time")
    cyc = [st.total_cycles(i) - 600 for i in range(a.modules)]
    print(
        f"end state: mean SOC {st.soc.mean() * 100:.1f} %, cycles done per module {min(cyc)}-{max(cyc)}, "
        f"cells {st.cell_mv().min():.0f}-{st.cell_mv().max():.0f} mV"
    )


if __name__ == "__main__":
    main()
