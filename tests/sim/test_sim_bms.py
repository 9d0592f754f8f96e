"""BMS logic: trips at thresholds, releases at release values, the bank follows one module, counters, log."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from pylondiag.sim import bms
from pylondiag.sim.bms import Flag, Thresholds, thresholds_for
from pylondiag.sim.module import ModuleSpec
from pylondiag.sim.stack import Stack

TH = Thresholds()


def _eval(
    flags: int,
    *,
    cmax: float = 3300,
    cmin: float = 3300,
    pack: float = 49500,
    tmax: float = 25000,
    tmin: float = 25000,
    cur: float = 0,
) -> int:
    out = bms.evaluate(
        bms.ThresholdArrays([TH]),
        np.array([flags], dtype=np.int64),
        *(np.array([[v]], dtype=float) for v in (cmax, cmin, pack, tmax, tmin, 30000, cur)),
    )
    return int(out[0, 0])


def test_cell_over_voltage_trips_at_bov_and_releases_at_its_release_value() -> None:
    assert not _eval(0, cmax=TH.cell_ov_protect_mv - 1) & Flag.P_CELL_OV
    f = _eval(0, cmax=TH.cell_ov_protect_mv)
    assert f & Flag.P_CELL_OV and f & Flag.A_CELL_HV
    assert _eval(f, cmax=TH.cell_ov_release_mv) & Flag.P_CELL_OV  # still above release: held
    assert not _eval(f, cmax=TH.cell_ov_release_mv - 1) & Flag.P_CELL_OV


def test_cell_under_voltage_and_temperature_hysteresis() -> None:
    f = _eval(0, cmin=TH.cell_uv_protect_mv)
    assert f & Flag.P_CELL_UV
    assert _eval(f, cmin=TH.cell_uv_release_mv) & Flag.P_CELL_UV
    assert not _eval(f, cmin=TH.cell_uv_release_mv + 1) & Flag.P_CELL_UV
    cold = _eval(0, tmin=TH.charge_ut_protect_mc)
    assert cold & Flag.P_CUT
    assert _eval(cold, tmin=TH.charge_ut_protect_mc + 1000) & Flag.P_CUT
    assert not _eval(cold, tmin=TH.charge_ut_protect_mc + TH.temp_release_margin_mc + 1) & Flag.P_CUT


def test_thresholds_differ_per_model_as_the_domain_notes_say() -> None:
    assert thresholds_for("US5000").cell_ov_protect_mv == 3650
    assert thresholds_for("US2000").cell_ov_protect_mv == 3700
    assert thresholds_for("US2000").cell_uv_protect_mv == 2900
    assert thresholds_for("US5000").pack_uv_protect_mv == 43000


def _stack(n: int = 3, **first: object) -> Stack:
    mods = [ModuleSpec(i + 1, "US2000C", f"S{i}", date(2022, 1, 1)) for i in range(n)]
    for k, v in first.items():
        setattr(mods[1], k, v)
    return Stack(mods, seed=2, start=datetime(2026, 3, 1, 18, 0), ambient_c=20.0, soc=0.4)


def test_one_modules_under_voltage_stops_the_whole_bank_discharging() -> None:
    st = _stack(3, soc_offsets={4: -0.38})
    assert st.bms_limits()[1] > 0
    for _ in range(200):
        st.advance(np.full(5, -60.0), np.full(5, 20.0))
        if st.flags[1] & Flag.P_CELL_UV:
            break
    assert st.flags[1] & Flag.P_CELL_UV
    assert st.bms_limits()[1] == 0.0  # the master stops discharge for the bank
    rec = st.records[1]
    assert rec.counters["Bat UV Times"] == 1
    assert any("under voltage protect" in e.info for e in rec.log)
    assert st.base_state(1) == "Protect"


def test_over_current_trips_counts_and_recovers_after_its_delay() -> None:
    st = _stack(2)
    st.advance(np.full(1, -200.0), np.full(1, 20.0))  # 100 A each > 90 A DOC of a US2000C
    assert st.flags[0] & Flag.P_DOC and st.flags[1] & Flag.P_DOC
    assert st.records[0].counters["DOC Times"] == 1
    st.advance(np.zeros(1), np.full(1, 20.0))
    assert st.flags[0] & Flag.P_DOC  # held for oc_recovery_s
    st.advance(np.zeros(1), np.full(1, 20.0))
    assert not st.flags[0] & Flag.P_DOC


def test_a_system_fault_latches_protection_and_counts_bmic_errors() -> None:
    st = _stack(3, system_fault=1, bmic_errors_per_day=500.0)
    assert st.flags[1] & Flag.P_FAULT
    assert st.bms_limits() == (0.0, 0.0)
    for _ in range(20):
        st.advance(np.zeros(10), np.full(10, 20.0))
    assert st.records[1].counters.get("BMICERR Times", 0) > 0
    assert st.flags[1] & Flag.P_FAULT


def test_dip_bit_1_sets_the_rs485_rate_and_a_mismatch_cuts_the_inverter_off() -> None:
    from pylondiag.sim.inverter import Inverter, InverterSettings

    st = _stack(2)
    st.modules[0].dip = "1000"
    assert st.modules[0].rs485_baud == 9600 and st.modules[1].rs485_baud == 115200
    settings = InverterSettings(
        "sunsynk",
        "SUN-5K-SG03LP1-EU",
        "lithium",
        "00",
        rs485_baud=115200,
        battery_rs485_baud=st.modules[0].rs485_baud,
    )
    inv = Inverter(settings, np.full(10, -2000.0), np.zeros(10, dtype=bool))
    assert not settings.comms_ok
    assert not inv.current(st, 0, 5).any()  # no BMS data: the battery is not used
    inv.observe(st, talking_master=True)
    assert inv.events[0].code == "F58"
    settings.battery_rs485_baud = 115200
    assert settings.comms_ok and inv.current(st, 0, 5).min() < 0
