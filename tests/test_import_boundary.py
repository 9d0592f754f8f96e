"""The import boundary of the command line: a command loads only what it uses. ``diagnose --format json``
(what outside checks run on every case) must not import the plotting, PDF, web or simulator stacks —
each costs a noticeable part of a second at start-up. Checked in a fresh interpreter, from ``sys.modules``
after the command ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "examples" / "cases"

HEAVY = (
    "matplotlib",
    "weasyprint",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "uvicorn",
    "jinja2",
    "PIL",
    "serial",
)
"""Third-party stacks of the report, service and bus extras."""
OURS = (
    "pylondiag.sim",
    "pylondiag.service",
    "pylondiag.acquire",
    "pylondiag.report.html",
    "pylondiag.report.pdf",
    "pylondiag.report.charts",
)
"""Our own modules that pull those stacks in (the simulator: a whole physics model; acquire: serial I/O)."""
BUS = (
    "cantools",
    "construct",
    "can",
    "pylondiag.evidence.can",
    "pylondiag.evidence.rs485",
    "pylondiag.casedir.bus",
)
"""The CAN / RS485 decoders (cantools, construct, python-can): only for a case with bus captures."""

_PROBE = """
import contextlib, io, json, sys
sys.argv = ["pylondiag", *json.loads(sys.argv[1])]
from pylondiag.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as exc:
        code = exc.code
sys.stderr.write(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(*args: str) -> set[str]:
    """Every module imported by ``pylondiag ARGS`` run in a fresh interpreter."""
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    report = json.loads(r.stderr[r.stderr.index('{"exit"') :])
    assert report["exit"] in (0, None), r.stderr
    return set(report["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize(
    "case", ["healthy-us3000c-stack", "inv-cold-mornings-deye", "inv-ha-history-goodwe-cold"]
)
def test_diagnose_json_imports_no_heavy_stack(case: str) -> None:
    modules = _modules_after("diagnose", str(CASES / case), "--format", "json")
    assert _loaded(modules, HEAVY + OURS + BUS) == []
    assert "pylondiag.diagnosis" in modules  # the probe did run the diagnosis
    assert "rich" not in modules  # the terminal renderer is for --format text


def test_diagnose_text_imports_no_report_or_web_stack() -> None:
    modules = _modules_after("diagnose", str(CASES / "healthy-us3000c-stack"), "--format", "text")
    assert _loaded(modules, HEAVY + OURS) == []


INVERTER_LOG = ("numpy", "pylondiag.evidence.inverter_log")
"""numpy (the columns of year-long logs) and the inverter-log readers (shapes, brand code tables)."""


def test_a_case_without_an_inverter_log_loads_neither_numpy_nor_the_log_readers() -> None:
    modules = _modules_after("diagnose", str(CASES / "healthy-us3000c-stack"), "--format", "json")
    assert _loaded(modules, INVERTER_LOG) == []  # they cost nothing when there is no log


def test_a_case_with_an_inverter_log_loads_them() -> None:
    """The other side: the lazy imports do run when the case has a log."""
    modules = _modules_after("diagnose", str(CASES / "inv-cold-mornings-deye"), "--format", "json")
    assert {"numpy", "pylondiag.evidence.inverter_log", "pylondiag.evidence.inverter_log.columns"} <= modules


def test_parse_and_help_stay_light(tmp_path: Path) -> None:
    capture = next((CASES / "healthy-us3000c-stack" / "console").iterdir())
    for args in (("parse", str(capture), "--format", "json"), ("--help",), ("sim", "--help")):
        assert _loaded(_modules_after(*args), HEAVY + OURS) == [], args


def test_bus_decoders_load_for_a_case_with_a_can_capture(tmp_path: Path) -> None:
    """The other side of the boundary: a case with a CAN capture does load them (the lazy imports work)."""
    (tmp_path / "can").mkdir()
    (tmp_path / "can" / "dump.log").write_text(
        "(1700000000.000000) can0 351#1402E803E8030000\n(1700000000.100000) can0 355#63006400\n"
    )
    modules = _modules_after("diagnose", str(tmp_path), "--format", "json")
    assert {"cantools", "pylondiag.casedir.bus"} <= modules
