"""Battery events from any source — the BMS's own log, its states, or an inverter's event log.

One normalized shape so that every event source plugs into the same diagnosis rules.
Kinds follow the list fixed in issue 6 (inverter event logs).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from pylondiag.model.console import Provenance


class EventKind(StrEnum):
    BMS_COMMS_LOST = "bms_comms_lost"
    CELL_OVER_VOLTAGE = "cell_over_voltage"
    CELL_UNDER_VOLTAGE = "cell_under_voltage"
    BATTERY_OVER_VOLTAGE = "battery_over_voltage"
    BATTERY_UNDER_VOLTAGE = "battery_under_voltage"
    OVER_TEMPERATURE = "over_temperature"
    UNDER_TEMPERATURE = "under_temperature"
    CHARGE_OVER_CURRENT = "charge_over_current"
    DISCHARGE_OVER_CURRENT = "discharge_over_current"
    BMS_PROTECTION = "bms_protection"
    BMS_FAULT = "bms_fault"
    LOW_SOC_SHUTDOWN = "low_soc_shutdown"
    CLEARED = "cleared"
    OTHER = "other"


class Severity(StrEnum):
    FAULT = "fault"
    WARNING = "warning"
    INFO = "info"


class BatteryEvent(BaseModel):
    """One battery-related event, wherever it was recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: datetime | None
    """Timezone-aware when the source allows it (the case reader makes every time aware in the site's
    timezone)."""
    occurred_after: datetime | None = None
    """Set when the exact time is not known: the event happened after this and by ``time`` (a ``stat``
    counter that rose between two readings). Rules that need exact times skip such events."""
    origin: str
    """``bms`` (console log/states) or ``inverter``."""
    brand: str | None = None
    code: str | None = None
    """The raw code exactly as shown (``F58``, ``W31``, ``0x2000``)."""
    text: str = ""
    kind: EventKind = EventKind.OTHER
    severity: Severity = Severity.INFO
    module_address: int | None = None
    """BMS address of the module concerned, when the source says."""
    code_verified: bool = True
    """False when the code table marks this code as unverified (domain grade U)."""
    temperature_c: float | None = None
    """Battery or ambient temperature recorded with the event, when present."""
    classified_by: str = "source"
    """How ``kind`` was found: ``table`` (the brand's code table), ``text`` (keywords of the message,
    no table entry) or ``source`` (the source names the kind itself, e.g. a Victron alarm path)."""
    clears: EventKind | None = None
    """For ``kind == cleared``: the kind of event that ended, when the text says."""
    provenance: Provenance


class TemperatureSample(BaseModel):
    """A temperature reading over time (an inverter log's battery/ambient temperature, a sensor history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: datetime
    celsius: float
    sensor: str = ""
    """What was measured, as the source names it (``battery_temp_c``, ``sensor.battery_temperature``)."""
    provenance: Provenance
