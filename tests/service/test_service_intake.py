"""The owner's guided form produces exactly the case format (strict ``case.yaml`` accepted by the reader)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from pylondiag.casedir import load_case
from pylondiag.model.case import CaseFile
from pylondiag.service.intake import IntakeErrors, case_from_form, case_yaml_text

FORM = {
    "modules": "4",
    "observed_at": "2026-11-20T08:15",
    "site_location": "garage",
    "site_ambient_c": "4",
    "site_timezone": "Europe/London",
    "inv_brand": "sunsynk",
    "inv_model": "SUN-5K-SG03LP1-EU",
    "inv_battery_type": "lithium",
    "inv_battery_protocol": "00",
    "inv_configured_modules": "4",
    "inv_configured_capacity_ah": "296",
    "inv_charge_voltage_v": "53.2",
    "inv_replaced_on": "2026-10-30",
    "m1_model": "US3000C",
    "m1_installed": "2019-06",
    "m1_led": "green",
    "m1_role": "master",
    "m1_dip_read": "1",
    "m2_model": "US3000C",
    "m2_installed": "2019-06",
    "m2_led": "green_flashing",
    "m2_role": "slave",
    "m2_dip_read": "1",
    "m3_model": "US3000C",
    "m3_installed": "2021-03",
    "m3_led": "amber",
    "m3_dip_read": "1",
    "m3_dip1": "1",
    "m3_dip4": "1",
    "m3_notes": "warm to the touch",
    "m4_model": "US3000C",
    "m4_led": "green",
    "m4_dip_unknown": "1",
    "h1_event": "modules_added",
    "h1_date": "2026-09-12",
    "h1_detail": "added positions 3 and 4",
    "h2_event": "inverter_replaced",
    "h2_date": "2026-08-01",
    "symptoms": ["intermittent_trips", "capacity_drop"],
    "notes": "trips on cold mornings",
}


def test_form_becomes_the_spec_case_yaml(tmp_path: Path) -> None:
    case = case_from_form(FORM)
    text = case_yaml_text(case)
    loaded = yaml.safe_load(text)
    assert loaded == {
        "schema": "pylondiag.case/1",
        "observed_at": "2026-11-20T08:15",
        "site": {"location": "garage", "ambient_c": 4},
        "inverter": {
            "brand": "sunsynk",
            "model": "SUN-5K-SG03LP1-EU",
            "battery_type": "lithium",
            "battery_protocol": "00",
            "configured_modules": 4,
            "configured_capacity_ah": 296,
            "charge_voltage_v": 53.2,
            "replaced_on": date(2026, 10, 30),
        },
        "stack": [
            {
                "position": 1,
                "model": "US3000C",
                "installed": "2019-06",
                "led": "green",
                "dip": "0000",
                "role": "master",
            },
            {
                "position": 2,
                "model": "US3000C",
                "installed": "2019-06",
                "led": "green_flashing",
                "dip": "0000",
                "role": "slave",
            },
            {
                "position": 3,
                "model": "US3000C",
                "installed": "2021-03",
                "led": "amber",
                "dip": "1001",
                "notes": "warm to the touch",
            },
            {"position": 4, "model": "US3000C", "led": "green"},
        ],
        "symptoms": ["capacity_drop", "intermittent_trips"],
        "history": [
            {"date": date(2026, 8, 1), "event": "inverter_replaced"},
            {"date": date(2026, 9, 12), "event": "modules_added", "detail": "added positions 3 and 4"},
        ],
        "notes": "trips on cold mornings",
    }
    # the project's strict model and case reader accept it as written
    CaseFile.model_validate(loaded)
    (tmp_path / "case.yaml").write_text(text)
    view = load_case(tmp_path)
    assert [m.position for m in view.modules] == [1, 2, 3, 4]


def test_an_empty_form_is_a_minimal_valid_case() -> None:
    case = case_from_form({"modules": "1"})
    # nothing invented: an untouched switch drawing is "not read", not 0000
    assert case == {"schema": "pylondiag.case/1", "stack": [{"position": 1}]}
    CaseFile.model_validate(yaml.safe_load(case_yaml_text(case)))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("modules", "0", "Number of modules"),
        ("modules", "17", "Number of modules"),
        ("m1_led", "purple", "Module 1 (from the top) LED"),
        ("m1_installed", "June 2019", "year-month"),
        ("inv_brand", "tesla", "Inverter brand"),
        ("inv_configured_modules", "four", "not a number"),
        ("inv_charge_voltage_v", "530", "outside"),
        ("inv_replaced_on", "30/10/2026", "not a date"),
        ("h3_detail", "something", "say what changed"),
        ("symptoms", ["on_fire"], "unknown on_fire"),
    ],
)
def test_form_errors_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(IntakeErrors) as err:
        case_from_form({**FORM, field: value})
    assert any(message in e for e in err.value.errors), err.value.errors
