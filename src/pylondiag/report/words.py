"""Plain words and colours for the codes of ``pylondiag.diagnosis/1`` (spec: diagnosis-format.md).

The report says what the diagnosis decided in words an owner understands; it decides nothing itself.
"""

from __future__ import annotations

from typing import Final

from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome, Verdict

OUTCOME_HEADLINE: Final[dict[Outcome, str]] = {
    Outcome.NO_FAULT: "No fault found",
    Outcome.MONITOR: "Keep an eye on it — no action needed now",
    Outcome.REBALANCE: "Rebalancing needed",
    Outcome.RECONFIGURE: "Settings need to be changed",
    Outcome.REPLACE: "A module needs to be replaced",
    Outcome.ON_SITE_CHECK: "An engineer needs to check the battery on site",
    Outcome.ENVIRONMENT: "The battery's surroundings are causing the trips",
    Outcome.INSUFFICIENT_EVIDENCE: "Not enough information to decide yet",
}

OUTCOME_MEANING: Final[dict[Outcome, str]] = {
    Outcome.NO_FAULT: "Nothing in the evidence you sent points to a fault in the battery or its settings.",
    Outcome.MONITOR: "Something is worth checking again later, but nothing needs to be done today.",
    Outcome.REBALANCE: (
        "The cells inside a module have drifted apart. A controlled charge to 100% and a long hold "
        "lets the battery's own balancing bring them back together."
    ),
    Outcome.RECONFIGURE: (
        "The batteries are not faulty, but a switch or an inverter setting is wrong and must be "
        "corrected before anything else can be judged."
    ),
    Outcome.REPLACE: "A module has a fault that will not recover; it should be taken out and replaced.",
    Outcome.ON_SITE_CHECK: (
        "This cannot be settled remotely: cabling, physical damage or the battery electronics "
        "need a qualified engineer on site."
    ),
    Outcome.ENVIRONMENT: (
        "No module is faulty. The place the battery stands in (cold, heat, ventilation) makes it "
        "protect itself; move, insulate or ventilate it."
    ),
    Outcome.INSUFFICIENT_EVIDENCE: (
        "The evidence sent so far is not enough for a diagnosis. "
        "The list below says exactly what to send next."
    ),
}

OUTCOME_TONE: Final[dict[Outcome, str]] = {
    Outcome.NO_FAULT: "good",
    Outcome.MONITOR: "info",
    Outcome.REBALANCE: "warn",
    Outcome.RECONFIGURE: "warn",
    Outcome.ENVIRONMENT: "warn",
    Outcome.REPLACE: "bad",
    Outcome.ON_SITE_CHECK: "bad",
    Outcome.INSUFFICIENT_EVIDENCE: "unknown",
}
"""CSS tone per outcome: good (green), info (blue), warn (amber), bad (red), unknown (grey)."""

VERDICT_LABEL: Final[dict[Verdict, str]] = {
    Verdict.OK: "OK",
    Verdict.MONITOR: "Monitor",
    Verdict.REBALANCE: "Rebalance",
    Verdict.RECONFIGURE: "Reconfigure",
    Verdict.ISOLATE: "Isolate",
    Verdict.REPLACE: "Replace",
    Verdict.ON_SITE_CHECK: "On-site check",
}

VERDICT_TONE: Final[dict[Verdict, str]] = {
    Verdict.OK: "good",
    Verdict.MONITOR: "info",
    Verdict.REBALANCE: "warn",
    Verdict.RECONFIGURE: "warn",
    Verdict.ISOLATE: "bad",
    Verdict.REPLACE: "bad",
    Verdict.ON_SITE_CHECK: "bad",
}

CAUSE_LABEL: Final[dict[Cause, str]] = {
    Cause.CELL_IMBALANCE: "Cell imbalance",
    Cause.WEAK_CELL: "Weak cell",
    Cause.CAPACITY_FADE: "Capacity fade",
    Cause.CELL_OVER_VOLTAGE: "Cell over-voltage",
    Cause.CELL_UNDER_VOLTAGE: "Cell under-voltage",
    Cause.OVER_TEMPERATURE: "Over-temperature",
    Cause.UNDER_TEMPERATURE: "Under-temperature",
    Cause.THERMAL_INTERMITTENT: "Trips at temperature extremes",
    Cause.OVER_CURRENT: "Over-current",
    Cause.BMS_HARDWARE_FAULT: "BMS hardware fault",
    Cause.MODULE_NOT_COMMUNICATING: "Module not communicating",
    Cause.DIP_MULTIPLE_MASTERS: "More than one master",
    Cause.DIP_NO_MASTER: "No master",
    Cause.DIP_DUPLICATE_ADDRESS: "Duplicate address",
    Cause.DIP_ADDRESS_GAP: "Address gap",
    Cause.MODULE_COUNT_MISMATCH: "Module count mismatch on the inverter",
    Cause.MIXED_MODELS: "Mixed models",
    Cause.INVERTER_COMMS_CONFIG: "Inverter battery/BMS settings",
    Cause.INVERTER_CHARGE_LIMITS: "Inverter charge limits",
}

SEVERITY_TONE: Final[dict[FindingSeverity, str]] = {
    FindingSeverity.FAULT: "bad",
    FindingSeverity.WARNING: "warn",
    FindingSeverity.INFO: "info",
}

CONFIG_CAUSES: Final[frozenset[Cause]] = frozenset(
    {
        Cause.DIP_MULTIPLE_MASTERS,
        Cause.DIP_NO_MASTER,
        Cause.DIP_DUPLICATE_ADDRESS,
        Cause.DIP_ADDRESS_GAP,
        Cause.MODULE_COUNT_MISMATCH,
        Cause.MIXED_MODELS,
        Cause.INVERTER_COMMS_CONFIG,
        Cause.INVERTER_CHARGE_LIMITS,
        Cause.OVER_CURRENT,
    }
)
"""Causes the spec resolves with ``reconfigure``: their findings say which setting to change."""

THERMAL_CAUSES: Final[frozenset[Cause]] = frozenset(
    {Cause.THERMAL_INTERMITTENT, Cause.UNDER_TEMPERATURE, Cause.OVER_TEMPERATURE}
)
"""Findings for which the event timeline overlays temperature."""

LED_LABEL: Final[dict[str, str]] = {
    "off": "off",
    "green": "green",
    "green_flashing": "green, flashing",
    "amber": "amber",
    "amber_flashing": "amber, flashing",
    "red": "red",
    "red_flashing": "red, flashing",
}

GENERIC_SAFETY: Final[tuple[str, ...]] = (
    "The stack is 48 V DC but can deliver very high current: do not disconnect inter-module cables "
    "while it is powered on.",
    "Power down the whole stack before making any physical change.",
    "Do not open the inverter or touch DC cabling; solar panels produce live DC whenever light falls "
    "on them. "
    "Use the DC isolator and call a qualified solar engineer for hands-on work.",
)
"""Shown when a diagnosis carries no safety lines of its own. Source: shared/seed (safety warning)."""


def led_label(led: str | None) -> str:
    if not led:
        return "not reported"
    return LED_LABEL.get(led, led.replace("_", " "))


def cause_label(code: Cause | str | None) -> str:
    if code is None:
        return "—"
    try:
        return CAUSE_LABEL[Cause(code)]
    except ValueError:
        return str(code).replace("_", " ")
