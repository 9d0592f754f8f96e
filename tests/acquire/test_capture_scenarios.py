"""A live capture of every scenario, served by the emulator, gives the scenario's own diagnosis.

The scenario's own case holds console sessions taken over several days. The emulator serves the
stack as it was at the scenario's last planned session, and the live capture stands in for every
capture the scenario took from then on (that session and the per-module captures). The owner's
observations (case.yaml), the inverter log and the earlier sessions are the scenario's. The
emulator's clock is the simulated stack's clock, so the transcript's timestamps line up with the
inverter log as they would on site. A scenario whose case is the owner's story only (no console at
all) has nothing a capture stands in for: there the captured case is checked for validity only.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from acquire_emulator import serve_live, validated_diagnosis
from typer.testing import CliRunner

from pylondiag.acquire import ConsoleSession
from pylondiag.acquire.capture import run_capture
from pylondiag.cli import app
from pylondiag.sim import list_scenarios
from pylondiag.sim import serve as srv
from pylondiag.sim.casewriter import write
from pylondiag.sim.scenarios import run_scenario

SEED = 1
OWN_CONSOLES = {"capacity_fade", "capacity_fade_monitor"}
"""Scenarios whose verdict needs each module's own console: a faded module's SOH is in its own
`stat`, which B67 firmware prints only on that module's console (`stat N` is refused through the
master). For these the test also plugs into every module in turn (`capture --own`), as an engineer
on site would; for the others the capture through the master is enough."""


def _verdict(doc: dict[str, object]) -> tuple[object, object, list[int]]:
    return doc["outcome"], doc["primary_cause"], sorted(doc["culprit_modules"])  # type: ignore[call-overload]


def _own_diagnosis(case: Path) -> dict[str, object]:
    res = CliRunner().invoke(app, ["diagnose", str(case), "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list_scenarios())
def test_live_capture_gives_the_scenarios_own_diagnosis(
    tmp_path: Path, validator: Path, scenario: str
) -> None:
    result = run_scenario(scenario, SEED, keep_states=True)
    own = write(result, SEED, tmp_path / "own")
    story_only = not result.setup.write_console  # the scenario's case holds no console to stand in for
    last = max((c for c in result.setup.captures if c.commands[0] == "pwr"), key=lambda c: c.at_h)
    end = [c.filename for c in result.setup.captures if c.at_h >= last.at_h]
    stack = result.states[last.filename]
    live = srv.LiveStack(replace(result, stack=stack))
    clock = stack.time
    with serve_live(live) as url, ConsoleSession.open(url, timeout_s=1.0, clock=lambda: clock) as session:
        cap = run_capture(session, tmp_path / "cap", port=url)
    assert not cap.gaps, cap.gaps
    transcripts = [cap.transcript]
    if scenario in OWN_CONSOLES:
        for a in cap.addresses:
            with (
                serve_live(live, plugged=a) as url,
                ConsoleSession.open(url, timeout_s=1.0, clock=lambda: clock) as session,
            ):
                mine = run_capture(session, tmp_path / f"own{a}", port=url, own=True)
            assert not mine.gaps and mine.addresses == [a], mine.gaps
            transcripts.append(mine.transcript)
    merged = tmp_path / "merged"
    shutil.copytree(own, merged)
    for name in end:
        (merged / "console" / name).unlink(missing_ok=True)
    (merged / "console").mkdir(exist_ok=True)
    for k, path in enumerate(transcripts):
        shutil.copy(path, merged / "console" / f"{k:02d}-{path.name}")
    got = validated_diagnosis(merged, validator)
    if not story_only:
        assert _verdict(got) == _verdict(_own_diagnosis(own))
