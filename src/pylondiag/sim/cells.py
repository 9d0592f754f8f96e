"""LiFePO4 cell physics-lite: open-circuit voltage curve and per-cell parameter spreads.

OCV vs SOC: the published pseudo-OCV lookup table of the Lithium Werks APR18650M1B LFP cell
(C/32 charge-discharge, room temperature) from Sunil, Pattipati & Balasingam, "Piecewise Linear
Approximation of Battery Open-Circuit Voltage Characteristics Using Dynamic Programming",
IEEE Trans. Instrumentation and Measurement, 2025 (table in github.com/soorajsunil/Piecewise-Battery-OCV,
README, commit 0002eb53). Flat plateau 3.28-3.35 V between 30 % and 98 % SOC, steep ends.
LFP chemistry is the same in a Pylontech prismatic cell; only the capacity differs, so SOC is
normalised per cell.

Spreads (capacity, internal resistance, self-discharge) are assumptions, named here with units:
`shared/domain/hardware/specs.md` has no source for them (self-discharge "about 3 %/month" is [U]).
All arrays are numpy, shape ``(modules, 15)``; everything is deterministic for a given generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CELLS_PER_MODULE = 15
"""15 cells in series (specs.md §1, `info` → Cell Number : 15 [C])."""

# Sunil et al. 2025, Lithium Werks APR18650M1B (LFP) breakpoints: SOC (0..1) → OCV (V).
OCV_SOC = np.array([0.0, 0.0033, 0.0117, 0.0267, 0.0534, 0.0885, 0.2972, 0.9833, 0.9950, 1.0])
OCV_V = np.array([2.0102, 2.4177, 2.7405, 2.9299, 3.0872, 3.1942, 3.2772, 3.3511, 3.4180, 3.5981])
# Above 100 % of the cell's capacity the cell is being over-charged: voltage rises steeply
# (extrapolated at the slope of the last segment, capped at 3.9 V).
_SOC_EXT = np.concatenate([OCV_SOC, [1.01]])
_V_EXT = np.concatenate([OCV_V, [3.9]])

NEW_CAPACITY_SPREAD = 0.005
"""Relative std-dev of cell capacity in a new module (0.5 %) — assumption."""
CAPACITY_SPREAD_PER_YEAR = 0.0015
"""Extra relative capacity std-dev per year of age — assumption (wider for old modules)."""
NEW_R_MOHM = 0.9
"""Cell internal resistance of a new 50 Ah-class prismatic LFP cell, mΩ — assumption."""
R_SPREAD = 0.04
R_SPREAD_PER_YEAR = 0.02
SELF_DISCHARGE_PER_DAY = 0.001
"""Mean self-discharge, fraction of capacity per day (≈3 %/month, specs.md §1 [U])."""
SELF_DISCHARGE_SPREAD_PER_DAY = 0.00003
"""Cell-to-cell std-dev of self-discharge (fraction/day) in a new module; ×(1 + 0.3·years) — assumption."""
CYCLE_LIFE_TO_80PCT = 6000
"""US3000C "6 000+ cycles to 80 %" (specs.md §1 [T])."""
CALENDAR_FADE_PER_YEAR = 0.012
"""Calendar capacity fade per year — assumption."""


def ocv(soc: NDArray[np.float64]) -> NDArray[np.float64]:
    """Open-circuit voltage (V) of an LFP cell at state of charge ``soc`` (0..1, any shape)."""
    return np.asarray(np.interp(soc, _SOC_EXT, _V_EXT), dtype=np.float64)


def soc_from_ocv(volts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of :func:`ocv` on the monotonic table (V → 0..1)."""
    return np.asarray(np.interp(volts, _V_EXT, _SOC_EXT), dtype=np.float64)


def fade_fraction(age_years: NDArray[np.float64], cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Capacity lost (fraction) after ``age_years`` and ``cycles`` full-equivalent cycles."""
    return np.clip(CALENDAR_FADE_PER_YEAR * age_years + 0.2 * cycles / CYCLE_LIFE_TO_80PCT, 0.0, 0.6)


def resistance_growth(age_years: NDArray[np.float64], cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Multiplier on internal resistance from ageing (1.0 = new)."""
    return 1.0 + 0.04 * age_years + 0.5 * cycles / CYCLE_LIFE_TO_80PCT


@dataclass
class CellParams:
    """Per-cell parameters, arrays of shape ``(modules, 15)``."""

    capacity_ah: NDArray[np.float64]
    r_ohm: NDArray[np.float64]
    self_discharge_per_day: NDArray[np.float64]

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        nominal_ah: NDArray[np.float64],
        age_years: NDArray[np.float64],
        cycles: NDArray[np.float64],
    ) -> CellParams:
        """Draw cells for modules of the given nominal capacity (Ah), age (years) and cycle count."""
        m = nominal_ah.shape[0]
        shape = (m, CELLS_PER_MODULE)
        cap_sd = NEW_CAPACITY_SPREAD + CAPACITY_SPREAD_PER_YEAR * age_years
        fade = fade_fraction(age_years, cycles)
        # Pylontech cells are rated slightly above nameplate (`Total Coulomb` 50000 mAH on a 50 Ah module).
        cap = (nominal_ah * 1.02 * (1 - fade))[:, None] * (1 + rng.standard_normal(shape) * cap_sd[:, None])
        r_sd = R_SPREAD + R_SPREAD_PER_YEAR * age_years
        # Bigger modules have proportionally bigger cells: resistance scales with 50 Ah / capacity.
        r_base = NEW_R_MOHM * 1e-3 * (50.0 / nominal_ah) * resistance_growth(age_years, cycles)
        r = r_base[:, None] * (1 + np.abs(rng.standard_normal(shape)) * r_sd[:, None])
        sd_sd = SELF_DISCHARGE_SPREAD_PER_DAY * (1 + 0.3 * age_years)[:, None]
        sd = np.clip(SELF_DISCHARGE_PER_DAY + rng.standard_normal(shape) * sd_sd, 0.0002, None)
        return cls(capacity_ah=cap, r_ohm=r, self_discharge_per_day=sd)
