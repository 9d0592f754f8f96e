"""Accuracy of the diagnosis on simulated, labelled cases.

Generates cases across every scenario of the catalogue (``pylondiag.sim``), diagnoses each with
``pylondiag.pipeline.run_case`` and compares with the case's ``label.json`` (what the scenario
injected). Prints outcome / culprit-module / primary-cause accuracy, per-scenario figures, the
outcome confusion matrix, the false-alarm rate on healthy stacks, and ``replace`` verdicts given to
modules that are not culprits.

    .venv/bin/python bench/accuracy.py [--cases 1040] [--workers 2] [--seed0 1000]
                                       [--json out.json] [--keep DIR] [--scenario NAME ...]

Labels never come from the diagnosis; misses are reported for the engine, not tuned away.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pylondiag.sim import list_scenarios, write_case

OUTCOMES = [
    "no_fault",
    "monitor",
    "rebalance",
    "environment",
    "on_site_check",
    "replace",
    "reconfigure",
    "insufficient_evidence",
]


def one(job: tuple[str, int, str]) -> dict[str, Any]:
    name, seed, root = job
    from pylondiag.pipeline import run_case

    out = Path(root) / f"{name}-{seed}"
    rec: dict[str, Any] = {"scenario": name, "seed": seed}
    try:
        write_case(name, seed, out)
        label = json.loads((out / "label.json").read_text())
        rec["label"] = label
        d = run_case(out).diagnosis
        rec["got"] = {
            "outcome": str(d.outcome),
            "primary_cause": None if d.primary_cause is None else str(d.primary_cause),
            "culprit_modules": sorted(d.culprit_modules),
        }
        rec["replace_on_non_culprits"] = sorted(
            m.position
            for m in d.modules
            if str(m.verdict) == "replace" and m.position not in label["culprit_modules"]
        )
        rec["summary"] = d.summary
    except Exception as exc:  # a crash is a miss of its own kind; keep going
        rec["error"] = f"{type(exc).__name__}: {exc}"
    return rec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1040)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed0", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None, help="write every result (with misses) here")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated cases in this directory")
    ap.add_argument("--scenario", action="append", default=None, help="only these scenarios (repeatable)")
    a = ap.parse_args()
    names = a.scenario or list_scenarios()
    per = max(1, -(-a.cases // len(names)))
    tmp = None
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
        root = str(a.keep)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="pylondiag-accuracy-")
        root = tmp.name
    jobs = [(n, a.seed0 + k, root) for k in range(per) for n in names]
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(a.workers) as pool:
        results = list(pool.imap_unordered(one, jobs, chunksize=4))
    wall = time.perf_counter() - t0
    report(results, wall)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    if tmp:
        tmp.cleanup()
    return 0


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f} %" if d else "   - "


def report(results: list[dict[str, Any]], wall: float) -> None:
    ok = [r for r in results if "got" in r]
    errors = [r for r in results if "error" in r]
    n = len(results)
    out_ok = sum(r["got"]["outcome"] == r["label"]["outcome"] for r in ok)
    cul_ok = sum(r["got"]["culprit_modules"] == sorted(r["label"]["culprit_modules"]) for r in ok)
    cause_ok = sum(r["got"]["primary_cause"] == r["label"]["primary_cause"] for r in ok)
    print(f"{n} cases ({len(errors)} crashed) in {wall:.0f} s")
    print(f"outcome accuracy        {_pct(out_ok, n)}  ({out_ok}/{n})")
    print(f"culprit-module accuracy {_pct(cul_ok, n)}  ({cul_ok}/{n})")
    print(f"primary-cause accuracy  {_pct(cause_ok, n)}  ({cause_ok}/{n})")
    healthy = [r for r in ok if r["label"]["outcome"] == "no_fault"]
    alarms = [r for r in healthy if r["got"]["outcome"] != "no_fault"]
    print(
        f"healthy false-alarm rate {_pct(len(alarms), len(healthy))}  ({len(alarms)}/{len(healthy)}; "
        f"as monitor: {sum(r['got']['outcome'] == 'monitor' for r in alarms)})"
    )
    rep = [r for r in ok if r["replace_on_non_culprits"]]
    rep_h = [r for r in healthy if r["replace_on_non_culprits"]]
    print(
        f"replace verdicts on non-culprit modules: {sum(len(r['replace_on_non_culprits']) for r in rep)} "
        f"in {len(rep)} cases ({len(rep_h)} of them healthy stacks)"
    )
    print()
    print(f"{'scenario':34s} {'n':>4s} {'outcome':>8s} {'culprit':>8s} {'cause':>8s}  most common miss")
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by[r["scenario"]].append(r)
    for name in sorted(by):
        rs = by[name]
        good = [r for r in rs if "got" in r]
        o = sum(r["got"]["outcome"] == r["label"]["outcome"] for r in good)
        c = sum(r["got"]["culprit_modules"] == sorted(r["label"]["culprit_modules"]) for r in good)
        p = sum(r["got"]["primary_cause"] == r["label"]["primary_cause"] for r in good)
        misses = Counter(
            f"{r['got']['outcome']}/{r['got']['primary_cause']}"
            for r in good
            if (r["got"]["outcome"], r["got"]["primary_cause"])
            != (r["label"]["outcome"], r["label"]["primary_cause"])
        )
        miss = ", ".join(f"{k} x{v}" for k, v in misses.most_common(2))
        if len(good) < len(rs):
            miss = f"crashed x{len(rs) - len(good)}; " + miss
        n_s = len(rs)
        print(f"{name:34s} {n_s:4d} {_pct(o, n_s):>8s} {_pct(c, n_s):>8s} {_pct(p, n_s):>8s}  {miss}")
    print()
    print("outcome confusion (rows: label, columns: diagnosis)")
    short = [o[:8] for o in OUTCOMES]
    print(f"{'':22s}" + "".join(f"{s:>9s}" for s in short))
    cm: Counter[tuple[str, str]] = Counter((r["label"]["outcome"], r["got"]["outcome"]) for r in ok)
    for lab in OUTCOMES:
        if not any(k[0] == lab for k in cm):
            continue
        print(f"{lab:22s}" + "".join(f"{cm.get((lab, g), 0):9d}" for g in OUTCOMES))
    for r in errors[:5]:
        print(f"crash: {r['scenario']} seed {r['seed']}: {r['error']}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
