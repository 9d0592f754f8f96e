"""Pylontech US-series module models and the static description of one module in a stack.

Per-model figures come from ``shared/domain/hardware/specs.md`` (grades in brackets).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date


@dataclass(frozen=True)
class ModelSpec:
    """What differs between US models (units in the names)."""

    name: str
    """Model name as a person writes it (``US2000C``)."""
    device_name: str
    """``info`` → Device name (``US2000C``, ``US2KBPL``, ``US5000``) [C]."""
    nominal_ah: float
    total_coulomb_mah: int
    """``pwr N`` → Total Coulomb (50000 mAH US2000C, 100000 mAH US5000 [C])."""
    max_charge_ma: int
    """``info`` → Max Charge Curr (US2000C 90000 [C], US2KBPL 102000 [C], US5000 100000 [C])."""
    max_discharge_ma: int
    recommend_charge_ma: int
    """Per-module recommended charge current (US2000C `pwrsys` 10 A at 93 % [C]; others [U])."""
    recommend_discharge_ma: int
    """Per-module recommended discharge current (US2000C `pwrsys` 25 A [C]; US3000C 37 A [U];
    US5000 80 A [U])."""
    specification: str
    board_version: str
    main_soft_version: str
    soft_version: str
    release_date: str
    dialect: str
    """Console dialect this model's firmware speaks (see ``sim.console.dialects``)."""
    has_mos_sensor: bool = True
    """C models print ``MosTempr`` in `pwr`; the old US2000 prints ``-`` there [C]."""
    thermal_mass_j_per_k: float = 22000.0
    """≈ 24 kg × 900 J/(kg·K) for a US2000 (24 kg, specs.md [T]); scaled by weight for others."""


MODELS: dict[str, ModelSpec] = {
    "US2000": ModelSpec(
        "US2000",
        "US2KBPL",
        50.0,
        50000,
        102000,
        -100000,
        10000,
        -25000,
        "48V/50AH",
        "PHANTOMSAV10R03",
        "B66.6",
        "V2.4",
        "20-05-28",
        "us2kbpl_b66",
        has_mos_sensor=False,
    ),
    "US2000C": ModelSpec(
        "US2000C",
        "US2000C",
        50.0,
        50000,
        90000,
        -90000,
        10000,
        -25000,
        "48V/50AH",
        "V10R04",
        "B67.5.0",
        "V1.7",
        "20-12-11",
        "us2000c_b67",
    ),
    "US3000C": ModelSpec(
        "US3000C",
        "US3000C",
        74.0,
        74000,
        100000,
        -100000,
        15000,
        -37000,
        "48V/74AH",
        "V10R04",
        "B69.25",
        "V2.1",
        "22-03-18",
        "us2000c_b67",
        thermal_mass_j_per_k=29000.0,
    ),
    "US5000": ModelSpec(
        "US5000",
        "US5000",
        100.0,
        100000,
        100000,
        -100000,
        20000,
        -80000,
        "48V/100AH",
        "V10R02",
        "B69.16.0.0",
        "V2.3",
        "24-05-13",
        "us5000_v2",
        thermal_mass_j_per_k=35000.0,
    ),
}
"""Models the simulator builds. Firmware strings are those seen in real captures (specs.md §2)."""
# The US2000B is the US2000 under another name on the same BMS and console (US2KBPL, B66.6).
MODELS["US2000B"] = replace(MODELS["US2000"], name="US2000B")


@dataclass
class ModuleSpec:
    """One module as installed: identity, wiring and the faults injected into it."""

    position: int
    """Physical slot, 1 = top."""
    model: str
    serial: str
    installed: date
    dip: str = "0000"
    """ADD switch as set, switch 1 first, ``1`` = ON (panel_dip.md §3)."""
    link_port0_empty: bool = False
    """True on the module cabled to the inverter (the master, panel_dip.md §4)."""
    group: int = 0
    cycles: float = 0.0
    """Full-equivalent cycles already done (`stat` CYCLE Times)."""
    talking: bool = True
    """False: the BMS does not answer on the link bus (dead BMS, bad link cable)."""
    # injected cell faults (indices 0..14)
    soc_offsets: dict[int, float] = field(default_factory=dict)
    """Cell → SOC offset (fraction) at the start: an imbalance."""
    capacity_factor: dict[int, float] = field(default_factory=dict)
    """Cell → multiplier on its capacity (a faded cell)."""
    r_factor: dict[int, float] = field(default_factory=dict)
    """Cell → multiplier on its internal resistance (a high-IR cell)."""
    self_discharge_per_day: dict[int, float] = field(default_factory=dict)
    """Cell → self-discharge fraction/day replacing the drawn one (a leaky cell)."""
    extra_heat_w: float = 0.0
    """Heat from a fault (loose busbar, failing MOSFET), W."""
    thermal_resistance_factor: float = 1.0
    """Multiplier on the module's thermal resistance to ambient (blocked ventilation)."""
    system_fault: int = 0
    """``System Fault`` bits the BMS reports (BMIC/AFE error etc.); non-zero latches protection."""
    bmic_errors_per_day: float = 0.0
    soh_override: int | None = None
    """Force the BMS lifetime SOH figure (`stat` SOH)."""
    notes: str | None = None
    """What the owner writes about this module in case.yaml."""

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]

    @property
    def rs485_baud(self) -> int:
        """RS485 rate to the inverter set by ADD bit 1: OFF 115200, ON 9600 (panel_dip.md §3 [M])."""
        return 9600 if self.dip[:1] == "1" else 115200
