"""`pylondiag watch` over the emulator held at 100 %, with its time scale: verdicts, restart, records."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from acquire_emulator import serve_live, validated_diagnosis
from typer.testing import CliRunner

from pylondiag.acquire import ConsoleSession
from pylondiag.cli import app
from pylondiag.cli_watch import parse_duration, run_watch, series_files
from pylondiag.diagnosis.rebalance_watch import HoldReading, judge
from pylondiag.sim import serve as srv
from pylondiag.sim.scenarios import run_scenario

MIN = 60.0


def _held(scenario: str, low_cell_soc: float = 0.0) -> srv.LiveStack:
    """The scenario's stack held at the top, stepped by hand (one 1-minute step per call of ``advance``)."""
    result = run_scenario(scenario, 1)
    if low_cell_soc:
        result.stack.soc[0, 4] += low_cell_soc  # one cell of the master a few tenths of an Ah behind
    return srv.LiveStack(result, hold=True)


def _stepper(live: srv.LiveStack) -> tuple[object, object]:
    """(clock, sleep): the watch's wait advances the simulated hold instead of the wall clock."""
    import numpy as np

    st = live.result.stack

    def sleep(seconds: float) -> None:
        for _ in range(round(seconds / MIN)):
            with live.lock:
                amps = st.charge_current_limit(st.charge_voltage_v(), 1 / 60)
                st.advance(np.full(1, amps), np.full(1, float(st.temp_c.mean())))

    return (lambda: st.time.replace(microsecond=0)), sleep


def _watch(live: srv.LiveStack, out: Path, module: int, hold_h: float = 10.0) -> object:
    clock, sleep = _stepper(live)
    with serve_live(live) as url, ConsoleSession.open(url, clock=clock) as session:  # type: ignore[arg-type]
        return run_watch(
            session,
            out,
            module=module,
            every_s=20 * MIN,
            hold_s=hold_h * 3600,
            port=url,
            clock=clock,
            sleep=sleep,  # type: ignore[arg-type]
        )


def _module_of_worst(live: srv.LiveStack) -> int:
    import numpy as np

    return int(np.argmax(np.ptp(live.result.stack.cell_mv(), axis=1))) + 1


def test_a_small_imbalance_recovers_during_the_hold(tmp_path: Path, validator: Path) -> None:
    live = _held("healthy", low_cell_soc=-0.004)
    res = _watch(live, tmp_path / "case", module=1)
    assert res.verdict.verdict == "balanced", res.verdict  # type: ignore[attr-defined]
    assert res.verdict.start_spread_mv > 60 and res.verdict.end_spread_mv <= 50  # type: ignore[attr-defined]
    doc = yaml.safe_load((tmp_path / "case" / "case.yaml").read_text())
    (entry,) = doc["history"]
    assert entry["event"] == "rebalance_cycle" and "verdict: balanced" in entry["detail"]
    assert len(series_files(tmp_path / "case", 1)) == res.readings  # type: ignore[attr-defined]
    validated_diagnosis(tmp_path / "case", validator)
    html = CliRunner().invoke(app, ["diagnose", str(tmp_path / "case"), "--format", "html"])
    assert html.exit_code == 0, html.output
    assert "Rebalancing hold" in html.stdout and 'aria-label="Cell voltages over the hold"' in html.stdout
    (tmp_path / "report.html").write_text(html.stdout)


def test_a_weak_cell_does_not_converge(tmp_path: Path, validator: Path) -> None:
    live = _held("weak_cell")
    module = _module_of_worst(live)
    res = _watch(live, tmp_path / "case", module=module)
    assert res.verdict.verdict == "not_converging", res.verdict  # type: ignore[attr-defined]
    assert res.verdict.same_low_cell  # type: ignore[attr-defined]
    validated_diagnosis(tmp_path / "case", validator)


def test_a_restarted_watch_continues_the_same_series(tmp_path: Path) -> None:
    live = _held("healthy", low_cell_soc=-0.004)
    first = _watch(live, tmp_path / "case", module=1, hold_h=2.0)
    assert first.verdict.verdict == "hold_longer"  # type: ignore[attr-defined]
    second = _watch(live, tmp_path / "case", module=1)
    assert second.readings == first.readings + second.new_readings  # type: ignore[attr-defined]
    assert second.verdict.verdict == "balanced"  # type: ignore[attr-defined]
    assert second.verdict.hours > 6  # type: ignore[attr-defined]
    doc = yaml.safe_load((tmp_path / "case" / "case.yaml").read_text())
    assert len(doc["history"]) == 1  # the same series: one entry, updated


def test_watch_command_over_the_emulator_time_scale(tmp_path: Path) -> None:
    """The CLI end to end: the emulator's own clock runs 3600x (--time-scale), the watch matches it."""
    live = _held("weak_cell")
    live.speed = 3600.0
    module = _module_of_worst(live)
    live.start()
    try:
        with serve_live(live) as url:
            res = CliRunner().invoke(
                app,
                [
                    "watch",
                    url,
                    "--module",
                    str(module),
                    "--every",
                    "20m",
                    "--hold",
                    "3h",
                    "--time-scale",
                    "3600",
                    "--out",
                    str(tmp_path / "case"),
                ],
            )
    finally:
        live.stop()
    assert res.exit_code == 0, res.output
    assert "not converging" in res.output


def test_durations() -> None:
    assert parse_duration("10m") == 600 and parse_duration("8h") == 28800 and parse_duration("5") == 300
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_rule_on_a_hand_made_series() -> None:
    t0 = datetime(2026, 12, 5, 8, 0)
    cells = lambda low: tuple([3450] * 4 + [low] + [3450] * 10)  # noqa: E731
    falling = [HoldReading(t0 + timedelta(minutes=30 * k), cells(3320 + 8 * k), 100) for k in range(8)]
    assert judge(falling).verdict == "hold_longer"
    assert judge(falling, hold_limit_h=3.0).hours_to_target is not None
    flat = [HoldReading(t0 + timedelta(minutes=30 * k), cells(3320 + (k % 2)), 100) for k in range(8)]
    assert judge(flat).verdict == "not_converging"
    done = [*falling, HoldReading(t0 + timedelta(hours=5), cells(3420), 100)]
    assert judge(done).verdict == "balanced"
    not_top = [HoldReading(t0, tuple([3330] * 15), 80)]
    assert judge(not_top).verdict == "hold_longer"


def test_a_stack_that_stops_answering_ends_the_watch_with_the_series_kept(tmp_path: Path) -> None:
    from pylondiag.sim.faults import Faults

    live = _held("healthy", low_cell_soc=-0.004)
    clock, sleep = _stepper(live)
    with (
        serve_live(live, faults=Faults.parse("hang=7")) as url,
        ConsoleSession.open(url, clock=clock, timeout_s=0.5) as session,  # type: ignore[arg-type]
    ):
        res = run_watch(
            session,
            tmp_path / "case",
            module=1,
            every_s=20 * MIN,
            hold_s=8 * 3600,
            port=url,
            clock=clock,
            sleep=sleep,  # type: ignore[arg-type]
        )
    assert res.stopped is not None and "stopped answering" in res.stopped
    assert res.readings == 3  # pwr 1 + bat 1 a reading: commands 1-6 answered, the 7th never
    doc = yaml.safe_load((tmp_path / "case" / "case.yaml").read_text())
    assert "3 reading(s)" in doc["history"][0]["detail"]
