"""Physics sanity of the simulated stack: sums, conservation, bounds, balancing, ageing."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from pylondiag.sim.cells import OCV_SOC, OCV_V, CellParams, ocv, soc_from_ocv
from pylondiag.sim.module import ModuleSpec
from pylondiag.sim.stack import BALANCE_CURRENT_A, Stack

START = datetime(2026, 6, 1, 12, 0)


def _stack(n: int = 4, model: str = "US2000C", soc: float = 0.5, seed: int = 1, **kw: object) -> Stack:
    mods = [ModuleSpec(i + 1, model, f"S{i}", date(2022, 1, 1), cycles=300) for i in range(n)]
    for k, v in kw.items():
        setattr(mods[0], k, v)
    return Stack(mods, seed=seed, start=START, ambient_c=20.0, soc=soc)


def test_ocv_curve_is_the_published_table_flat_in_the_middle_steep_at_the_ends() -> None:
    assert np.allclose(ocv(OCV_SOC), OCV_V)
    assert np.all(np.diff(ocv(np.linspace(0, 1, 500))) >= 0)
    plateau = float(ocv(np.array([0.8]))[0] - ocv(np.array([0.3]))[0])
    top = float(ocv(np.array([1.0]))[0] - ocv(np.array([0.98]))[0])
    assert plateau < 0.06 and top > 0.2
    assert np.allclose(soc_from_ocv(ocv(np.array([0.1, 0.5, 0.99]))), [0.1, 0.5, 0.99], atol=1e-6)


def test_old_modules_draw_wider_spreads_and_less_capacity() -> None:
    rng = np.random.default_rng(3)
    new = CellParams.draw(rng, np.full(200, 50.0), np.zeros(200), np.zeros(200))
    old = CellParams.draw(rng, np.full(200, 50.0), np.full(200, 8.0), np.full(200, 2000.0))
    assert old.capacity_ah.mean() < new.capacity_ah.mean() * 0.85
    assert old.capacity_ah.std(axis=1).mean() > 2 * new.capacity_ah.std(axis=1).mean()
    assert old.r_ohm.mean() > new.r_ohm.mean() * 1.2


def test_module_voltage_is_the_sum_of_its_cells_and_current_is_conserved() -> None:
    st = _stack(5)
    st.advance(np.full(5, 40.0), np.full(5, 20.0))
    assert st.current_a.sum() == pytest.approx(40.0, abs=1e-9)
    for i in range(5):
        r = st.reading(i)
        assert abs(r.voltage_mv - int(r.cell_mv.sum())) <= 8  # rounding of 15 cells
    st.advance(np.full(5, -30.0), np.full(5, 20.0))
    assert st.current_a.sum() == pytest.approx(-30.0, abs=1e-9)


def test_charge_is_conserved_in_every_cell() -> None:
    st = _stack(3, soc=0.5)
    for m in st.modules:
        m.self_discharge_per_day = {}
    st.cells.self_discharge_per_day[:] = 0.0
    before = (st.soc * st.cells.capacity_ah).copy()
    n = st.advance(np.full(30, 20.0), np.full(30, 20.0))
    moved = (st.soc * st.cells.capacity_ah - before).sum(axis=1)  # Ah per cell, summed over 15 cells
    # every cell of a module carries the module current: 15 × module Ah
    assert moved.sum() / 15 == pytest.approx(20.0 * n / 60.0, rel=1e-3)


def test_soc_stays_within_bounds_under_abuse() -> None:
    st = _stack(2, soc=0.05)
    for _ in range(50):
        st.advance(np.full(10, -200.0), np.full(10, 20.0))
    assert st.soc.min() >= 0.0
    st2 = _stack(2, soc=0.97)
    for _ in range(50):
        st2.advance(np.full(10, 200.0), np.full(10, 20.0))
    assert st2.soc.max() <= 1.015
    assert 0 <= st2.reading(0).soc_pct <= 100


def test_parallel_modules_share_current_by_resistance_and_equalise() -> None:
    st = _stack(2, soc=0.5)
    st.r_module[1] *= 2  # a module with twice the resistance takes about half the current
    st.advance(np.full(1, 30.0), np.full(1, 20.0))
    assert st.current_a[0] > 1.6 * st.current_a[1]
    st3 = _stack(2, soc=0.5)
    st3.soc[1] -= 0.2  # a low module is charged by the other at rest (no stack current)
    st3.advance(np.zeros(5), np.full(5, 20.0))
    assert st3.current_a[1] > 0 > st3.current_a[0]


def test_temperature_rises_with_i2r_towards_ambient_with_a_time_constant() -> None:
    st = _stack(1)
    st.advance(np.full(60, 60.0), np.full(60, 20.0))
    hot = float(st.temp_c[0])
    assert hot > 20.3
    for _ in range(60):
        st.advance(np.zeros(10), np.full(10, 20.0))
    assert abs(float(st.temp_c[0]) - 20.0) < abs(hot - 20.0) / 3


def _hold_at(st: Stack, hours: int, hold_a: float) -> tuple[float, int]:
    """Hold the module with a small charge current (the charger's float).

    Returns (spread narrowed, steps with a bleeder on)."""
    i = bled = 0
    spread0 = float(np.ptp(st.soc[0]))
    while i < hours * 60:
        i += st.advance(np.full(1, hold_a), np.full(1, 20.0))
        bled += int(st.balancing[0].any())
    return spread0 - float(np.ptp(st.soc[0])), bled


def test_balancing_narrows_a_spread_at_the_top_at_the_real_bleed_rate_and_not_mid_soc() -> None:
    top = _stack(1, soc=0.995, soc_offsets={3: -0.02})
    top.cells.self_discharge_per_day[:] = 0.0
    gained, bled = _hold_at(top, 10, BALANCE_CURRENT_A)
    cap = float(top.cells.capacity_ah[0].mean())
    expected = BALANCE_CURRENT_A * 10 / cap  # 50 mA for 10 h, as a fraction of capacity
    assert bled >= 10 * 60 * 0.9
    assert gained == pytest.approx(expected, rel=0.25)
    assert gained < 0.02  # ten hours remove only half of a 2 % offset: it takes days
    mid = _stack(1, soc=0.5, soc_offsets={3: -0.02})
    mid.cells.self_discharge_per_day[:] = 0.0
    gained_mid, bled_mid = _hold_at(mid, 10, BALANCE_CURRENT_A)
    assert bled_mid == 0 and abs(gained_mid) < 0.1 * expected  # only capacity-spread drift


def test_same_seed_same_stack() -> None:
    a, b = _stack(seed=9), _stack(seed=9)
    for st in (a, b):
        st.advance(np.full(20, 25.0), np.full(20, 18.0))
    assert np.array_equal(a.soc, b.soc) and np.array_equal(a.temp_c, b.temp_c)
    c = _stack(seed=10)
    assert not np.array_equal(a.cells.capacity_ah, c.cells.capacity_ah)
