"""Benchmark: the whole pipeline from files (read case.yaml + console session, parse, diagnose) on a
16-module case with a full console session (``pwr``, ``bat N``, ``stat N``, ``pwr N`` and ``info N`` for
every module), on one core.

Run: ``.venv/bin/python bench/diagnose.py [--seconds 5]``. Target: ≥ 50 cases/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pylondiag.evidence.console import read_console
from pylondiag.pipeline import run_case

REPO = Path(__file__).resolve().parents[1]


def _shapes():
    spec = importlib.util.spec_from_file_location("make_cases", REPO / "examples" / "make_cases.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_cases"] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


def info(addr: int) -> list[str]:
    return [
        f"Device address      : {addr}",
        "Manufacturer        : Pylon",
        "Device name         : US3000C",
        "Board version       : PHANTOMSAV10R03",
        "Main Soft version   : B69.25",
        "Soft  version       : V2.8",
        f"Barcode             : PPTBP01{addr:08d}",
        "Specification       : 48V/74AH",
        "Cell Number         : 15",
        "Max Dischg Curr     : -100000mA",
        "Max Charge Curr     : 102000mA",
    ]


def build(root: Path) -> Path:
    sh = _shapes()
    case = root / "bench-16"
    (case / "console").mkdir(parents=True)
    mods = [sh.Mod(a, sh.cells(3440 + a % 3), soc=100, cap_mah=74000) for a in range(1, 17)]
    mods[6] = sh.Mod(7, sh.cells(3452, {11: -72, 3: -35}), soc=100, cap_mah=74000)
    s = sh.Session(prompt="pylon>", eol="\r\r\n")
    s.add("pwr", sh.pwr_old(mods, 16, "2026-11-20 09:00:00"))
    for m in mods:
        s.add(f"bat {m.addr}", sh.bat(m))
        s.add(f"stat {m.addr}", sh.stat(m.addr, soh=97, cycles=800))
        s.add(f"pwr {m.addr}", sh.pwr_detail(m))
        s.add(f"info {m.addr}", info(m.addr))
    (case / "console" / "session.txt").write_bytes(s.text().encode())
    stack = [
        {
            "position": a,
            "model": "US3000C",
            "installed": "2021-04",
            "led": "green",
            "dip": "0000",
            "role": "master" if a == 1 else "slave",
            "address": a,
        }
        for a in range(1, 17)
    ]
    body = {
        "schema": "pylondiag.case/1",
        "case_id": "bench-16",
        "stack": stack,
        "inverter": {"brand": "victron", "configured_modules": 16, "configured_capacity_ah": 1184},
    }
    (case / "case.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return case


def _rate(work: Callable[[], object], seconds: float) -> tuple[int, float]:
    """Run ``work`` repeatedly for about ``seconds``: (runs, elapsed seconds)."""
    n, t0 = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - t0 < seconds:
        work()
        n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = build(Path(tmp))
        size = (case / "console" / "session.txt").stat().st_size
        lines = (case / "console" / "session.txt").read_bytes().count(b"\n")
        first = run_case(case).diagnosis  # warm-up (imports), and a sanity check
        assert first.primary_cause is not None and first.culprit_modules == [7], first.to_json_dict()
        n, dt = _rate(lambda: run_case(case), args.seconds)
        # Baselines in the same run: reading the case's bytes and parsing the console alone.
        files = [f for f in case.rglob("*") if f.is_file()]
        session = case / "console" / "session.txt"
        n_io, dt_io = _rate(lambda: [f.read_bytes() for f in files], args.seconds / 2)
        n_parse, dt_parse = _rate(
            lambda: read_console(session.read_bytes(), "console/session.txt"), args.seconds / 2
        )
        ms_case, ms_io, ms_parse = 1000 * dt / n, 1000 * dt_io / n_io, 1000 * dt_parse / n_parse
    print(
        json.dumps(
            {
                "case": "16 modules, console session with pwr + 16 x (bat, stat, pwr N, info)",
                "session_bytes": size,
                "session_lines": lines,
                "cases": n,
                "ms_per_case": round(ms_case, 2),
                "cases_per_s": round(n / dt, 1),
                "target_cases_per_s": 50,
                "baseline_read_files_ms": round(ms_io, 3),
                "baseline_parse_console_ms": round(ms_parse, 2),
                "ratio_to_reading_files": round(ms_case / ms_io, 1),
                "ratio_to_parsing_console": round(ms_case / ms_parse, 2),
                "outcome": first.outcome.value,
                "primary_cause": first.primary_cause.value,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
