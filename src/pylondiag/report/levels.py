"""Reference levels drawn on the report's charts (not used to judge anything).

Cell levels in mV, temperatures in °C. Source: ``shared/domain/hardware/specs.md`` §2 and §3. Grades
there: the cell high/under limits come from the RS485 0x47 reply (US5000, TOM11 [C-ish]) and the
python-pylontech README (US2000 class, FRK [T]); the US3000C over-voltage level is a tool note
(SIMP [T]); the 3.55 V high-voltage *alarm* is UNVERIFIED [U] (staged 3.55/3.60 V in the same BMS
family on Force H2/SC). The charge window 0…50 °C is the US2000 operating range (TIPP [T]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class CellLevels:
    """Cell voltage alarm and protection levels of one model family, in mV."""

    family: str
    high_alarm_mv: int
    """BHV: cell high-voltage alarm."""
    over_protect_mv: int
    """BOV: cell over-voltage protection."""
    low_alarm_mv: int
    """BLV: cell low-voltage alarm."""
    under_protect_mv: int
    """BUV: cell under-voltage protection."""


US2000_LEVELS: Final = CellLevels("US2000 class", 3550, 3700, 3050, 2900)
"""BOV 3.70 V, BLV 3.05 V, BUV 2.90 V (FRK [T]); BHV 3.55 V [U]."""
US3000_LEVELS: Final = CellLevels("US3000 class", 3550, 3600, 3050, 2900)
"""BOV near 3.60 V (SIMP [T]); BLV/BUV as the US2000 class [U]; BHV 3.55 V [U]."""
US5000_LEVELS: Final = CellLevels("US5000", 3550, 3650, 3050, 2800)
"""BOV 3.65 V, BLV 3.05 V, BUV 2.80 V (TOM11 0x47 decode [C-ish]); BHV 3.55 V [U]."""
GENERIC_LEVELS: Final = CellLevels("unknown model", 3550, 3650, 3050, 2800)
"""When the model is not known: the US5000's levels (the best-sourced ones)."""

CHARGE_TEMP_MIN_C: Final = 0.0
"""Charging is blocked below 0 °C (TIPP [T]; Victron community 45182 [T])."""
CHARGE_TEMP_MAX_C: Final = 50.0
"""Upper end of the charge/discharge operating range (TIPP [T])."""


def cell_levels(model: str | None) -> CellLevels:
    """The levels for a model name as written in ``case.yaml`` (``US2000C``, ``US3000C``, ``US5000``...)."""
    name = (model or "").upper().replace(" ", "")
    if name.startswith("US5000"):
        return US5000_LEVELS
    if name.startswith("US3000"):
        return US3000_LEVELS
    if name.startswith(("US2000", "US2K")):
        return US2000_LEVELS
    return GENERIC_LEVELS
