"""Step 4 rules against the real hardware: master by link port, baud bit, group bits, addresses,
missing modules, module count/capacity, mixed models, inverter charge limits and comms settings."""

from __future__ import annotations

from typing import Any

import pytest

from pylondiag.diagnosis.thresholds import MAX_CHARGE_VOLTAGE_V
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome, Verdict


def codes(d: Any) -> set[Cause]:
    return {f.code for f in d.findings if f.severity != FindingSeverity.INFO}


def _healthy_pwr(shapes: Any, n: int, absent: tuple[int, ...] = ()) -> str:
    mods = [shapes.Mod(a, shapes.cells(3350), soc=80) for a in range(1, n + 1) if a not in absent]
    return shapes.Session().add("pwr", shapes.pwr_old(mods, 16, "2026-11-20 09:00:00")).text()


def test_healthy_config_is_quiet(make_case, diagnose_case, stack_of, shapes):
    inv = {
        "brand": "deye",
        "battery_type": "Lithium",
        "battery_protocol": "00",
        "configured_modules": 4,
        "configured_capacity_ah": 200,
        "charge_voltage_v": 53.2,
        "max_charge_current_a": 100,
    }
    d = diagnose_case(
        make_case({"stack": stack_of(4), "inverter": inv}, {"console/p.txt": _healthy_pwr(shapes, 4)})
    )
    assert codes(d) == set() and d.outcome == Outcome.NO_FAULT


def test_two_masters_names_the_one_to_change(make_case, diagnose_case, stack_of):
    st = stack_of(4, p3={"role": "master"})
    d = diagnose_case(make_case({"stack": st}))
    f = next(f for f in d.findings if f.code == Cause.DIP_MULTIPLE_MASTERS)
    assert f.module == 3 and "Link Port 0" in f.message
    assert d.outcome == Outcome.RECONFIGURE and d.culprit_modules == [3]
    assert {e.key for e in f.evidence} >= {"stack[2].role"}
    assert d.on_site_spec is not None


def test_no_master(make_case, diagnose_case, stack_of):
    st = stack_of(3, p1={"role": "slave"})
    d = diagnose_case(make_case({"stack": st}))
    assert Cause.DIP_NO_MASTER in codes(d) and d.outcome == Outcome.RECONFIGURE


def test_slave_with_group_bits_copied_from_other_brand(make_case, diagnose_case, stack_of):
    st = stack_of(3, p2={"dip": "0100"})
    d = diagnose_case(make_case({"stack": st}))
    f = next(f for f in d.findings if f.module == 2)
    assert f.code == Cause.DIP_MULTIPLE_MASTERS
    assert "switches 2, 3 and 4 OFF" in f.message
    assert d.culprit_modules == [2]


def test_single_group_master_with_group_number(make_case, diagnose_case, stack_of):
    d = diagnose_case(make_case({"stack": stack_of(2, p1={"dip": "0010"})}))
    f = next(f for f in d.findings if f.module == 1)
    assert f.code == Cause.DIP_ADDRESS_GAP and "group must be 0" in f.message


def test_baud_bit_differs_on_one_module(make_case, diagnose_case, stack_of):
    d = diagnose_case(make_case({"stack": stack_of(3, p3={"dip": "1000"})}))
    f = next(f for f in d.findings if f.code == Cause.INVERTER_COMMS_CONFIG)
    assert f.module == 3 and "switch 1" in f.message and "9600" in f.message
    assert d.culprit_modules == [3] and d.outcome == Outcome.RECONFIGURE


def test_baud_bit_same_everywhere_is_fine(make_case, diagnose_case, stack_of):
    st = stack_of(3, p1={"dip": "1000"}, p2={"dip": "1000"}, p3={"dip": "1000"})
    d = diagnose_case(make_case({"stack": st}))
    assert Cause.INVERTER_COMMS_CONFIG not in codes(d)


def test_lvhub_groups(make_case, diagnose_case, stack_of):
    good = stack_of(
        4,
        p1={"dip": "0100", "group": 1},
        p2={"group": 1, "address": 2},
        p3={"dip": "0010", "group": 2, "role": "master", "address": 1},
        p4={"group": 2, "address": 2},
    )
    assert codes(diagnose_case(make_case({"stack": good}))) == set()
    dup = [dict(m) for m in good]
    dup[2]["dip"] = "0100"
    d = diagnose_case(make_case({"stack": dup}))
    assert Cause.DIP_DUPLICATE_ADDRESS in codes(d) and d.culprit_modules == [3]
    gap = [dict(m) for m in good]
    gap[2]["dip"], gap[2]["group"] = "0110", 3  # groups 1 and 3: not sequential
    d = diagnose_case(make_case({"stack": gap}))
    f = next(f for f in d.findings if f.code == Cause.DIP_ADDRESS_GAP)
    assert f.module == 3 and "switch 2 ON" not in f.message and "set group 2" in f.message


def test_duplicate_address_in_case_yaml_is_reported_not_guessed(make_case, diagnose_case, stack_of, shapes):
    st = stack_of(3, p3={"address": 2})
    d = diagnose_case(make_case({"stack": st}, {"console/p.txt": _healthy_pwr(shapes, 3)}))
    assert Cause.DIP_DUPLICATE_ADDRESS in codes(d)
    assert any("could not be assigned" in g for g in d.evidence_gaps)


def test_address_gap(make_case, diagnose_case, stack_of):
    d = diagnose_case(make_case({"stack": stack_of(3, p3={"address": 4})}))
    assert Cause.DIP_ADDRESS_GAP in codes(d)


def test_module_absent_from_pwr(make_case, diagnose_case, stack_of, shapes):
    d = diagnose_case(
        make_case({"stack": stack_of(4)}, {"console/p.txt": _healthy_pwr(shapes, 4, absent=(4,))})
    )
    f = next(f for f in d.findings if f.code == Cause.MODULE_NOT_COMMUNICATING)
    assert f.module == 4 and "Absent" in (f.evidence[0].quote or "")
    assert d.outcome == Outcome.ON_SITE_CHECK and d.culprit_modules == [4]


@pytest.mark.parametrize(("configured", "mismatch"), [(4, False), (3, True), (5, True)])
def test_module_count(make_case, diagnose_case, stack_of, configured, mismatch):
    d = diagnose_case(make_case({"stack": stack_of(4), "inverter": {"configured_modules": configured}}))
    assert (Cause.MODULE_COUNT_MISMATCH in codes(d)) is mismatch
    if mismatch:
        assert d.outcome == Outcome.RECONFIGURE and d.culprit_modules == []


@pytest.mark.parametrize(
    ("ah", "mismatch"), [(200, False), (210, False), (189.9, True), (211, True), (150, True)]
)
def test_capacity_setting_boundary(make_case, diagnose_case, stack_of, ah, mismatch):
    """4 x US2000C = 200 Ah; ±5 % (190-210 Ah) is accepted."""
    d = diagnose_case(make_case({"stack": stack_of(4), "inverter": {"configured_capacity_ah": ah}}))
    assert (Cause.MODULE_COUNT_MISMATCH in codes(d)) is mismatch


@pytest.mark.parametrize(
    ("volts", "fault"), [(53.2, False), (MAX_CHARGE_VOLTAGE_V, False), (53.6, True), (56.0, True)]
)
def test_charge_voltage_limit(make_case, diagnose_case, stack_of, volts, fault):
    d = diagnose_case(make_case({"stack": stack_of(2), "inverter": {"charge_voltage_v": volts}}))
    assert (Cause.INVERTER_CHARGE_LIMITS in codes(d)) is fault


@pytest.mark.parametrize(("amps", "fault"), [(100, False), (100.1, True)])
def test_charge_current_limit(make_case, diagnose_case, stack_of, amps, fault):
    """4 x US2000C take 4 x 25 A continuously."""
    d = diagnose_case(make_case({"stack": stack_of(4), "inverter": {"max_charge_current_a": amps}}))
    assert (Cause.INVERTER_CHARGE_LIMITS in codes(d)) is fault


def test_over_voltage_driven_by_inverter_is_reconfigure(make_case, diagnose_case, stack_of, shapes):
    mods = [shapes.Mod(a, shapes.cells(3480), soc=100) for a in (1, 2)]
    mods[0].bv_st, mods[0].volt_st = "Over", "Over"
    s = shapes.Session().add("pwr", shapes.pwr_old(mods, 8, "2026-11-20 09:00:00"))
    d = diagnose_case(
        make_case({"stack": stack_of(2), "inverter": {"charge_voltage_v": 55.2}}, {"console/p.txt": s.text()})
    )
    assert d.outcome == Outcome.RECONFIGURE and d.primary_cause == Cause.INVERTER_CHARGE_LIMITS
    assert next(m for m in d.modules if m.position == 1).verdict == Verdict.MONITOR


def test_mixed_capacity_classes(make_case, diagnose_case, stack_of):
    st = stack_of(4, "US3000C", p4={"model": "US5000"})
    d = diagnose_case(make_case({"stack": st}))
    assert d.primary_cause == Cause.MIXED_MODELS and d.culprit_modules == [4]


def test_same_class_different_generation_is_not_mixed(make_case, diagnose_case, stack_of):
    st = stack_of(3, "US2000C", p3={"model": "US2000B"})
    d = diagnose_case(make_case({"stack": st}))
    assert Cause.MIXED_MODELS not in codes(d)


def test_older_generation_as_master_is_reconfigure(make_case, diagnose_case, stack_of):
    """Spec (mixed_models): the newest / largest model not being the master is the cause; the culprit is
    the module to make master (the newest one next to the old master)."""
    st = stack_of(3, "US2000C", p1={"model": "US2000B"})
    d = diagnose_case(make_case({"stack": st}))
    f = next(f for f in d.findings if f.code == Cause.MIXED_MODELS)
    assert f.severity == FindingSeverity.FAULT and "newest" in f.message
    assert d.outcome == Outcome.RECONFIGURE and d.culprit_modules == [2]


@pytest.mark.parametrize(
    ("btype", "wrong"), [("Lithium", False), ("Lead-acid", True), ("AGM", True), ("Li-BMS", False)]
)
def test_battery_type(make_case, diagnose_case, stack_of, btype, wrong):
    d = diagnose_case(
        make_case({"stack": stack_of(2), "inverter": {"brand": "victron", "battery_type": btype}})
    )
    assert (Cause.INVERTER_COMMS_CONFIG in codes(d)) is wrong


def test_deye_protocol_index(make_case, diagnose_case, stack_of):
    bad = {"brand": "deye", "battery_type": "Lithium", "battery_protocol": "03"}
    assert Cause.INVERTER_COMMS_CONFIG in codes(
        diagnose_case(make_case({"stack": stack_of(2), "inverter": bad}))
    )
    good = {**bad, "battery_protocol": "12"}
    assert Cause.INVERTER_COMMS_CONFIG not in codes(
        diagnose_case(make_case({"stack": stack_of(2), "inverter": good}))
    )


def test_comms_alarm_after_inverter_swap(make_case, diagnose_case, stack_of):
    case = {
        "stack": stack_of(2),
        "symptoms": ["bms_comms_alarm"],
        "history": [{"date": "2026-11-01", "event": "inverter_replaced"}],
    }
    d = diagnose_case(make_case(case))
    f = next(f for f in d.findings if f.code == Cause.INVERTER_COMMS_CONFIG)
    assert f.module is None and "history[0]" in {e.key for e in f.evidence}
    no_swap = diagnose_case(make_case({"stack": stack_of(2), "symptoms": ["bms_comms_alarm"]}))
    assert Cause.INVERTER_COMMS_CONFIG not in codes(no_swap)


def test_lvhub_renumbering_keeps_order(make_case, diagnose_case, stack_of):
    """Group numbers 1, 3, 4 → 1, 2, 3: the masters of groups 3 and 4 move, in order."""
    st = stack_of(
        3,
        p1={"dip": "0100", "group": 1},
        p2={"dip": "0110", "group": 3, "role": "master", "address": 1},
        p3={"dip": "0001", "group": 4, "role": "master", "address": 1},
    )
    d = diagnose_case(make_case({"stack": st}))
    assert d.primary_cause == Cause.DIP_ADDRESS_GAP and d.culprit_modules == [2, 3]
    f2 = next(f for f in d.findings if f.module == 2)
    assert "set group 2: switch 3 ON and switches 2, 4 OFF" in f2.message


def test_duplicate_group_without_other_clues_renumbers_the_later_master(make_case, diagnose_case, stack_of):
    """Switches copied from the first master onto a group added below it: the later one moves."""
    st = stack_of(
        4,
        p1={"dip": "0100", "group": 1},
        p2={"group": 1, "address": 2},
        p3={"dip": "0100", "role": "master", "address": 1},
        p4={"address": 2},
    )
    d = diagnose_case(make_case({"stack": st}))
    assert d.primary_cause == Cause.DIP_DUPLICATE_ADDRESS and d.culprit_modules == [3]
    f = next(f for f in d.findings if f.code == Cause.DIP_DUPLICATE_ADDRESS)
    assert "set group 2" in f.message


def test_duplicate_group_follows_the_direction_the_groups_are_numbered(make_case, diagnose_case, stack_of):
    """Groups numbered bottom-up (1 at the bottom): of two masters set to group 2, the upper one is the
    later in that order and moves to 3, so the numbers run 1, 2, 3, 4 up the stack."""
    st = stack_of(
        4,
        p1={"dip": "0001", "role": "master", "address": 1},  # group 4
        p2={"dip": "0010", "role": "master", "address": 1},  # group 2
        p3={"dip": "0010", "role": "master", "address": 1},  # group 2
        p4={"dip": "0100", "role": "master", "address": 1},  # group 1
    )
    d = diagnose_case(make_case({"stack": st}))
    assert d.primary_cause == Cause.DIP_DUPLICATE_ADDRESS and d.culprit_modules == [2]
    assert "set group 3" in next(f for f in d.findings if f.module == 2).message


def test_captured_master_keeps_its_number(make_case, diagnose_case, stack_of, shapes):
    st = stack_of(
        2, p1={"dip": "0100", "group": 1}, p2={"dip": "0100", "group": 1, "role": "master", "address": 1}
    )
    pwr = shapes.Session(header=["# captured on the console of the module at position 1"])
    pwr.add("pwr", shapes.pwr_old([shapes.Mod(1, shapes.cells(3350), soc=80)], 8, "2026-11-20 09:00:00"))
    d = diagnose_case(make_case({"stack": st}, {"console/p.txt": pwr.text()}))
    assert d.primary_cause == Cause.DIP_DUPLICATE_ADDRESS and d.culprit_modules == [2]


def test_hole_in_pwr_without_case_yaml(make_case, diagnose_case, shapes):
    d = diagnose_case(make_case(None, {"console/p.txt": _healthy_pwr(shapes, 4, absent=(3,))}))
    assert d.primary_cause == Cause.MODULE_NOT_COMMUNICATING and d.culprit_modules == [3]


@pytest.mark.parametrize(("amps", "fault"), [(180, False), (180.1, True)])
def test_discharge_current_beyond_the_modules(make_case, diagnose_case, stack_of, amps, fault):
    """2 x US2000C: the BMS allows 90 A each."""
    d = diagnose_case(make_case({"stack": stack_of(2), "inverter": {"max_discharge_current_a": amps}}))
    assert (d.primary_cause == Cause.OVER_CURRENT) is fault
    if fault:
        assert d.outcome == Outcome.RECONFIGURE and d.culprit_modules == []


def _garbled_row(text: str, address: int) -> str:
    """The ``pwr`` row of ``address`` garbled on the wire (one field no longer a number)."""
    lines = text.splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [str(address)])
    fields = lines[i].split(" ", 1)
    lines[i] = f"{fields[0]} 33#6{fields[1]}"
    return "".join(lines)


@pytest.mark.parametrize("with_addresses", [True, False])
def test_a_pwr_row_that_could_not_be_read_is_not_an_absent_module(
    make_case, diagnose_case, stack_of, shapes, with_addresses
):
    """A row skipped as unreadable says nothing about the module: it is not read, not Absent."""
    stack = stack_of(4)
    if not with_addresses:
        stack = [{k: v for k, v in m.items() if k != "address"} for m in stack]
    d = diagnose_case(
        make_case({"stack": stack}, {"console/p.txt": _garbled_row(_healthy_pwr(shapes, 4), 4)})
    )
    assert Cause.MODULE_NOT_COMMUNICATING not in codes(d), [f.message for f in d.findings]
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    gaps = " ".join(d.evidence_gaps)
    assert "could not be read and was skipped" in gaps and "Position 4 of the stack was not read" in gaps


def test_a_module_not_read_is_named_even_when_another_fault_decides_the_outcome(
    make_case, diagnose_case, stack_of, shapes
):
    """Evidence not had is not health: the unread module is listed next to a fault found elsewhere."""
    inv = {"brand": "deye", "charge_voltage_v": 56.0}
    pwr = _garbled_row(_healthy_pwr(shapes, 4), 2)
    d = diagnose_case(make_case({"stack": stack_of(4), "inverter": inv}, {"console/p.txt": pwr}))
    assert d.outcome == Outcome.RECONFIGURE
    assert any("Position 2 of the stack was not read" in g for g in d.evidence_gaps), d.evidence_gaps


def test_a_summary_keeps_an_abbreviation_that_starts_the_finding(make_case, diagnose_case, stack_of, shapes):
    """'Position 1: DIP switch 1 ...', not 'dIP switch' (the first letter was lowered whatever the word)."""
    stack = stack_of(3, p1={"dip": "1000"})
    d = diagnose_case(make_case({"stack": stack}, {"console/p.txt": _healthy_pwr(shapes, 3)}))
    assert "dIP" not in d.summary
