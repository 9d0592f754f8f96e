"""Start-up benchmark (not a timed test): ``pylondiag diagnose CASE`` as installed vs ``python -c pass``.

Runs the installed command (``.venv/bin/pylondiag``, as ``scripts/setup.sh`` installs it) on an example
case with ``--format json`` and ``--format text`` (output to /dev/null), and the bare interpreter as the
baseline, each ``--runs`` times in fresh processes; prints the best CPU time (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``) and the best wall time of each, and the ratios.

Targets (issue 17): json ≤ 0.35 s, text ≤ 0.5 s. On a shared machine the CPU figure is the steadier one.

Usage: ``.venv/bin/python bench/startup.py [--case examples/cases/healthy-us3000c-stack] [--runs 5]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best(cmd: list[str], runs: int) -> tuple[float, float]:
    """(best CPU s, best wall s) of ``runs`` runs of ``cmd``."""
    cpus, walls = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - wall)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return min(cpus), min(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", type=Path, default=REPO / "examples" / "cases" / "healthy-us3000c-stack")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("pylondiag"))
    base_cpu, base_wall = best([sys.executable, "-c", "pass"], args.runs)
    print(f"baseline python -c pass: CPU {base_cpu:.3f} s, wall {base_wall:.3f} s (best of {args.runs})")
    for fmt, target in (("json", 0.35), ("text", 0.5)):
        cpu, wall = best([exe, "diagnose", str(args.case), "--format", fmt], args.runs)
        print(
            f"diagnose --format {fmt}: CPU {cpu:.3f} s, wall {wall:.3f} s (target {target} s) | "
            f"{cpu / max(base_cpu, 1e-3):.0f}x / {wall / base_wall:.1f}x python -c pass (CPU / wall)"
        )


if __name__ == "__main__":
    main()
