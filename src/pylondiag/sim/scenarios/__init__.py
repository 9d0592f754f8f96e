"""Scenario catalogue and runner."""

from __future__ import annotations

from pylondiag.errors import PylondiagError
from pylondiag.sim.scenarios import real_patterns as _real_patterns  # noqa: F401  (registers its scenarios)
from pylondiag.sim.scenarios.base import Label, SimResult, simulate
from pylondiag.sim.scenarios.catalogue import SCENARIOS, build, list_scenarios

MAX_ATTEMPTS = 4


class UnknownScenario(PylondiagError):
    """No scenario of that name."""


def run_scenario(name: str, seed: int, *, keep_states: bool = False) -> SimResult:
    """Build and simulate ``name``; if the injected fault did not show, retry it stronger (same label).
    ``keep_states``: keep a copy of the stack at each planned capture (``SimResult.states``)."""
    if name not in SCENARIOS:
        raise UnknownScenario(f"unknown scenario {name!r}; `pylondiag sim list` shows the names")
    res = None
    for attempt in range(MAX_ATTEMPTS):
        setup = build(name, seed, attempt)
        res = simulate(setup, seed, keep_states=keep_states)
        if setup.check is None or setup.check(res):
            return res
    assert res is not None
    return res


__all__ = ["SCENARIOS", "Label", "SimResult", "UnknownScenario", "list_scenarios", "run_scenario", "simulate"]
