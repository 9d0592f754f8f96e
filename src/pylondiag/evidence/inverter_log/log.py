"""What an inverter-log reader returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pylondiag.model.console import ParseWarning
from pylondiag.model.event import BatteryEvent, TemperatureSample


class InverterLog(BaseModel):
    """The events (and temperatures, where the file has them) read from one inverter-log file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    shape: str
    """Which documented shape matched: ``generic_csv``, ``home_assistant_history``, ``victron_vrm_alarms``...
    (``docs/inverter-logs.md`` lists them with their public sources)."""
    brand: str | None = None
    """Code table used (canonical name), None when the brand is unknown (events classified by text)."""
    encoding: str = "utf-8"
    events: list[BatteryEvent] = Field(default_factory=list)
    temperatures: list[TemperatureSample] = Field(default_factory=list)
    """Temperature readings that are not events (rows with a temperature and no code, sensor histories);
    an event's own temperature is ``BatteryEvent.temperature_c``."""
    warnings: list[ParseWarning] = Field(default_factory=list)
    """Rows that could not be read (skipped, with their line) and decisions to check (ambiguous dates)."""
    notes: list[str] = Field(default_factory=list)
    """How the file was read (delimiter, date order and why)."""
