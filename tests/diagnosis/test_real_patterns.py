"""Rules added for the real-report corpus (issue 11 items 5, 6, 7), tested through ``findings(view)`` of
their family and end to end (every document validated by the spec's validator)."""

from __future__ import annotations

from pylondiag.casedir import load_case
from pylondiag.diagnosis import cells, events, neighbours, story
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome

REST = [3428, 3422, 3411, 3423, 3360, 3370, 3411, 3359, 3422, 3432, 3427, 3439, 3333, 3446, 3444]
"""GPollakDiener US2000C module 6 at rest, 98 % (cell 12 the low one)."""
CHARGED = [3527, 3513, 3487, 3505, 3438, 3431, 3486, 3429, 3513, 3517, 3510, 3537, 3491, 3558, 3552]
"""The same module under 1.58 A of charge a moment later: cell 12 rises +158 mV, the others +61..+112."""


# ---------------------------------------------------------------- item 7: lifetime SC count
def test_lifetime_sc_count_without_symptom_is_a_note(make_case, diagnose_case, shapes, stack_of):
    s = shapes.Session().add("stat 1", shapes.stat(1, SC_Times=3))
    case = make_case({"stack": stack_of(1)}, {"console/s.txt": s.text()})
    found = [f for f in events.findings(load_case(case)) if f.code == Cause.OVER_CURRENT]
    assert len(found) == 1 and found[0].severity == FindingSeverity.INFO
    assert "SC Times 3" in found[0].message
    d = diagnose_case(case)
    assert d.outcome == Outcome.NO_FAULT


def test_lifetime_sc_count_matching_the_symptom_is_a_lead(make_case, diagnose_case, shapes):
    s = shapes.Session().add("stat 1", shapes.stat(1, SC_Times=3))
    case = make_case({"symptoms": ["whole_bank_shutdown"]}, {"console/s.txt": s.text()})
    f = next(f for f in events.findings(load_case(case)) if f.code == Cause.OVER_CURRENT)
    assert f.severity == FindingSeverity.WARNING
    assert any(e.key == "symptoms[0]" for e in f.evidence)
    assert diagnose_case(case).outcome == Outcome.MONITOR


# ------------------------------------------------------- item 5: weak cell, at rest and under current
def _series(shapes, charged: list[int]) -> str:
    rest = shapes.Mod(1, REST, soc=98, bal="YYYYNYYNYYYYNYY")
    load = shapes.Mod(1, charged, curr=1583, soc=100, base="Charge", bal="YYYYNNYNYYYYYYY")
    return shapes.Session().add("bat 1", shapes.bat(rest)).add("bat 1", shapes.bat(load)).text()


def test_low_cell_that_rises_most_under_charge_is_a_weak_cell(make_case, diagnose_case, shapes, stack_of):
    case = make_case({"stack": stack_of(1)}, {"console/s.txt": _series(shapes, CHARGED)})
    found = cells.findings(load_case(case))
    assert [f.code for f in found] == [Cause.WEAK_CELL]
    assert "rises 158 mV" in found[0].message and "median 84" in found[0].message
    d = diagnose_case(case)
    assert (d.outcome, d.primary_cause, d.culprit_modules) == (Outcome.REPLACE, Cause.WEAK_CELL, [1])


def test_low_cell_that_rises_like_the_others_is_imbalance(make_case, shapes, stack_of):
    """Merely lower in charge: it rises no more than its neighbours, so it is not weak."""
    like_others = [c if i != 12 else REST[12] + 80 for i, c in enumerate(CHARGED)]
    case = make_case({"stack": stack_of(1)}, {"console/s.txt": _series(shapes, like_others)})
    assert Cause.WEAK_CELL not in {f.code for f in cells.findings(load_case(case))}


# ---------------------------------------------------------------- item 6: the owner's story
STORY = {
    "stack": [
        {"position": 1, "model": "US3000", "led": "red"},
        {"position": 2, "model": "US3000", "led": "red"},
    ],
    "symptoms": ["not_charging"],
    "notes": "Steady red ALM on both after 2-3 days on grid float; clears when switched over.",
}


def test_every_module_protecting_while_held_full_is_the_charger(make_case, diagnose_case):
    case = make_case(STORY)
    found = story.findings(load_case(case))
    top = found[0]
    assert top.code == Cause.INVERTER_CHARGE_LIMITS and top.severity == FindingSeverity.FAULT
    keys = {e.key for e in top.evidence}
    assert {"stack[0].led", "stack[1].led", "notes", "symptoms[0]"} <= keys
    d = diagnose_case(case)
    assert (d.outcome, d.primary_cause, d.culprit_modules) == (
        Outcome.RECONFIGURE,
        Cause.INVERTER_CHARGE_LIMITS,
        [],
    )


def test_the_same_story_in_a_cold_room_is_not_the_charger(make_case):
    case = make_case({**STORY, "site": {"ambient_c": 2}})
    assert all(f.severity == FindingSeverity.INFO for f in story.findings(load_case(case)))


def test_one_red_module_is_not_a_stack_wide_story(make_case):
    case = make_case({**STORY, "stack": [{"position": 1, "led": "red"}, {"position": 2, "led": "green"}]})
    assert not any(f.severity == FindingSeverity.FAULT for f in story.findings(load_case(case)))


def test_module_states_read_leave_the_verdict_to_the_data(make_case, shapes):
    s = shapes.Session().add("pwr", shapes.pwr_old(shapes.healthy_mods(2), 8, "2026-11-20 09:12:40"))
    case = make_case(STORY, {"console/s.txt": s.text()})
    assert not any(f.severity == FindingSeverity.FAULT for f in story.findings(load_case(case)))


def test_a_symptom_that_outlived_replacements_ranks_the_inverter_first(make_case, diagnose_case, stack_of):
    case = make_case(
        {
            "stack": stack_of(4),
            "symptoms": ["intermittent_trips"],
            "history": [
                {"date": "2024-05-01", "event": "module_replaced"},
                {"date": "2025-11-25", "event": "module_replaced"},
            ],
            "notes": "BMS overvoltage alarm near 99% again.",
        }
    )
    hyps = story.findings(load_case(case))
    assert [h.code for h in hyps][:2] == [Cause.INVERTER_CHARGE_LIMITS, Cause.WEAK_CELL]
    assert all(h.severity == FindingSeverity.INFO for h in hyps)
    assert "hypothesis 1 of 2" in hyps[0].message and "2 module replacements" in hyps[0].message
    assert {"history[0]", "history[1]", "symptoms[0]", "notes"} <= {e.key for e in hyps[0].evidence}
    diagnose_case(case)


# ---------------------------------------------------------------- item 2: neighbours at the same moment
def _stack_snapshot(shapes, low: int | None, curr: int = -3000, n: int = 4) -> str:
    mods = [
        shapes.Mod(
            a, shapes.cells(3300, {5: -low} if a == 3 and low else None, jitter=(0, 1, 2)), curr=curr, soc=60
        )
        for a in range(1, n + 1)
    ]
    return shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 19:30:00")).text()


def test_one_module_out_of_step_with_its_neighbours_is_named(make_case, diagnose_case, shapes, stack_of):
    case = make_case({"stack": stack_of(4)}, {"console/s.txt": _stack_snapshot(shapes, 60)})
    (f,) = neighbours.findings(load_case(case))
    assert (f.code, f.severity, f.module) == (Cause.CELL_IMBALANCE, FindingSeverity.WARNING, 3)
    assert (
        "spread 62 mV" in f.message
        and "spread 2 mV (median 2)" in f.message
        and "discharging (-3.0 A)" in f.message
    )
    d = diagnose_case(case)
    assert d.outcome == Outcome.MONITOR and d.culprit_modules == []


def test_a_stack_whose_modules_all_spread_alike_names_none(make_case, shapes, stack_of):
    case = make_case({"stack": stack_of(4)}, {"console/s.txt": _stack_snapshot(shapes, None)})
    assert neighbours.findings(load_case(case)) == []


def test_two_modules_are_not_compared(make_case, shapes, stack_of):
    case = make_case({"stack": stack_of(2)}, {"console/s.txt": _stack_snapshot(shapes, 60, n=2)})
    assert neighbours.findings(load_case(case)) == []
