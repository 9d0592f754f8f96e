"""Alerts: one per change of outcome or new culprit, none for a value flapping around a threshold
(hysteresis), and a rate limit on repeated changes."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pylondiag.model.diagnosis import Diagnosis, Outcome
from pylondiag.mqtt.alerts import AlertGate
from pylondiag.pipeline import run_case
from shared_paths import REPO

CASE = REPO / "examples" / "cases" / "rebalance-us2000c-cell-imbalance"
HEALTHY = REPO / "examples" / "cases" / "healthy-us3000c-stack"
LOW_CELL = "3381"
"""Module 3's weakest cell (cell 9) in the example: 75 mV below the top cells (3456 mV)."""


def _variant(tmp: Path, low_mv: int) -> Path:
    """The example case with module 3's weakest cell at ``low_mv`` (in ``bat 3`` and the ``pwr`` row)."""
    out = tmp / f"low-{low_mv}"
    shutil.copytree(CASE, out)
    session = out / "console" / "session.txt"
    text = session.read_text(encoding="utf-8")
    assert text.count(LOW_CELL) == 2
    session.write_text(text.replace(LOW_CELL, str(low_mv)), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def flapping(tmp_path_factory: pytest.TempPathFactory, validator: Path) -> tuple[Diagnosis, Diagnosis]:
    """Real diagnoses of a cell spread of 59 mV and of 61 mV: either side of the 60 mV rebalance line."""
    tmp = tmp_path_factory.mktemp("flap")
    below, above = _variant(tmp, 3456 - 59), _variant(tmp, 3456 - 61)
    out = []
    for case in (below, above):
        d = run_case(case).diagnosis
        doc = d.model_dump_json(by_alias=True)
        v = subprocess.run([sys.executable, validator, case, "-"], input=doc, capture_output=True, text=True)
        assert v.returncode == 0, v.stdout
        out.append(d)
    low, high = out
    assert (
        low.outcome == Outcome.MONITOR and high.outcome == Outcome.REBALANCE and high.culprit_modules == [3]
    )
    return low, high


def test_a_value_flapping_around_the_threshold_raises_no_alert_storm(
    flapping: tuple[Diagnosis, Diagnosis],
) -> None:
    low, high = flapping
    gate = AlertGate(confirm=2, min_interval_s=3600)
    alerts = [gate.observe(d, now=60.0 * i) for i, d in enumerate([low, high] * 30)]  # 60 polls, 1 min apart
    assert [a for a in alerts if a] == []
    # once the spread stays above the line, exactly one alert, however long it stays
    alerts = [gate.observe(high, now=3600.0 + 60 * i) for i in range(30)]
    raised = [a for a in alerts if a]
    assert len(raised) == 1
    assert raised[0].outcome == Outcome.REBALANCE and raised[0].culprits == (3,)
    assert "module 3" in raised[0].title and "Rebalancing needed" in raised[0].title


def test_flapping_after_an_alert_is_rate_limited_and_never_repeats_the_same_alert(
    flapping: tuple[Diagnosis, Diagnosis],
) -> None:
    low, high = flapping
    gate = AlertGate(confirm=1, min_interval_s=3600)  # no confirmation at all: the rate limit alone
    alerts = [gate.observe(d, now=60.0 * i) for i, d in enumerate([high, low] * 30)]
    raised = [a for a in alerts if a]
    # first the rebalance, then at most one change per hour (the window ends at 60 min): 2 at most
    assert 1 <= len(raised) <= 2 and raised[0].outcome == Outcome.REBALANCE
    assert all(b.outcome != a.outcome for a, b in itertools.pairwise(raised))


def test_outcome_change_and_new_culprit_each_alert_once(flapping: tuple[Diagnosis, Diagnosis]) -> None:
    _low, high = flapping
    healthy = run_case(HEALTHY).diagnosis
    assert healthy.outcome == Outcome.NO_FAULT
    gate = AlertGate(confirm=2, min_interval_s=0)
    t = iter(range(1000))
    assert [gate.observe(healthy, next(t)) for _ in range(5)] == [None] * 5  # healthy start: no alert
    got = [gate.observe(high, next(t)) for _ in range(5)]
    assert sum(1 for a in got if a) == 1
    worse = high.model_copy(update={"culprit_modules": [3, 5]})
    got = [gate.observe(worse, next(t)) for _ in range(5)]
    (alert,) = [a for a in got if a]
    assert alert.culprits == (3, 5) and alert.previous == Outcome.REBALANCE
    # a culprit that goes away is not a new culprit; the outcome is unchanged: no alert
    assert all(gate.observe(high, next(t)) is None for _ in range(5))
    # back to healthy: one "resolved" alert
    got = [gate.observe(healthy, next(t)) for _ in range(5)]
    (resolved,) = [a for a in got if a]
    assert resolved.outcome == Outcome.NO_FAULT and resolved.previous == Outcome.REBALANCE
