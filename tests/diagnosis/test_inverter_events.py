"""Comms after a change (per brand) and over-voltage / over-current events against the inverter's limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pylondiag.diagnosis import diagnose, inverter_events
from pylondiag.diagnosis.inverter_events import PYLONTECH_SETTINGS, setting_mismatch
from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.model.case import CaseFile
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome
from pylondiag.model.event import BatteryEvent
from pylondiag.model.stack import CaseView, ModuleView

LONDON = ZoneInfo("Europe/London")
CHANGE = "2026-10-30"


def _view(events: list[BatteryEvent], inverter: dict[str, Any], history: bool = True, **kw: Any) -> CaseView:
    raw: dict[str, Any] = {"schema": "pylondiag.case/1", "inverter": inverter}
    if history:
        raw["history"] = [{"date": CHANGE, "event": "inverter_replaced", "detail": "new inverter"}]
    return CaseView(case_id="t", case=CaseFile.model_validate(raw), events=events, **kw)


def _log(rows: list[tuple[str, str, str]], brand: str) -> list[BatteryEvent]:
    text = "time,code,message\n" + "".join(f"{t},{c},{m}\n" for t, c, m in rows)
    return read_inverter_log(text.encode(), "inverter/events.csv", brand=brand).events


# brand, a comms code as that inverter shows it, a wrong protocol/type, the right one
BRANDS = [
    ("sunsynk", "F58", "BMS_Comm_Fail", {"battery_type": "lithium", "battery_protocol": "03"}, "00"),
    ("deye", "W31", "Battery_comm_warn", {"battery_type": "Use Batt V", "battery_protocol": "00"}, None),
    (
        "victron",
        "#67",
        "BMS connection lost",
        {"battery_protocol": "VE.Can 250 kbit/s"},
        "CAN-bus BMS LV (500 kbit/s)",
    ),
    ("solis", "8210", "Battery COM Fail", {"battery_type": "lithium", "battery_protocol": "BYD"}, "Pylon LV"),
    ("sofar", "ID157", "Lithium battery 1 communication error", {"battery_protocol": "Default"}, "PYLON"),
    ("luxpower", "W000", "Battery communication failure", {"battery_type": "Lead-acid"}, None),
    ("goodwe", "", "Communication failure 2", {"battery_protocol": "BYD"}, "Pylon US3000"),
    ("growatt", "Alarm 500", "BMS communication failure", {"battery_type": "Lead_Acid"}, None),
]


@pytest.mark.parametrize(("brand", "code", "text", "wrong", "right"), BRANDS)
def test_comms_after_change_with_wrong_setting(
    brand: str, code: str, text: str, wrong: dict[str, str], right: str | None
) -> None:
    events = _log(
        [
            ("2026-10-20 06:00", "", "Grid lost"),
            ("2026-10-31 07:12", code, text),
            ("2026-11-01 07:00", code, text),
        ],
        brand,
    )
    found = inverter_events.findings(_view(events, {"brand": brand, **wrong}))
    assert [f.code for f in found] == [Cause.INVERTER_COMMS_CONFIG]
    f = found[0]
    assert f.severity is FindingSeverity.FAULT and f.confidence >= 0.85
    canonical = "sunsynk" if brand == "deye" else brand
    assert PYLONTECH_SETTINGS[canonical].instruction in f.message  # the exact setting to choose
    assert [e.line for e in f.evidence if e.line] == [3, 4]
    assert {e.key for e in f.evidence if e.key} >= {"history[0]"}


@pytest.mark.parametrize(("brand", "code", "text", "wrong", "right"), [b for b in BRANDS if b[4]])
def test_right_protocol_is_not_flagged(
    brand: str, code: str, text: str, wrong: dict[str, str], right: str
) -> None:
    assert setting_mismatch("sunsynk" if brand == "deye" else brand, "lithium", right) == []
    events = _log([("2026-10-31 07:12", code, text)], brand)
    found = inverter_events.findings(
        _view(events, {"brand": brand, "battery_type": "lithium", "battery_protocol": right})
    )
    assert [(f.code, f.severity) for f in found] == [(Cause.INVERTER_COMMS_CONFIG, FindingSeverity.WARNING)]


def test_comms_that_began_before_the_change_do_not_blame_it() -> None:
    events = _log(
        [("2026-10-01 07:12", "F58", "BMS_Comm_Fail"), ("2026-10-31 07:12", "F58", "BMS_Comm_Fail")],
        "sunsynk",
    )
    found = inverter_events.findings(_view(events, {"brand": "sunsynk"}))
    # the change is not blamed; the failures are still shown, as a lead to check, not a fault
    assert [(f.code, f.severity) for f in found] == [(Cause.INVERTER_COMMS_CONFIG, FindingSeverity.WARNING)]
    assert "after the" not in found[0].message and "2 BMS communication failure(s)" in found[0].message


def test_comms_failures_nothing_explains_are_a_lead_not_no_fault() -> None:
    """A logged BMS comms fault with no settings or history: say so and what to check, never nothing."""
    events = _log([("2026-11-18 07:12", "F58", "BMS_Comm_Fail")], "sunsynk")
    found = inverter_events.findings(_view(events, {}, history=False))
    assert [(f.code, f.severity, f.module) for f in found] == [
        (Cause.INVERTER_COMMS_CONFIG, FindingSeverity.WARNING, None)
    ]
    assert "not given" in found[0].message and "DIP switch 1" in found[0].message
    assert found[0].evidence[0].line == 2


def test_unknown_settings_after_change_name_what_to_check() -> None:
    events = _log([("2026-10-31 07:12", "F58", "BMS_Comm_Fail")], "sunsynk")
    found = inverter_events.findings(_view(events, {"brand": "sunsynk"}))
    assert [(f.code, f.severity) for f in found] == [(Cause.INVERTER_COMMS_CONFIG, FindingSeverity.FAULT)]
    assert "Lithium Mode 00" in found[0].message


def test_change_seen_in_the_log_itself() -> None:
    events = _log(
        [("2026-10-29 10:00", "F13", "Working_Mode_Change"), ("2026-10-29 10:05", "F58", "BMS_Comm_Fail")],
        "sunsynk",
    )
    found = inverter_events.findings(
        _view(events, {"brand": "sunsynk", "battery_type": "lead acid"}, history=False)
    )
    assert [f.code for f in found] == [Cause.INVERTER_COMMS_CONFIG]
    assert any(e.line == 2 for e in found[0].evidence)


def test_batname_fail_alone_is_a_config_finding() -> None:
    events = _log([("2026-11-02 09:00", "8214", "BatName-FAIL")], "solis")
    found = inverter_events.findings(_view(events, {"brand": "solis"}, history=False))
    assert [f.code for f in found] == [Cause.INVERTER_COMMS_CONFIG]
    assert "Pylon LV" in found[0].message


def test_unverified_code_is_said() -> None:
    events = _log([("2026-10-31 07:12", "BMS_Lost", "BMS Lost")], "solax")
    found = inverter_events.findings(_view(events, {"brand": "solax", "battery_type": "lead acid"}))
    assert "unverified" in found[0].message


def test_outcome_is_reconfigure() -> None:
    events = _log([("2026-10-31 07:12", "F58", "BMS_Comm_Fail")], "sunsynk")
    d = diagnose(_view(events, {"brand": "sunsynk", "battery_type": "lithium", "battery_protocol": "03"}))
    assert d.outcome is Outcome.RECONFIGURE
    assert d.primary_cause is Cause.INVERTER_COMMS_CONFIG
    assert d.culprit_modules == []


# ---------------------------------------------------------------- limits
MODULES = [ModuleView(position=i, address=i, model="US3000C", stack_index=i - 1) for i in (1, 2, 3)]


def test_over_voltage_with_high_charge_voltage() -> None:
    events = _log(
        [("2026-11-02 13:00", "F52", "DC_VoltHigh_Fault"), ("2026-11-03 13:10", "F55", "x")], "sunsynk"
    )
    found = inverter_events.findings(
        _view(events, {"brand": "sunsynk", "charge_voltage_v": 56.4}, history=False)
    )
    assert [(f.code, f.severity) for f in found] == [(Cause.INVERTER_CHARGE_LIMITS, FindingSeverity.FAULT)]
    assert "56.4 V" in found[0].message and "53.25 V" in found[0].message


def test_over_voltage_with_sane_charge_voltage_points_at_a_cell() -> None:
    rows = [(f"2026-11-0{d} 13:00", "F52", "DC_VoltHigh_Fault") for d in (2, 3, 4)]
    view = _view(_log(rows, "sunsynk"), {"brand": "sunsynk", "charge_voltage_v": 53.2}, history=False)
    found = inverter_events.findings(view)
    assert [(f.code, f.severity) for f in found] == [(Cause.CELL_OVER_VOLTAGE, FindingSeverity.WARNING)]
    assert "high cell" in found[0].message


def test_one_over_voltage_day_is_only_context() -> None:
    events = _log([("2026-11-02 13:00", "F52", "DC_VoltHigh_Fault")], "sunsynk")
    found = inverter_events.findings(
        _view(events, {"brand": "sunsynk", "charge_voltage_v": 53.2}, history=False)
    )
    assert [(f.code, f.severity) for f in found] == [(Cause.CELL_OVER_VOLTAGE, FindingSeverity.INFO)]


def test_discharge_over_current_with_limit_above_the_stack() -> None:
    events = _log([("2026-11-02 18:00", "F20", "Tz_Dc_OverCurr_Fault")], "sunsynk")
    view = _view(events, {"brand": "sunsynk", "max_discharge_current_a": 150}, history=False, modules=MODULES)
    found = inverter_events.findings(view)
    assert [(f.code, f.severity) for f in found] == [(Cause.OVER_CURRENT, FindingSeverity.FAULT)]
    assert "111 A" in found[0].message  # 3 x 37 A


def test_charge_over_current_with_limit_above_the_stack() -> None:
    events = _log([("2026-11-02 12:00", "", "BMS Charge Over-current")], "foxess")
    view = _view(events, {"brand": "foxess", "max_charge_current_a": 150}, history=False, modules=MODULES)
    found = inverter_events.findings(view)
    assert [(f.code, f.severity) for f in found] == [(Cause.INVERTER_CHARGE_LIMITS, FindingSeverity.FAULT)]


def test_over_current_within_limits_is_a_warning() -> None:
    events = _log([("2026-11-02 18:00", "F20", "Tz_Dc_OverCurr_Fault")], "sunsynk")
    view = _view(events, {"brand": "sunsynk", "max_discharge_current_a": 100}, history=False, modules=MODULES)
    assert [(f.code, f.severity) for f in inverter_events.findings(view)] == [
        (Cause.OVER_CURRENT, FindingSeverity.WARNING)
    ]


def test_no_inverter_events_no_findings() -> None:
    assert inverter_events.findings(CaseView(case_id="t")) == []


def test_comms_on_the_change_day_count_as_after() -> None:
    events = _log([("2026-10-30 00:30", "F58", "BMS_Comm_Fail")], "sunsynk")
    assert events[0].time == datetime(2026, 10, 30, 0, 30, tzinfo=LONDON)
    found = inverter_events.findings(_view(events, {"brand": "sunsynk", "battery_type": "lead acid"}))
    assert [f.code for f in found] == [Cause.INVERTER_COMMS_CONFIG]
    assert "begin after the inverter replacement" in found[0].message


# ---------------------------------------------------------------- example cases (end to end, spec validator)
@pytest.mark.parametrize(
    "name", ["inv-comms-after-swap-solis", "inv-lux-discharge-over-current", "inv-sofar-charge-voltage"]
)
def test_example_case(name: str, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path

    case = Path(__file__).resolve().parents[2] / "examples" / "cases" / name
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    d = diagnose_case(case)
    assert d.outcome.value == expected["outcome"]
    assert (d.primary_cause.value if d.primary_cause else None) == expected["primary_cause"]
    assert d.culprit_modules == expected["culprit_modules"]
    assert set(expected["required_codes"]) <= {f.code.value for f in d.findings}
    # the inverter log itself is cited, not only case.yaml
    assert any(e.source.startswith("inverter/") for f in d.findings for e in f.evidence)
