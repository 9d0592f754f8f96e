"""Brand settings for a Pylontech stack (settings.md): the right setting, in its usual spellings, is never
called wrong — by the case.yaml rules or by the inverter-log rules, which share one matcher."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.diagnosis import inverter_events, inverter_settings
from pylondiag.diagnosis.brand_settings import PYLONTECH_SETTINGS, setting_mismatch, spec_for
from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.model.case import CaseFile
from pylondiag.model.diagnosis import Cause
from pylondiag.model.stack import CaseView

# brand as case.yaml writes it -> (right battery types, right protocols) in the spellings owners use
RIGHT: dict[str, tuple[list[str], list[str]]] = {
    "sunsynk": (
        ["Lithium", "Lithium (Use BMS)", "LITHIUM", "li"],
        ["00", "0", "12", "PYLON CAN", "Pylon RS485", "Pylontech", "Lithium Mode 00", "PYLON CAN (00)"],
    ),
    "deye": (["Lithium", "Lithium (use BMS)"], ["00", "PYLON", "pylon_can"]),
    "victron": (
        ["CAN-bus BMS LV (500 kbit/s)", "CAN battery", "Lithium", "BMS"],
        ["Pylontech", "CAN-bus BMS LV (500 kbit/s)", "CAN-bus BMS (500 kbit/s)", "canbus bms", "BMS-Can"],
    ),
    "goodwe": (["Lithium", "Li-ion"], ["Pylon", "Pylon US3000", "PYLONTECH", "Pylontech US2000C"]),
    "solax": (["Lithium", "lithium battery"], ["Pylontech", "PYLON", "Pylon LV"]),
    "solis": (["Lithium", "LiFePO4"], ["Pylon LV", "PYLON", "Pylontech", "pylon_lv"]),
    "sofar": (["Lithium"], ["PYLON", "1", "Pie Energy/PYLON", "Pylontech"]),
    "growatt": (["Lithium", "Li", "L52", "LI"], ["Li", "L52", "Lithium", "CAN", "Pylon", "PYLONTECH"]),
    "foxess": (["Lithium"], ["Pylontech", "PYLON"]),
    "luxpower": (["Lithium", "lithium"], ["Pylontech", "PYLON", "CAN"]),
    "sma": (
        ["Li-Ion_Ext-BMS", "Li-Ion Ext-BMS", "Lithium"],
        ["Li-Ion_Ext-BMS", "Ext-BMS", "CAN BMS", "Pylontech"],
    ),
    "givenergy": (["Lithium"], ["Pylontech", "anything: no brand setting is documented"]),
}

WRONG: dict[str, tuple[str | None, str | None]] = {
    "sunsynk": ("Use Batt V", "03"),
    "deye": ("lead-acid", "100"),
    "victron": ("AGM", "VE.Can 250 kbit/s"),
    "goodwe": ("Lead acid", "BYD"),
    "solax": ("Lead_Acid", "Dyness"),
    "solis": ("lead acid", "BYD"),
    "sofar": ("Gel", "Default"),
    "growatt": ("Lead_Acid", "USE"),
    "foxess": ("Flooded", "Fox HV"),
    "luxpower": ("Lead-acid", "RS485 Dyness"),
    "sma": ("FLA", "None"),
    "givenergy": ("lead acid", None),
}


@pytest.mark.parametrize("brand", sorted(RIGHT))
def test_every_right_setting_is_accepted(brand: str) -> None:
    types, protocols = RIGHT[brand]
    for t in types:
        assert setting_mismatch(brand, t, None) == [], (brand, t)
    for p in protocols:
        assert setting_mismatch(brand, "Lithium", p) == [], (brand, p)


@pytest.mark.parametrize("brand", sorted(WRONG))
def test_wrong_settings_are_caught(brand: str) -> None:
    bad_type, bad_proto = WRONG[brand]
    if bad_type is not None:  # SMA's "FLA" (flooded lead-acid) has no lithium word: wrong as well
        assert setting_mismatch(brand, bad_type, None) == ["battery_type"], (brand, bad_type)
    if bad_proto is not None:
        assert setting_mismatch(brand, "Lithium", bad_proto) == ["battery_protocol"], (brand, bad_proto)


def test_digits_match_only_as_whole_words() -> None:
    assert setting_mismatch("sunsynk", None, "100") == ["battery_protocol"]
    assert setting_mismatch("sunsynk", None, "Lithium Mode 00") == []
    assert setting_mismatch("sofar", None, "11") == ["battery_protocol"]


def test_every_documented_brand_has_a_test() -> None:
    assert {spec_for(b)[0] for b in RIGHT} >= set(PYLONTECH_SETTINGS)


def _view(inverter: dict[str, Any], events_csv: str | None = None) -> CaseView:
    raw: dict[str, Any] = {
        "schema": "pylondiag.case/1",
        "inverter": inverter,
        "symptoms": ["bms_comms_alarm"],
        "history": [{"date": "2026-10-30", "event": "inverter_replaced"}],
    }
    events = []
    if events_csv is not None:
        events = read_inverter_log(events_csv.encode(), "inverter/events.csv", brand=inverter["brand"]).events
    return CaseView(case_id="t", case=CaseFile.model_validate(raw), events=events)


def test_victron_pylontech_protocol_is_not_wrong() -> None:
    """Regression (simulator dip_no_master seed 14): Victron with battery_protocol 'Pylontech' and the
    CAN-bus BMS profile as its battery type was called 'not the Pylontech setting'."""
    inv = {"brand": "victron", "battery_type": "CAN-bus BMS LV (500 kbit/s)", "battery_protocol": "Pylontech"}
    row = ",#67,BMS connection lost\n"
    csv = "time,code,message\n" + "2026-10-31 07:12" + row + "2026-11-01 07:12" + row
    view = _view(inv, csv)
    for fam in (inverter_settings, inverter_events):
        wrongs = [f for f in fam.findings(view) if f.code == Cause.INVERTER_COMMS_CONFIG]
        assert all(
            "not the Pylontech setting" not in f.message and "is wrong" not in f.message for f in wrongs
        )


@pytest.mark.parametrize("brand", sorted(WRONG))
def test_both_families_agree_on_a_wrong_setting(brand: str) -> None:
    bad_type, bad_proto = WRONG[brand]
    inv = {"brand": brand, "battery_type": bad_type, "battery_protocol": bad_proto}
    from_yaml = [f for f in inverter_settings.findings(_view(inv)) if f.code == Cause.INVERTER_COMMS_CONFIG]
    assert from_yaml and all(f.severity.value == "fault" for f in from_yaml)
    spec = PYLONTECH_SETTINGS.get(spec_for(brand)[0] or "")
    if spec is not None:
        assert spec.instruction in from_yaml[0].message  # the exact setting for that brand


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*sorted(RIGHT), "other", None]),
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_matcher_never_fails(brand: str | None, battery_type: str | None, protocol: str | None) -> None:
    wrong = setting_mismatch(brand, battery_type, protocol)
    assert set(wrong) <= {"battery_type", "battery_protocol"}
    assert setting_mismatch(brand, battery_type, "Pylontech") == [w for w in wrong if w == "battery_type"]
