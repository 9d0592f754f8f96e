"""Calibration: how often findings at each confidence level were right (issue 11 item 8).

Diagnoses the simulated corpus (every scenario of ``pylondiag.sim``, labelled by what was injected) and
the real-report corpus ``tests/realworld/<slug>/`` (each case directory with its ``expected.json``, as
``examples/cases``; whatever exists when this runs), then counts, for every finding that claims a
fault or a warning, whether the label agrees with it, grouped by the level of the one confidence scale
(:mod:`pylondiag.diagnosis.confidence`; a corroborated finding counts at the highest level it reaches).

A finding is **right** when the label's ``primary_cause`` is the finding's code, or the code is one
of the label's ``required_codes`` (real and example cases), and the finding's module is one of the
label's culprits (or the label names none, or the finding is stack-level). It is **wrong** when it
names another cause for a culprit module, or any fault or warning on a stack labelled ``no_fault``.
Any other finding (a second observation on a module the label says nothing about, such as a cell
over-voltage that an inverter setting causes) is counted apart as "not labelled". ``info`` findings
claim no fault and are not counted. The table is printed twice: every fault/warning finding, and only the
finding behind each case's outcome (its primary cause).

    .venv/bin/python bench/calibration.py [--seeds 4] [--workers 2] [--seed0 2000] [--realworld DIR]
                                          [--json out.json]

Labels never come from the diagnosis; the figures are reported, not tuned.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pylondiag.diagnosis.confidence import LEVELS, level_of
from pylondiag.sim import list_scenarios, write_case

REPO = Path(__file__).resolve().parents[1]
Claim = dict[str, Any]


def _claims(case: Path, label: dict[str, Any], corpus: str) -> dict[str, Any]:
    """Diagnose one case; each fault/warning finding with whether the label agrees."""
    from pylondiag.pipeline import run_case

    d = run_case(case).diagnosis
    wanted = {label.get("primary_cause"), *label.get("required_codes", [])} - {None}
    culprits = set(label.get("culprit_modules", []))
    out: list[Claim] = []
    for f in d.findings:
        if f.severity.value == "info":
            continue
        place_ok = f.module is None or not culprits or f.module in culprits
        right: bool | None = f.code.value in wanted and place_ok
        healthy = label.get("outcome") == "no_fault"
        if not right and not healthy and f.code.value not in wanted and f.module not in culprits:
            right = None  # a second observation the label says nothing about: not counted
        out.append(
            {
                "code": f.code.value,
                "module": f.module,
                "severity": f.severity.value,
                "confidence": f.confidence,
                "primary": d.primary_cause is not None and f.code == d.primary_cause,
                "right": right,
            }
        )
    return {"case": case.name, "corpus": corpus, "claims": out}


def _sim_job(job: tuple[str, int, str]) -> dict[str, Any]:
    name, seed, root = job
    out = Path(root) / f"{name}-{seed}"
    try:
        write_case(name, seed, out)
        label = json.loads((out / "label.json").read_text())
        return _claims(out, label, "simulated")
    except Exception as exc:  # a crash is reported, the run goes on
        return {"case": out.name, "corpus": "simulated", "error": f"{type(exc).__name__}: {exc}"}


def _real_job(case: str) -> dict[str, Any]:
    path = Path(case)
    try:
        label = json.loads((path / "expected.json").read_text())
        return _claims(path, label, "realworld")
    except Exception as exc:
        return {"case": path.name, "corpus": "realworld", "error": f"{type(exc).__name__}: {exc}"}


def _table(title: str, all_claims: list[Claim]) -> None:
    claims = [c for c in all_claims if c["right"] is not None]
    by: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by[level_of(c["confidence"])].append(c)
    print(title)
    print(f"  {'level':14s} {'value':>5s} {'findings':>9s} {'right':>6s} {'rate':>7s}")
    for name, value in LEVELS:
        cs = by.get(name, [])
        right = sum(c["right"] for c in cs)
        rate = f"{100.0 * right / len(cs):5.1f} %" if cs else "    -  "
        print(f"  {name:14s} {value:5.2f} {len(cs):9d} {right:6d} {rate:>7s}")
    total = sum(c["right"] for c in claims)
    print(
        f"  {'all':14s} {'':5s} {len(claims):9d} {total:6d}   (+{len(all_claims) - len(claims)} not labelled)"
    )
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4, help="simulated cases per scenario")
    ap.add_argument("--seed0", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--realworld", type=Path, default=REPO / "tests" / "realworld")
    ap.add_argument("--json", type=Path, default=None, help="write every claim here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pylondiag-calibration-") as root:
        jobs = [(n, a.seed0 + k, root) for k in range(a.seeds) for n in list_scenarios()]
        real = (
            sorted(str(p.parent) for p in a.realworld.glob("*/expected.json")) if a.realworld.is_dir() else []
        )
        with mp.get_context("fork").Pool(a.workers) as pool:
            results = list(pool.imap_unordered(_sim_job, jobs, chunksize=4))
            results += list(pool.imap_unordered(_real_job, real))
    wall = time.perf_counter() - t0
    errors = [r for r in results if "error" in r]
    print(f"{len(jobs)} simulated and {len(real)} real-report cases in {wall:.0f} s ({len(errors)} crashed)")
    for e in errors:
        print(f"  crashed: {e['corpus']} {e['case']}: {e['error']}")
    print()
    for corpus in ("simulated", "realworld"):
        claims = [c for r in results if r["corpus"] == corpus and "claims" in r for c in r["claims"]]
        if not claims:
            print(f"{corpus}: no cases\n")
            continue
        _table(f"{corpus}: every fault/warning finding", claims)
        _table(f"{corpus}: the finding behind each outcome", [c for c in claims if c["primary"]])
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
