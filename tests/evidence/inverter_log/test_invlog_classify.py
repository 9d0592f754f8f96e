"""Classification of codes/messages without a table entry (keywords) and of 'cleared' messages."""

from __future__ import annotations

import pytest

from pylondiag.evidence.inverter_log._classify import classify
from pylondiag.model.event import EventKind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("BMS_Comm_Fail", EventKind.BMS_COMMS_LOST),
        ("Battery COM Fail", EventKind.BMS_COMMS_LOST),
        ("no reply from BMS", EventKind.BMS_COMMS_LOST),
        ("Meter communication failed", EventKind.OTHER),
        ("Grid Monitor Comm Fault", EventKind.OTHER),
        ("Battery connection direction fault", EventKind.OTHER),
        ("Cell voltage high", EventKind.CELL_OVER_VOLTAGE),
        ("Low cell voltage", EventKind.CELL_UNDER_VOLTAGE),
        ("Battery over voltage", EventKind.BATTERY_OVER_VOLTAGE),
        ("Battery voltage low", EventKind.BATTERY_UNDER_VOLTAGE),
        ("Battery temperature too low", EventKind.UNDER_TEMPERATURE),
        ("BMS high temperature", EventKind.OVER_TEMPERATURE),
        ("Charge over current", EventKind.CHARGE_OVER_CURRENT),
        ("Discharge over-current", EventKind.DISCHARGE_OVER_CURRENT),
        ("Low SOC shutdown", EventKind.LOW_SOC_SHUTDOWN),
        ("BMS internal fault", EventKind.BMS_FAULT),
        ("Grid lost", EventKind.OTHER),
    ],
)
def test_keywords(text: str, kind: EventKind) -> None:
    c = classify(None, "", text)
    assert c.kind is kind
    assert c.classified_by == "text"


@pytest.mark.parametrize(
    "text", ["BMS_Comm_Fail cleared", "Cleared: BMS_Comm_Fail", "BMS_Comm_Fail recovered"]
)
def test_cleared_names_what_ended(text: str) -> None:
    c = classify("sunsynk", "F58", text)
    assert c.kind is EventKind.CLEARED
    assert c.clears is EventKind.BMS_COMMS_LOST


def test_unverified_table_entry_is_flagged() -> None:
    c = classify("solax", "BMS_Lost", "")
    assert c.kind is EventKind.BMS_COMMS_LOST and c.verified is False and c.classified_by == "table"
