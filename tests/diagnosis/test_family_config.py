"""The configuration families called directly through ``findings(view)`` on small literal views:
``dip``, ``groups``, ``addresses``, ``mixed_models``, ``inverter_settings``."""

from __future__ import annotations

from datetime import datetime

from views import pwr, row, view

from pylondiag.diagnosis import addresses, dip, groups, inverter_settings, mixed_models
from pylondiag.model.diagnosis import Cause, FindingSeverity
from pylondiag.model.stack import AddressConflict


def _codes(found):  # type: ignore[no-untyped-def]
    return sorted((f.code.value, f.module) for f in found)


def test_dip_two_masters_keeps_the_one_at_address_1() -> None:
    v = view(
        [
            {"position": 1, "role": "slave", "address": 2, "dip": "0000"},
            {"position": 2, "role": "master", "address": 1, "dip": "0000"},
            {"position": 3, "role": "master", "address": 3, "dip": "0000"},
        ]
    )
    found = dip.findings(v)
    assert _codes(found) == [("dip_multiple_masters", 3)]
    assert "here position 2" in found[0].message


def test_dip_odd_baud_bit_is_the_culprit_and_the_fix_names_switch_1() -> None:
    stack = [{"position": p, "role": "slave", "dip": "0000"} for p in (2, 3)]
    v = view([{"position": 1, "role": "master", "dip": "0000"}, *stack, {"position": 4, "dip": "1000"}])
    found = dip.findings(v)
    assert _codes(found) == [("inverter_comms_config", 4)]
    assert "set switch 1 OFF" in found[0].message


def test_dip_slave_with_group_bits_in_a_single_group() -> None:
    v = view(
        [{"position": 1, "role": "master", "dip": "0000"}, {"position": 2, "role": "slave", "dip": "0100"}]
    )
    assert _codes(dip.findings(v)) == [("dip_multiple_masters", 2)]


def test_dip_all_slaves_is_no_master_at_stack_level() -> None:
    v = view([{"position": p, "role": "slave"} for p in (1, 2)])
    assert _codes(dip.findings(v)) == [("dip_no_master", None)]


def test_dip_is_silent_on_a_good_stack_and_leaves_lv_hub_groups_to_groups() -> None:
    good = view(
        [{"position": 1, "role": "master", "dip": "0000"}, {"position": 2, "role": "slave", "dip": "0000"}]
    )
    assert dip.findings(good) == [] and groups.findings(good) == []
    hub = view(
        [
            {"position": 1, "role": "master", "dip": "0100", "group": 1},
            {"position": 2, "role": "slave", "group": 1},
            {"position": 3, "role": "master", "dip": "0100", "group": 2},
        ]
    )
    assert dip.findings(hub) == []
    assert _codes(groups.findings(hub)) == [("dip_duplicate_address", 3)]


def test_groups_master_left_at_group_0_in_an_lv_hub() -> None:
    hub = view(
        [
            {"position": 1, "role": "master", "dip": "0100", "group": 1},
            {"position": 2, "role": "master", "dip": "0000", "group": 2},
        ]
    )
    found = groups.findings(hub)
    assert _codes(found) == [("dip_no_master", 2)]
    assert "switch 3 ON" in found[0].message


def test_addresses_duplicate_and_gap() -> None:
    dup = view(
        [
            {"position": 1, "role": "master", "address": 1},
            {"position": 2, "role": "slave", "address": 2},
            {"position": 3, "role": "slave", "address": 2},
        ],
        address_conflicts=[AddressConflict(address=2, positions=(2, 3))],  # as casedir reports it
    )
    assert _codes(addresses.findings(dup)) == [("dip_duplicate_address", 3)]
    gap = view(
        [{"position": 1, "role": "master", "address": 1}, {"position": 2, "role": "slave", "address": 3}]
    )
    assert _codes(addresses.findings(gap)) == [("dip_address_gap", 2)]


def test_addresses_module_absent_from_pwr_is_named_and_cites_its_row() -> None:
    stack = [{"position": p, "address": p} for p in (1, 2, 3)]
    v = view(stack, pwr=[pwr(row(1, 3), row(2, 4, absent=True), row(3, 5))])
    found = addresses.findings(v)
    assert _codes(found) == [("module_not_communicating", 2)]
    assert found[0].evidence[0].line == 4


def test_addresses_hole_in_pwr_without_case_yaml() -> None:
    v = view(pwr=[pwr(row(1, 3), row(2, 4, absent=True), row(3, 5), row(4, 6, absent=True))])
    assert _codes(addresses.findings(v)) == [("module_not_communicating", 2)]  # 4 is past the end


def test_mixed_capacity_classes_name_the_minority() -> None:
    v = view(
        [
            {"position": 1, "model": "US3000C", "role": "master"},
            {"position": 2, "model": "US3000C"},
            {"position": 3, "model": "US5000"},
        ]
    )
    found = mixed_models.findings(v)
    assert [(f.code, f.module) for f in found] == [(Cause.MIXED_MODELS, 3)]


def test_inverter_settings_count_voltage_and_current() -> None:
    stack = [{"position": p, "model": "US3000C"} for p in (1, 2)]
    inv = {"configured_modules": 3, "charge_voltage_v": 56.0, "max_discharge_current_a": 500}
    found = inverter_settings.findings(view(stack, inv))
    assert _codes(found) == [
        ("inverter_charge_limits", None),
        ("module_count_mismatch", None),
        ("over_current", None),
    ]
    assert all(f.severity == FindingSeverity.FAULT for f in found)
    assert "set the inverter's battery module count to 2" in next(
        f.message for f in found if f.code == Cause.MODULE_COUNT_MISMATCH
    )


def test_inverter_settings_quiet_when_right() -> None:
    stack = [{"position": p, "model": "US3000C"} for p in (1, 2)]
    inv = {"configured_modules": 2, "charge_voltage_v": 53.2, "max_discharge_current_a": 100}
    assert inverter_settings.findings(view(stack, inv)) == []


# ---------------------------------------------------------------- mixed models (issue 11 item 4)
def test_mixed_models_older_master_names_the_module_to_make_master() -> None:
    v = view(
        [
            {"position": 1, "model": "US3000C", "role": "master"},
            {"position": 2, "model": "US3000C", "role": "slave"},
            {"position": 3, "model": "US5000", "role": "slave"},
            {"position": 4, "model": "US5000", "role": "slave"},
        ]
    )
    (f,) = mixed_models.findings(v)
    assert (f.code, f.severity, f.module) == (Cause.MIXED_MODELS, FindingSeverity.FAULT, 3)
    assert "make position 3 the master" in f.message and "own stack" not in f.message


def test_mixed_models_a_supported_working_mix_is_a_note() -> None:
    v = view(
        [
            {"position": 1, "model": "US5000", "role": "master"},
            {"position": 2, "model": "US3000C", "role": "slave"},
            {"position": 3, "model": "US2000C", "role": "slave"},
        ]
    )
    (f,) = mixed_models.findings(v)
    assert f.severity == FindingSeverity.INFO and f.module is None
    assert "supports" in f.message


def test_mixed_models_master_found_by_address_when_roles_are_not_given() -> None:
    v = view(
        [
            {"position": 1, "model": "US5000", "address": 2},
            {"position": 2, "model": "US2000C", "address": 1},
        ]
    )
    (f,) = mixed_models.findings(v)
    assert f.severity == FindingSeverity.FAULT and f.module == 1


def test_mixed_models_trouble_after_modules_were_added_is_reconfigure_with_the_fix() -> None:
    v = view(
        [
            {"position": 1, "model": "US5000", "role": "master"},
            {"position": 2, "model": "US3000C", "role": "slave"},
        ],
        symptoms=["bms_comms_alarm"],
        history=[{"date": "2026-10-01", "event": "modules_added", "detail": "US5000 added"}],
        observed_at=datetime(2026, 11, 20, 9, 0),  # dated: in an undated case the change's recency is unknown
    )
    (f,) = mixed_models.findings(v)
    assert f.severity == FindingSeverity.FAULT and f.module is None
    assert "BatteryView" in f.message and "100 %" in f.message
    assert {e.key for e in f.evidence} >= {"history[0]", "symptoms"}


def test_one_model_one_firmware_is_no_mix() -> None:
    v = view([{"position": p, "model": "US3000C"} for p in (1, 2)])
    assert mixed_models.findings(v) == []
