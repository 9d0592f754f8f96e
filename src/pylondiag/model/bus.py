"""Facts read from the bus between the stack and the inverter (CAN, RS485) that no console shows.

Built by :mod:`pylondiag.casedir` from :mod:`pylondiag.evidence.can` and :mod:`pylondiag.evidence.rs485`
records. Per-module readings from RS485 (0x42 cells and temperatures, 0x44 states) become the same
``pwr``/``bat`` records as console output instead (see ``casedir/bus.py``); this model holds the rest:
what the BMS asks of the inverter (limits, enable and force-charge flags) over time, the alarm and
protection flags the stack raises, the module count the BMS reports, and the health of the link
(battery frames, inverter heartbeat, unanswered polls).

Series keep **changes** only (a day of CAN repeats the same values half a million times): each item
is the first frame where the value took effect, with ``until``/``last_line`` telling how long it lasted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BusKind = Literal["can", "rs485"]


class _Bus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BusRef(_Bus):
    """Where a bus fact was read: file, 1-based line (None for binary BLF), the line's text."""

    source: str
    line: int | None = None
    raw: str = ""
    index: int | None = None
    """Frame number in the file (BLF frames are cited by it)."""
    time: datetime | None = None
    seconds: float | None = None
    """Capture clock, s (Unix time or relative): orders frames when ``time`` is unknown."""


class BmsRequest(_Bus):
    """Charge/discharge limits the BMS asks for (CAN 0x351; RS485 0x63 system, 0x92 per module)."""

    kind: BusKind
    scope: Literal["stack", "module"] = "stack"
    address: int | None = None
    """Console-style address (1 = master) for a per-module request."""
    charge_voltage_v: float
    charge_current_a: float
    discharge_current_a: float
    """Magnitude, A (packs send it positive on CAN; either sign on RS485)."""
    discharge_voltage_v: float | None = None
    ref: BusRef
    last: BusRef | None = None
    """The last frame with these values (None when only one)."""
    frames: int = 1


class BmsFlags(_Bus):
    """Charge/discharge enable and charge requests (CAN 0x35C, RS485 0x92/0x63 status)."""

    kind: BusKind
    charge_enable: bool
    discharge_enable: bool
    force_charge_1: bool = False
    force_charge_2: bool = False
    full_charge_request: bool = False
    address: int | None = None
    ref: BusRef
    last: BusRef | None = None
    frames: int = 1


AlarmCondition = Literal[
    "cell_over_voltage",
    "cell_under_voltage",
    "over_temperature",
    "under_temperature",
    "charge_over_current",
    "discharge_over_current",
    "short_circuit",
    "system_error",
    "internal_comm",
    "cell_imbalance",
    "contactor",
    "general",
]


class BusAlarm(_Bus):
    """An alarm or protection flag the stack raised, from its first frame to its last."""

    kind: BusKind
    frame: str
    """``0x359``, ``0x35A``, ``0x62``..."""
    level: Literal["protection", "alarm"]
    condition: AlarmCondition
    flag: str
    """The flag's name in the DBC / layout, e.g. ``ProtCellUnderVoltage``."""
    verified: bool = True
    """False for layouts the notes mark unverified (RS485 0x62)."""
    address: int | None = None
    """Console-style address of the module (RS485 0x44); None for stack-level flags."""
    ref: BusRef
    last: BusRef | None = None
    frames: int = 1


class ModuleCountReading(_Bus):
    """The number of modules the BMS reports (CAN 0x359 byte 4, RS485 0x42/0x44 ``FF`` replies)."""

    kind: BusKind
    count: int
    ref: BusRef
    last: BusRef | None = None
    frames: int = 1


class StackReading(_Bus):
    """Stack totals the BMS sends (CAN 0x355/0x356, RS485 0x61): the latest of each file."""

    kind: BusKind
    voltage_v: float | None = None
    current_a: float | None = None
    temperature_c: float | None = None
    soc_pct: float | None = None
    soh_pct: float | None = None
    ref: BusRef


class PackLimits(_Bus):
    """RS485 0x47: a pack's configured protection limits."""

    address: int | None
    cell_high_mv: int
    cell_under_mv: int
    module_high_mv: int
    module_under_mv: int
    charge_current_a: float
    discharge_current_a: float
    ref: BusRef


class BusLink(_Bus):
    """One bus capture file and what its traffic says about the link."""

    source: str
    kind: BusKind
    shape: str
    """The file shape read (``candump_log``, ``candump``, ``asc``, ``blf``, ``frames``, ``raw``)."""
    frames: int = 0
    """All frames read (Pylontech or not)."""
    battery_frames: int = 0
    """CAN: frames the battery sends. RS485: replies."""
    inverter_frames: int = 0
    """CAN: 0x305 heartbeats (and Victron 0x307). RS485: requests."""
    ids: list[str] = Field(default_factory=list)
    """CAN identifiers seen (``0x351``...), RS485 commands answered (``0x42``...)."""
    alarm_frames: int = 0
    """CAN: 0x359 + 0x35A frames. RS485: 0x44 / 0x62 replies."""
    unanswered: int = 0
    """RS485: requests with no reply before the next request."""
    error_replies: dict[str, int] = Field(default_factory=dict)
    """RS485: RTN code text → count (``ADR error``...)."""
    first: BusRef | None = None
    last: BusRef | None = None
    first_battery: BusRef | None = None
    first_heartbeat: BusRef | None = None
    last_heartbeat: BusRef | None = None
    heartbeat_gap_s: float | None = None
    """Longest gap between 0x305 frames, s (None with fewer than two)."""
    span_s: float | None = None
    """Seconds from the first to the last frame, when the capture has times."""
    manufacturer: str | None = None
    """CAN 0x35E text (``PYLON``)."""
    warnings: int = 0


class BusFacts(_Bus):
    """Everything the bus captures of a case tell beyond the per-module readings."""

    links: list[BusLink] = Field(default_factory=list)
    requests: list[BmsRequest] = Field(default_factory=list)
    flags: list[BmsFlags] = Field(default_factory=list)
    alarms: list[BusAlarm] = Field(default_factory=list)
    module_counts: list[ModuleCountReading] = Field(default_factory=list)
    stack: list[StackReading] = Field(default_factory=list)
    pack_limits: list[PackLimits] = Field(default_factory=list)
    answering_addresses: list[int] = Field(default_factory=list)
    """RS485: console-style addresses (1 = master) that answered a per-module poll."""
    silent_addresses: list[int] = Field(default_factory=list)
    """RS485: addresses polled that never answered or answered ``ADR error``."""

    def has_any(self) -> bool:
        return bool(self.links)

    def stack_requests(self) -> list[BmsRequest]:
        return [r for r in self.requests if r.scope == "stack"]
