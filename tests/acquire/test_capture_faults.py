"""Every injected fault ends in a valid (possibly partial) case and a clear message: no traceback, no hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from acquire_emulator import pty_console, tcp_console, validated_diagnosis
from typer.testing import CliRunner

from pylondiag.cli import app
from pylondiag.sim.faults import Faults

FAULTS = {
    "drop": ("drop=0.15,seed=1", {0}),
    "garble": ("garble=0.1,seed=2", {0, 3}),
    "slow": ("slow=0.08", {0}),
    "vanish": ("vanish=2@8", {3}),
    "disconnect": ("disconnect=10", {0}),
    "hang": ("hang=12", {3}),
    "wrong_baud": ("wrong_baud", {3}),
}
"""Fault → (emulator --fault text, the exit codes allowed). Garbled digits can pass unseen (the console
has no checksum); a garbled frame is asked again, up to the retry bound."""


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_gives_a_valid_case_and_a_clear_message(tmp_path: Path, validator: Path, name: str) -> None:
    spec, codes = FAULTS[name]
    case = tmp_path / "case"
    t0 = time.monotonic()
    with tcp_console("healthy", 1, faults=Faults.parse(spec)) as (url, live):
        res = CliRunner().invoke(app, ["capture", url, "--out", str(case), "--timeout", "0.5"])
    assert time.monotonic() - t0 < 60
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    assert res.exit_code in codes, res.output
    doc = yaml.safe_load((case / "case.yaml").read_text())
    if res.exit_code == 0:
        assert "incomplete" not in doc["notes"]
        assert len(doc["stack"]) == len(live.result.setup.modules)
    else:
        assert "incomplete" in doc["notes"] or "no console" in doc["notes"]
        assert res.output.strip()
    if name == "vanish":
        assert "module 2" in res.output and "stopped answering" in doc["notes"]
    if name == "hang":
        assert "stopped answering" in res.output and "not read" in doc["notes"]
    if name == "wrong_baud":
        assert "no console prompt" in res.output
    validated_diagnosis(case, validator)


def test_a_pty_that_goes_away_mid_capture_leaves_a_partial_case(tmp_path: Path, validator: Path) -> None:
    case = tmp_path / "case"
    with pty_console("healthy", 1, faults=Faults.parse("disconnect=6")) as (path, _live):
        res = CliRunner().invoke(app, ["capture", path, "--out", str(case), "--timeout", "0.5"])
    assert res.exit_code == 3, res.output
    assert "stopped answering" in res.output
    validated_diagnosis(case, validator)


def test_other_firmware_dialects_are_captured_whole(tmp_path: Path, validator: Path) -> None:
    for dialect in ("us2kbpl_b66", "us2000c_b67", "us5000_v2"):
        case = tmp_path / dialect
        with tcp_console("healthy", 1, dialect=dialect) as (url, _live):
            res = CliRunner().invoke(app, ["capture", url, "--out", str(case), "--timeout", "0.5"])
        assert res.exit_code == 0, res.output
        validated_diagnosis(case, validator)


def _ctrl_c_as_on_a_terminal() -> None:
    """SIGINT back to its default in the child: a suite started in the background by a non-interactive
    shell (``cmd &``) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt — the capture
    rightly keeps going (as under ``nohup``), which is not what an owner's Ctrl-C at a terminal meets."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_leaves_a_valid_partial_case(tmp_path: Path, validator: Path) -> None:
    case = tmp_path / "case"
    with tcp_console("healthy", 1, pace=1200) as (url, _live):  # slow line: the capture is still running
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylondiag.cli", "capture", url, "--out", str(case)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_ctrl_c_as_on_a_terminal,
        )
        deadline = time.monotonic() + 30
        while not list((case / "console").glob("*.txt")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # seen once on a loaded machine: keep what it said, to know where
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(
                f"capture still running 30 s after Ctrl-C; stdout {out[-2000:]!r}, stderr {err[-3000:]!r}"
            )
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Ctrl-C" in err
    doc = yaml.safe_load((case / "case.yaml").read_text())
    assert "interrupted (Ctrl-C)" in doc["notes"]
    validated_diagnosis(case, validator)
