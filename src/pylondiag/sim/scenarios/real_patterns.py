"""Scenarios for patterns found in real public reports (issue 11's corpus, ``tests/realworld/``).

Each builder reproduces the pattern of one real report with the simulator's physics and states the
label the report supports; it never looks at what the diagnosis says (the simulator does not import
``pylondiag.diagnosis``). Registered in the same catalogue as the others (``@scenario``).
"""

from __future__ import annotations

import numpy as np

from pylondiag.sim.scenarios.base import Label, Setup
from pylondiag.sim.scenarios.catalogue import (
    _pick,
    base_setup,
    scenario,
)

STORY_NOTES = (
    "Steady red ALM on every battery after two or three days on grid float; it clears when we switch the "
    "supply over and comes back a few days later.",
    "All the batteries go red after a couple of days charging from the grid, then it clears by itself.",
    "Every module shows a solid red light when the inverter has been floating them full from mains.",
)


@scenario("charge_limits_story")
def charge_limits_story(rng: np.random.Generator, attempt: int) -> Setup:
    """Only the owner's story: every module in steady protection while the charger floats the stack full.

    Real report: powerforum 5904 (two US3000 on Axpert King inverters: steady red ALM on both after 2-3
    days on grid float, clearing when the source changes; fix: the charger's float/bulk voltage). No
    capture, no log, the charge voltage unknown to the owner. Label: reconfigure /
    inverter_charge_limits, no culprit module.
    """
    s = base_setup(
        rng,
        "charge_limits_story",
        Label("reconfigure", "inverter_charge_limits", []),
        n=int(rng.integers(2, 6)),
        location="utility room",
    )
    s.inverter.charge_voltage_v = float(round(rng.uniform(55.0, 57.0) + 0.5 * attempt, 1))
    s.omit_charge_voltage = True
    s.write_console = False
    s.write_inverter_log = False
    s.owner_led_words = {m.position: "red" for m in s.modules}
    s.symptoms = ["not_charging"] if rng.random() < 0.5 else ["not_charging", "intermittent_trips"]
    s.notes = _pick(rng, STORY_NOTES)
    return s
