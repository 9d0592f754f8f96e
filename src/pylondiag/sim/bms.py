"""BMS logic: alarm/protection thresholds per model, states, stat counters and the event log.

Thresholds are the "best-evidence model" of ``shared/domain/hardware/specs.md`` §3; each one
names its grade. Where the domain notes have no value the figure is an assumption [U], kept as a
named parameter so the simulator never hides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntFlag

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Thresholds:
    """Alarm / protect / release levels. mV for voltages, m°C for temperatures, mA for currents."""

    cell_hv_alarm_mv: int = 3550  # BHV ≈ 3.55–3.60 V [U]; Force H2/SC "Vol High 3 3550" [C, same family]
    cell_hv_release_mv: int = 3450  # [U]
    cell_ov_protect_mv: int = 3650  # BOV: US5000 0x47 "high" 3.65 V [C-ish]; US2000 3.70 V [T]
    cell_ov_release_mv: int = 3400  # Force H2/SC release 3400 mV [C, same family]
    cell_lv_alarm_mv: int = 3050  # BLV 3.05 V [T/C]
    cell_lv_release_mv: int = 3150  # [U]
    cell_uv_protect_mv: int = 2800  # BUV: US5000 2.80 V [C-ish]; US2000 2.90 V [T]
    cell_uv_release_mv: int = 3100  # [U]
    pack_hv_alarm_mv: int = 53500  # [U] (below Max Voltage 54000)
    pack_ov_protect_mv: int = 54000  # `pwr N` Max Voltage 54000 mV [C]; 0x47 pack high 54.0 V [C-ish]
    pack_ov_release_mv: int = 52500  # [U]
    pack_lv_alarm_mv: int = 46000  # 0x47 pack low 46.0 V [C-ish]
    pack_uv_protect_mv: int = 43000  # 0x47 pack under: US5000 43.0 V [C-ish], US2000 44.5 V [T]
    charge_ht_alarm_mc: int = 50000  # operating charge 0…50 °C [T]
    charge_ot_protect_mc: int = 60000  # 0x47 charge temperature high 60.0 °C [C-ish]
    charge_lt_alarm_mc: int = 2000  # [U]
    charge_ut_protect_mc: int = 0  # charge blocked below 0 °C (Victron 45182 [T]; operating range [T])
    discharge_ht_alarm_mc: int = 55000  # [U]
    discharge_ot_protect_mc: int = 60000  # 0x47 discharge temperature high 60.0 °C [C-ish]
    discharge_lt_alarm_mc: int = -5000  # [U]
    discharge_ut_protect_mc: int = -10000  # 0x47 discharge temperature low −10.0 °C [C-ish]
    temp_release_margin_mc: int = 5000  # [U]
    mos_ot_protect_mc: int = 90000  # [U]
    coc_protect_ma: int = 90000  # charge over-current = `info` Max Charge Curr [C]
    doc_protect_ma: int = 90000  # discharge over-current = |Max Dischg Curr| [C]
    oc_alarm_fraction: float = 0.9  # COCA/DOCA at 90 % of the protect level [U]
    oc_recovery_s: int = 60  # over-current protection releases after a delay [U]


THRESHOLDS: dict[str, Thresholds] = {
    "US2000": Thresholds(
        cell_ov_protect_mv=3700,
        cell_uv_protect_mv=2900,
        pack_uv_protect_mv=44500,
        coc_protect_ma=102000,
        doc_protect_ma=100000,
    ),
    "US2000C": Thresholds(cell_ov_protect_mv=3700, cell_uv_protect_mv=2900, pack_uv_protect_mv=44500),
    "US3000C": Thresholds(cell_ov_protect_mv=3600, coc_protect_ma=100000, doc_protect_ma=100000),
    "US5000": Thresholds(coc_protect_ma=100000, doc_protect_ma=100000),
}
THRESHOLDS["US2000B"] = replace(THRESHOLDS["US2000"])


def thresholds_for(model: str) -> Thresholds:
    return THRESHOLDS.get(model, Thresholds())


class Flag(IntFlag):
    """Alarm (``A_``) and protection (``P_``) conditions of one module."""

    A_CELL_HV = 1 << 0
    A_CELL_LV = 1 << 1
    A_PACK_HV = 1 << 2
    A_PACK_LV = 1 << 3
    A_CHG_HT = 1 << 4
    A_CHG_LT = 1 << 5
    A_DSG_HT = 1 << 6
    A_DSG_LT = 1 << 7
    A_COC = 1 << 8
    A_DOC = 1 << 9
    P_CELL_OV = 1 << 10
    P_CELL_UV = 1 << 11
    P_PACK_OV = 1 << 12
    P_PACK_UV = 1 << 13
    P_COT = 1 << 14
    P_CUT = 1 << 15
    P_DOT = 1 << 16
    P_DUT = 1 << 17
    P_COC = 1 << 18
    P_DOC = 1 << 19
    P_MOS_OT = 1 << 20
    P_FAULT = 1 << 21


CHARGE_BLOCK = Flag.P_CELL_OV | Flag.P_PACK_OV | Flag.P_COT | Flag.P_CUT | Flag.P_COC
DISCHARGE_BLOCK = Flag.P_CELL_UV | Flag.P_PACK_UV | Flag.P_DOT | Flag.P_DUT | Flag.P_DOC
FULL_BLOCK = Flag.P_MOS_OT | Flag.P_FAULT
PROTECT = CHARGE_BLOCK | DISCHARGE_BLOCK | FULL_BLOCK

STAT_COUNTER: dict[Flag, str] = {
    Flag.A_CELL_HV: "Bat HV Times",
    Flag.A_CELL_LV: "Bat LV Times",
    Flag.A_PACK_HV: "Pwr HV Times",
    Flag.A_PACK_LV: "Pwr LV Times",
    Flag.A_CHG_HT: "CHT Times",
    Flag.A_CHG_LT: "CLT Times",
    Flag.A_DSG_HT: "DHT Times",
    Flag.A_DSG_LT: "DLT Times",
    Flag.A_COC: "COCA Times",
    Flag.A_DOC: "DOCA Times",
    Flag.P_CELL_OV: "Bat OV Times",
    Flag.P_CELL_UV: "Bat UV Times",
    Flag.P_PACK_OV: "Pwr OV Times",
    Flag.P_PACK_UV: "Pwr UV Times",
    Flag.P_COT: "COT Times",
    Flag.P_CUT: "CUT Times",
    Flag.P_DOT: "DOT Times",
    Flag.P_DUT: "DUT Times",
    Flag.P_COC: "COC Times",
    Flag.P_DOC: "DOC Times",
    Flag.P_FAULT: "BMICERR Times",
}
"""Which `stat` counter each rising edge increments (console_fields.md `stat`)."""

LOG_TEXT: dict[Flag, tuple[str, str]] = {
    Flag.A_CELL_HV: ("0x0101", "Battery voltage high alarm."),
    Flag.A_CELL_LV: ("0x0102", "Battery voltage low alarm."),
    Flag.A_PACK_HV: ("0x0201", "Power voltage high alarm."),
    Flag.A_PACK_LV: ("0x0202", "Power voltage low alarm."),
    Flag.A_CHG_HT: ("0x0301", "Charge temperature high alarm."),
    Flag.A_CHG_LT: ("0x0302", "Charge temperature low alarm."),
    Flag.A_DSG_HT: ("0x0303", "Discharge temperature high alarm."),
    Flag.A_DSG_LT: ("0x0304", "Discharge temperature low alarm."),
    Flag.A_COC: ("0x0401", "Charge current high alarm."),
    Flag.A_DOC: ("0x0402", "Discharge current high alarm."),
    Flag.P_CELL_OV: ("0x1101", "Battery over voltage protect."),
    Flag.P_CELL_UV: ("0x1102", "Battery under voltage protect."),
    Flag.P_PACK_OV: ("0x1201", "Power over voltage protect."),
    Flag.P_PACK_UV: ("0x1202", "Power under voltage protect."),
    Flag.P_COT: ("0x1301", "Charge over temperature protect."),
    Flag.P_CUT: ("0x1302", "Charge under temperature protect."),
    Flag.P_DOT: ("0x1303", "Discharge over temperature protect."),
    Flag.P_DUT: ("0x1304", "Discharge under temperature protect."),
    Flag.P_COC: ("0x1401", "Charge over current protect."),
    Flag.P_DOC: ("0x1402", "Discharge over current protect."),
    Flag.P_MOS_OT: ("0x1501", "MOS over temperature protect."),
    Flag.P_FAULT: ("0x1601", "BMIC communication error."),
}
"""BMS `log` entries. The real log's wording is only known for state changes ("The device start
charging.", "The coulomb of device is low." — ioBroker.pylontech data/log.txt [C]); the protection
texts and codes here are the simulator's own, in the same style [U]."""


class ThresholdArrays:
    """The thresholds of every module of a stack as arrays (M,), for vectorised evaluation."""

    def __init__(self, th: list[Thresholds]) -> None:
        for name in Thresholds.__dataclass_fields__:
            setattr(self, name, np.array([getattr(t, name) for t in th], dtype=float))

    def __getattr__(self, name: str) -> NDArray[np.float64]:  # typed access for mypy
        raise AttributeError(name)


_B = {f.name: int(f) for f in Flag}
_KEEP = _B["P_COC"] | _B["P_DOC"] | _B["P_FAULT"]


def evaluate(
    th: ThresholdArrays,
    flags: NDArray[np.int64],
    cell_max_mv: NDArray[np.float64],
    cell_min_mv: NDArray[np.float64],
    pack_mv: NDArray[np.float64],
    temp_max_mc: NDArray[np.float64],
    temp_min_mc: NDArray[np.float64],
    mos_mc: NDArray[np.float64],
    current_ma: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Flags for every step given the flags ``flags`` (M,) at the start and readings of shape (K, M).

    Trips and releases use the hysteresis of :class:`Thresholds`, relative to the flags at the
    start (the caller cuts the chunk at the first change). Over-current protection trips here and
    is released by time in the stack loop; system faults latch. Returns (K, M) int flags.
    """
    out = np.broadcast_to(flags & _KEEP, cell_max_mv.shape).copy()

    def hyst(bit: str, trip: NDArray[np.bool_], release: NDArray[np.bool_]) -> None:
        b = _B[bit]
        on = (flags & b) != 0
        out[...] |= np.where(on, ~release, trip) * b

    charging = current_ma > 500
    discharging = current_ma < -500
    margin = th.temp_release_margin_mc
    hyst("A_CELL_HV", cell_max_mv >= th.cell_hv_alarm_mv, cell_max_mv < th.cell_hv_release_mv)
    hyst("P_CELL_OV", cell_max_mv >= th.cell_ov_protect_mv, cell_max_mv < th.cell_ov_release_mv)
    hyst("A_CELL_LV", cell_min_mv <= th.cell_lv_alarm_mv, cell_min_mv > th.cell_lv_release_mv)
    hyst("P_CELL_UV", cell_min_mv <= th.cell_uv_protect_mv, cell_min_mv > th.cell_uv_release_mv)
    hyst("A_PACK_HV", pack_mv >= th.pack_hv_alarm_mv, pack_mv < th.pack_hv_alarm_mv - 1000)
    hyst("P_PACK_OV", pack_mv >= th.pack_ov_protect_mv, pack_mv < th.pack_ov_release_mv)
    hyst("A_PACK_LV", pack_mv <= th.pack_lv_alarm_mv, pack_mv > th.pack_lv_alarm_mv + 1000)
    hyst("P_PACK_UV", pack_mv <= th.pack_uv_protect_mv, pack_mv > th.pack_lv_alarm_mv)
    hyst(
        "A_CHG_HT",
        (temp_max_mc >= th.charge_ht_alarm_mc) & charging,
        temp_max_mc < th.charge_ht_alarm_mc - margin,
    )
    hyst(
        "P_COT",
        (temp_max_mc >= th.charge_ot_protect_mc) & charging,
        temp_max_mc < th.charge_ot_protect_mc - margin,
    )
    # the BMS blocks charge when cold whether or not a charge is asked for
    hyst("A_CHG_LT", temp_min_mc <= th.charge_lt_alarm_mc, temp_min_mc > th.charge_lt_alarm_mc + margin)
    hyst("P_CUT", temp_min_mc <= th.charge_ut_protect_mc, temp_min_mc > th.charge_ut_protect_mc + margin)
    hyst(
        "A_DSG_HT",
        (temp_max_mc >= th.discharge_ht_alarm_mc) & discharging,
        temp_max_mc < th.discharge_ht_alarm_mc - margin,
    )
    hyst(
        "P_DOT", temp_max_mc >= th.discharge_ot_protect_mc, temp_max_mc < th.discharge_ot_protect_mc - margin
    )
    hyst("A_DSG_LT", temp_min_mc <= th.discharge_lt_alarm_mc, temp_min_mc > th.discharge_lt_alarm_mc + margin)
    hyst(
        "P_DUT", temp_min_mc <= th.discharge_ut_protect_mc, temp_min_mc > th.discharge_ut_protect_mc + margin
    )
    hyst("P_MOS_OT", mos_mc >= th.mos_ot_protect_mc, mos_mc < th.mos_ot_protect_mc - 2 * margin)
    frac = th.oc_alarm_fraction
    hyst("A_COC", current_ma >= th.coc_protect_ma * frac, current_ma < th.coc_protect_ma * frac * 0.8)
    hyst("A_DOC", -current_ma >= th.doc_protect_ma * frac, -current_ma < th.doc_protect_ma * frac * 0.8)
    out |= (current_ma >= th.coc_protect_ma) * _B["P_COC"]
    out |= (-current_ma >= th.doc_protect_ma) * _B["P_DOC"]
    return out


@dataclass
class LogEntry:
    """One BMS event-log entry (`log`: Index / Time / ModID / Code / Info)."""

    time: datetime
    address: int
    code: str
    info: str
    mod_id: str = "BMM"
    cells: list[tuple[int, int, int]] | None = None
    """Snapshot for `data event`: per cell (mV, m°C, capacity % of nominal) at the event."""


@dataclass
class BmsRecord:
    """Counters and event log of one module's BMS."""

    counters: dict[str, int] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    last_state: str = "Idle"
    state_since: datetime | None = None


STAT_ORDER_B67 = [
    "Charge Cnt.",
    "Discharge Cnt.",
    "Charge Times",
    "Status Cnt.",
    "Idle Times",
    "COC Times",
    "COC2 Times",
    "DOC Times",
    "DOC2 Times",
    "COCA Times",
    "DOCA Times",
    "SC Times",
    "Bat OV Times",
    "Bat HV Times",
    "Bat LV Times",
    "Bat UV Times",
    "Bat SLP Times",
    "Pwr OV Times",
    "Pwr HV Times",
    "Pwr LV Times",
    "Pwr UV Times",
    "Pwr SLP Times",
    "COT Times",
    "CUT Times",
    "DOT Times",
    "DUT Times",
    "CHT Times",
    "CLT Times",
    "DHT Times",
    "DLT Times",
    "Shut Times",
    "Reset Times",
    "RV Times",
    "Input OV Times",
    "SOH Times",
    "BMICERR Times",
    "CYCLE Times",
    "SOH",
    "Pwr Percent",
    "Pwr Coulomb",
    "Dsg Cap",
    "HT@0.5C Cnt",
    "LT@0.5C Cnt",
    "HT Cnt",
    "LT Cnt",
    "LV Cnt",
    "LifeWarn Times",
    "LifeAlarm Times",
]
"""`stat` rows in the order B67.5.0 prints them (HRAB stat capture [C])."""


def initial_counters(rng: np.random.Generator, age_years: float, cycles: float, soh: int) -> dict[str, int]:
    """Plausible lifetime counters for a healthy module of this age (scaled from the real captures:
    US2000C CYCLE 666 with Shut 3256, Reset 35, Bat HV 25 — HRAB stat [C])."""
    days = max(age_years * 365.0, 1.0)
    c = dict.fromkeys(STAT_ORDER_B67, 0)
    c["CYCLE Times"] = int(cycles)
    c["Charge Times"] = int(cycles * 40 + rng.integers(0, 500))
    c["Discharge Cnt."] = int(days * 2 + rng.integers(0, 50))
    c["Charge Cnt."] = int(days * 2 + rng.integers(0, 50))
    c["Status Cnt."] = c["Discharge Cnt."] + c["Charge Cnt."]
    c["Idle Times"] = int(days * 3 + rng.integers(0, 80))
    c["Shut Times"] = int(days * 1.5 + rng.integers(0, 40))
    c["Reset Times"] = int(rng.integers(3, 40))
    c["Bat HV Times"] = int(rng.integers(0, 30))
    c["Pwr HV Times"] = int(c["Bat HV Times"] + rng.integers(0, 5))
    c["Pwr OV Times"] = int(rng.integers(0, max(2, c["Bat HV Times"])))
    c["Input OV Times"] = int(rng.integers(0, 6))
    c["SOH"] = soh
    c["Pwr Percent"] = min(100, soh + int(rng.integers(0, 2)))
    c["Pwr Coulomb"] = int(cycles * 50000 * 4.6 + rng.integers(0, 10000))
    c["Dsg Cap"] = int(cycles * 50000 + rng.integers(0, 10000))
    c["HisData Items"] = 1800
    c["Data Items"] = int(rng.integers(20, 200))
    c["MiscData Items"] = int(rng.integers(1000, 7000))
    return c
