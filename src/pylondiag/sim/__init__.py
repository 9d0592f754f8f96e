"""Simulated Pylontech stacks: physics-lite LFP cells, BMS logic, inverter, console emulator, scenarios.

Public entry points: :func:`list_scenarios` and :func:`write_case`. This package never imports
``pylondiag.diagnosis``: it must not know the answers (a test checks it).
"""

from __future__ import annotations

from pathlib import Path

from pylondiag.sim.scenarios import list_scenarios, run_scenario


def write_case(scenario: str, seed: int, out: Path, *, evidence: str = "console") -> Path:
    """Simulate ``scenario`` with ``seed`` and write its case directory (with ``label.json``) to ``out``.

    ``evidence="bus"``: the same run seen only through CAN and RS485 captures (no console, no inverter log).
    """
    from pylondiag.sim.casewriter import write

    return write(run_scenario(scenario, seed), seed, Path(out), evidence=evidence)


__all__ = ["list_scenarios", "write_case"]
