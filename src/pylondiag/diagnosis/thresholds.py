"""Every number a rule compares against, with its unit and its source in ``shared/domain/``.

Grades as in the domain notes: [C] console capture, [M] manual, [T] third party, [U] unverified.
Where a figure is [T]/[U] it is a named, documented parameter of the tool, not a Pylontech limit.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------- step 3: cells (validity envelope)
ENVELOPE_MIN_SOC_PCT: Final = 99
"""%: imbalance is judged only at the top of charge. LFP's flat plateau hides imbalance mid-SOC and
reaches well past 90 % (cells at ~3.35 V at 95 %); the top of charge reveals it and is where the
~50 mA passive balancers work (specs.md §1 VIC536 [T]; field_failures.md #6 GPollakDiener [C]: BAL=Y at
98-100 % SOC). A module the BMS calls 99-100 % full is at the top."""

ENVELOPE_MIN_CELL_MV: Final = 3400
"""mV: a reading whose highest cell is at or above this is past the plateau's knee — the top of charge
— whatever the SOC column says (GPollakDiener [C]: cells 3.37-3.47 V at 98-100 %; VIC536 [T]: full ≈
3.45-3.48 V; on the plateau cells sit at 3.30-3.35 V)."""

ENVELOPE_MAX_C_RATE: Final = 0.1
"""Fraction of rated capacity (C): above this current the spread includes IR sag/rise, not only state
of charge (SIMP [T] judges spread 'under light load'; 0.1 C = 5 A on a 50 Ah US2000C)."""

ENVELOPE_MIN_TEMP_MC: Final = 10_000
ENVELOPE_MAX_TEMP_MC: Final = 40_000
"""m°C: a 'sane' cell temperature window for judging spread; cold raises cell impedance and the BMS
limits charge near 0 °C (specs.md operating range charge 0-50 °C [T])."""

CELL_SPREAD_WARN_MV: Final = 50
"""mV: above this max-min spread at the top of charge a module is drifting apart → monitor. Tool
parameter: 30 mV is the imbalance line on the plateau (specs.md §1 SIMP, SERV [T]), but at the top of
charge healthy cells fan out more on the steep end of the curve — the BMS calls 99 % with cells at
3.450-3.480 V (VIC536 [T]), and healthy modules held full read 30-50 mV — so the warning starts at 50."""

CELL_SPREAD_FAULT_MV: Final = 60
"""mV: above this spread at the top of charge balancing is not keeping up → cell_imbalance, rebalance.
Tool parameter: SIMP [T] calls 50 mV a failed cell on the plateau; at the top the curve is steep, so a
few mV of healthy fan-out is added (field_failures.md #6: ≈80 mV is the real imbalance case; the
GPollakDiener module [C] reads 124-128 mV). weak_cell is reserved for divergence after a cycle."""

OUTLIER_MIN_MV: Final = 30
"""mV: a cell this far below (or above) the module median is named as an outlier cell."""

WEAK_CELL_MIN_HOURS: Final = 12.0
"""h: two top-of-charge readings at least this far apart give the balancers time to act
(~50 mA passive balancing, specs.md §1 VIC536 [T]; the GPollakDiener captures are ~22 h apart [C])."""

WEAK_CELL_IMPROVEMENT_MV: Final = 10
"""mV: after a rebalancing cycle, an outlier whose deficit shrank by at least this is improving
(cell_imbalance: rebalance again); otherwise the imbalance is back (weak_cell)."""

IMPEDANCE_REST_MAX_C: Final = 0.005
"""C-rate: a ``bat`` reading at or below this current (0.25 A on a 50 Ah module) is 'at rest'."""
IMPEDANCE_MIN_CHARGE_C: Final = 0.02
"""C-rate: a charge current at or above this (1 A on 50 Ah) shows each cell's resistance as a voltage rise
(GPollakDiener: 1.58 A on a US2000C [C])."""
IMPEDANCE_MIN_SOC_PCT: Final = 50
"""%: the rest reading must be in the upper half of charge, where a cell lower in charge sits on a flatter
part of the LFP curve than its neighbours (near empty the curve is steep and a low cell would rise more)."""
IMPEDANCE_MAX_GAP_H: Final = 2.0
"""h: a rest reading and a charge reading this close describe the same state of charge."""
IMPEDANCE_EXCESS_MV: Final = 40
"""mV: the low cell's rise under charge must exceed the other cells' median rise by at least this
(GPollakDiener cell 12: +158 vs +84 mV [C]); measurement noise between readings is a few mV."""
IMPEDANCE_RISE_FACTOR: Final = 1.4
"""The low cell's rise must also be at least this multiple of the others' median rise (GPollakDiener: 1.9)."""

WEAK_CELL_GROWTH_MV: Final = 10
"""mV: an outlier whose deficit below the median grew by at least this between two top-of-charge
readings ≥ 12 h apart 'keeps diverging' (spec: weak_cell). A deficit that merely stays is imbalance
the slow ~50 mA balancers have not finished with (cell_imbalance)."""

SAG_UNDER_LOAD_MV: Final = 50
"""mV: a cell that sags this far below the median under load but not at rest has high internal
resistance (field_failures.md #10, SIMP [T])."""

SAG_MIN_C_RATE: Final = 0.2
"""C: 'under load' for the sag rule."""

SAG_MIN_SOC_PCT: Final = 30
SAG_MAX_SOC_PCT: Final = 85
"""%: the sag rule reads the plateau only: near empty or full the LFP curve is steep and a cell with
less charge sags more for that reason alone (specs.md §1 SIMP: read spread at 20-80 %)."""

SAG_REST_MAX_MV: Final = 20
"""mV: the same cell at rest must be within this of the median for the sag rule."""

# ---------------------------------------------------------------- capacity
SOH_REPLACE_PCT: Final = 70
"""%: spec: capacity_fade is 'monitor while SOH ≥ 70 %, replace below that'; field_failures.md #11
(SIMP [T]): a cell coulomb below 70 % is failing."""

SOH_MONITOR_PCT: Final = 80
"""%: below this (and ≥ 70 %) the fade is worth watching: 'US3000C 6 000+ cycles to 80 %' (specs.md
§1 SIMP [T]). Healthy modules read 93-100 (HRAB stat [C])."""

OLD_MODULE_YEARS: Final = 4.0
"""years: cell imbalance is most common in modules 3-4+ years old (seed guide)."""

MODEL_CAPACITY_AH: Final[dict[str, float]] = {
    "US2000": 50.0,
    "US2000B": 50.0,
    "US2000C": 50.0,
    "US3000": 74.0,
    "US3000C": 74.0,
    "US5000": 100.0,
    "US5000-1C": 100.0,
}
"""Ah per module (specs.md §2: US2000/C 50 Ah [C], US3000/C 74 Ah [T/U], US5000 100 Ah [C])."""

DEFAULT_CAPACITY_AH: Final = 50.0
"""Ah assumed when the model is unknown (the most common module, US2000-class)."""

MODEL_CLASS: Final[dict[str, str]] = {
    "US2000": "50Ah",
    "US2000B": "50Ah",
    "US2000C": "50Ah",
    "US2KBPL": "50Ah",
    "US3000": "74Ah",
    "US3000C": "74Ah",
    "US5000": "100Ah",
    "US5000-1C": "100Ah",
}
"""Capacity class: modules of different classes must not share a stack (seed guide: 'mixing US3000C
with US5000 is not recommended'; spec example)."""

MODEL_GENERATION: Final[dict[str, int]] = {
    "US2000": 1,
    "US2000B": 1,
    "US2KBPL": 1,
    "US3000": 1,
    "US2000C": 2,
    "US3000C": 2,
    "US5000": 2,
    "US5000-1C": 3,
}
"""Newer = higher. The newest model must be the master (panel_dip.md §4 rule 2 [T]; field_failures #2)."""

# ---------------------------------------------------------------- inverter settings vs the stack
MAX_CHARGE_VOLTAGE_V: Final = 53.5
"""V: top of the charge-voltage range for US2000C/US3000C/US5000 (specs.md §2: 52.5-53.5 V [U]); the
BMS itself recommends 53.25 V (HRAB pwrsys [C]); field_failures #4: a float above the BMS's module
limit drives over-voltage protection."""

RECOMMENDED_CHARGE_VOLTAGE_V: Final = 53.25
"""V: the BMS's own recommendation (HRAB pwrsys [C])."""

RECOMMENDED_CURRENT_A: Final[dict[str, float]] = {
    "US2000": 25.0,
    "US2000B": 25.0,
    "US2000C": 25.0,
    "US3000": 37.0,
    "US3000C": 37.0,
    "US5000": 80.0,
    "US5000-1C": 80.0,
}
"""A per module, continuous charge (specs.md §2: US2000 25 A (0.5 C) [T]; US2000C 25 A [U] and pwrsys
recommends 25 A discharge [C]; US3000C 37 A [U]; US5000 80 A [U]). A stack of N supplies N x this."""

MAX_DISCHARGE_CURRENT_A: Final[dict[str, float]] = {
    "US2000": 100.0,
    "US2000B": 100.0,
    "US2000C": 90.0,
    "US3000": 100.0,
    "US3000C": 100.0,
    "US5000": 100.0,
    "US5000-1C": 100.0,
}
"""A per module: the BMS's own maximum discharge current (``info`` Max Dischg Curr: US2KBPL −100 A
[C DONV], US2000C ±90 A [C HRAB], US5000 ±100 A [C IOB]; US3000/C 100 A [U]). An inverter allowed to
draw more than N x this from N modules trips their discharge over-current protection."""

CAPACITY_MISMATCH_FRACTION: Final = 0.05
"""Inverter capacity setting more than 5 % away from the stack's rated Ah is a mismatch."""

# ---------------------------------------------------------------- temperature
OVER_TEMP_MC: Final = 50_000
"""m°C: top of the charge/discharge operating range (specs.md §2 TIPP [T]: charge 0…+50 °C)."""

HOT_SPOT_DELTA_MC: Final = 8_000
"""m°C: a module this much hotter than the median of its neighbours at similar current is the odd
one out (on_site_check), not the room. Tool parameter [U]."""

STACK_WIDE_MIN_MODULES: Final = 2
"""Modules: a temperature state is the surroundings' doing ("the whole stack hot with the room",
spec cause→action table) only when at least this many modules report it at once — and at least half
of those present. One hot module of two is a module much hotter than its neighbour (on-site check)."""

CHARGE_BLOCK_TEMP_MC: Final = 0
"""m°C: below 0 °C the BMS blocks charging (field_failures.md #5, Victron 45182 [T])."""

COLD_WARN_TEMP_MC: Final = 5_000
"""m°C: near the charge-block limit; charge current is reduced [U]."""

# ---------------------------------------------------------------- stat counters
LOW_SOC_ALARM_PCT: Final = 20
"""%: at or below this SOC a cell low-voltage *alarm* (not protection) is the BMS warning near the end of
discharge — the LFP curve falls steeply below ~20 % (specs.md §1: read spread at 20-80 %) — not a fault."""

COUNTER_RISE_MIN: Final = 1
"""A protect counter that rises by at least this between two ``stat`` readings of the same module is
active now (field_failures #3: 'Bat HV/OV counters climb')."""

LIFETIME_CELL_OV_WARN: Final = 10
"""Counts: a single ``stat`` reading with ``Bat OV Times`` (cell over-voltage *protection*) at least this
high is a lead on a module that keeps hitting its cell limit at the top of charge (field_failures #3).
Anchored on the real captures: a healthy US2000C reads 0 after 666 cycles (HRAB stat [C]); the chronic
top-end-imbalance US2KBPL reads 56 after 430 cycles (DONV stat [C]; console_fields.md). Tool parameter."""

LIFETIME_CELL_HV_PER_CYCLE_WARN: Final = 1.0
"""Alarms per full-equivalent cycle: ``Bat HV Times`` / ``CYCLE Times`` at or above this means the cell
high-voltage *alarm* fires on most charges (a high cell arriving first). Healthy HRAB: 25 / 666 = 0.04;
chronic DONV: 5832 / 430 = 13.6 ([C] both). Tool parameter between the two."""

LIFETIME_MIN_CYCLES: Final = 50
"""Cycles: below this a per-cycle alarm rate is not judged (a new module's first charges)."""
PLATEAU_MAX_MV: Final = 3350
"""mV: a cell resting at or below this is still on the LFP plateau, not full (ENVELOPE_MIN_CELL_MV's
sources: on the plateau cells sit at 3.30-3.35 V, full ≈ 3.45-3.48 V). A module at rest with one cell
full and another here holds a charge gap of several percent, not a few mV of fan-out."""

BALANCE_CURRENT_MA: Final = 50
"""mA: the most the BMS's passive balancers bleed per cell (specs.md §1 VIC536 [T]: BQ779xx, "at most
about 50 mA per cell"): 1.2 Ah a day, so a gap of several percent of 50-100 Ah takes days of holds."""


LIFETIME_SC_WARN: Final = 1
"""Counts: ``SC Times`` (short-circuit protection) should stay 0; any count means abuse or a wiring
fault worth an on-site look at the cables (console_fields.md, SIMP [D])."""

# ---------------------------------------------------------------- comparisons that set confidence
SIMILAR_CURRENT_MA: Final = 5000
"""mA: modules whose currents differ by less than this are "at the same current", so a temperature
difference between them is the module's own, not its load's (tool parameter [U]: 0.1 C of a 50 Ah
US2000C)."""

REST_CURRENT_MA: Final = 500
"""mA: below this a module is "at rest" for comparing a cell's voltage with and without load (tool
parameter [U]: 0.01 C of a 50 Ah US2000C, the BMS's own zero band is smaller)."""

THERMAL_STRONG_P_VALUE: Final = 1e-4
"""A clustering of trips in the coldest/hottest hours with a p-value below this (after the Bonferroni
correction) is near certain; above it, and still below the family's alpha, it is likely."""

# ---------------------------------------------------------------- mixed models: gauge drift
MIX_SOC_GAP_PCT: Final = 10
"""% SOC: in a mixed stack, modules whose SOC differ by at least this at the same voltage show the
gauge drift between generations (field_failures.md #2: 24 % vs 60 % at equal voltage in a US3000C +
US2000C stack, irekzielinski #32 [T]); below it the gap is ordinary."""

MIX_EQUAL_VOLTAGE_MV: Final = 100
"""mV: modules in one parallel stack whose voltages are within this are "at the same voltage" (the
cable drop between modules under a few amps is tens of mV; tool parameter [U])."""
