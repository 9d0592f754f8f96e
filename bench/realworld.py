"""Exact-match rate of the diagnosis on the real-report corpus (``tests/realworld/``).

Each case directory there holds figures re-typed from a public report of a real Pylontech stack
(``source.yaml`` says where, what resolved it and why the label is the one an engineer would defend)
and ``expected.json`` (outcome, primary cause, culprit modules, codes that must be found). A case
matches exactly when outcome, primary cause and culprit modules all equal the label. Prints the
rate, the per-field rates and every miss with what was expected, what came out, and the findings.

    .venv/bin/python bench/realworld.py [--json out.json] [--case SLUG ...]

Labels are written from the reports, never from the diagnosis; misses are explained in the note,
not tuned away.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from pylondiag.pipeline import run_case

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "realworld"


def cases(root: Path = CORPUS) -> list[Path]:
    """Every case directory of the corpus (one with an ``expected.json``), by name."""
    return sorted(p.parent for p in root.glob("*/expected.json"))


def one(case: Path) -> dict[str, Any]:
    """Diagnose one real case; its label, what came out and whether each field matches."""
    label = json.loads((case / "expected.json").read_text())
    rec: dict[str, Any] = {"case": case.name, "label": label}
    src = yaml.safe_load((case / "source.yaml").read_text()) if (case / "source.yaml").exists() else {}
    rec["url"] = (src or {}).get("url")
    try:
        d = run_case(case).diagnosis
    except Exception as exc:  # a crash is a miss of its own kind
        rec["error"] = f"{type(exc).__name__}: {exc}"
        return rec
    got = {
        "outcome": str(d.outcome),
        "primary_cause": None if d.primary_cause is None else str(d.primary_cause),
        "culprit_modules": sorted(d.culprit_modules),
    }
    codes = {str(f.code) for f in d.findings}
    rec["got"] = got
    rec["findings"] = [
        f"{f.code} {f.severity} m={f.module} c={f.confidence}: {f.message[:160]}" for f in d.findings
    ]
    rec["outcome_ok"] = got["outcome"] == label["outcome"]
    rec["cause_ok"] = got["primary_cause"] == label["primary_cause"]
    rec["culprits_ok"] = got["culprit_modules"] == sorted(label["culprit_modules"])
    rec["codes_missing"] = sorted(set(label.get("required_codes", [])) - codes)
    rec["exact"] = rec["outcome_ok"] and rec["cause_ok"] and rec["culprits_ok"]
    return rec


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f} %" if d else "   - "


def report(results: list[dict[str, Any]], wall: float) -> None:
    n = len(results)
    ok = [r for r in results if "got" in r]
    exact = sum(r["exact"] for r in ok)
    print(f"{n} real cases ({n - len(ok)} crashed) in {wall:.1f} s")
    print(f"exact match (outcome + primary cause + culprits) {_pct(exact, n)}  ({exact}/{n})")
    for key, name in (("outcome_ok", "outcome"), ("cause_ok", "primary cause"), ("culprits_ok", "culprits")):
        k = sum(r[key] for r in ok)
        print(f"  {name:16s} {_pct(k, n)}  ({k}/{n})")
    codes = sum(not r["codes_missing"] for r in ok)
    print(f"  required codes   {_pct(codes, n)}  ({codes}/{n})")
    print()
    for r in results:
        if "error" in r:
            print(f"CRASH {r['case']}: {r['error']}")
            continue
        if r["exact"] and not r["codes_missing"]:
            continue
        lab, got = r["label"], r["got"]
        print(f"MISS {r['case']}  ({r['url']})")
        print(f"  expected {lab['outcome']} / {lab['primary_cause']} / {lab['culprit_modules']}")
        print(f"  got      {got['outcome']} / {got['primary_cause']} / {got['culprit_modules']}")
        if r["codes_missing"]:
            print(f"  missing codes {r['codes_missing']}")
        for f in r["findings"]:
            print(f"    {f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None, help="write every result here")
    ap.add_argument("--case", action="append", default=None, help="only these case directories (repeatable)")
    a = ap.parse_args()
    todo = [c for c in cases() if not a.case or c.name in a.case]
    t0 = time.perf_counter()
    results = [one(c) for c in todo]
    report(results, time.perf_counter() - t0)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str))
    return 0 if todo else 1


if __name__ == "__main__":
    sys.exit(main())
