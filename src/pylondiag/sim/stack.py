"""A stack of US modules in parallel on one DC bus: current sharing, heat, balancing, BMS.

Each module is 15 cells in series (:mod:`pylondiag.sim.cells`). Modules share the bus current by
their open-circuit voltage and resistance (a Thevenin source each: I_m = (V_bus − Voc_m) / R_m,
Σ I_m = I_stack). Temperature is one thermal node per module: ambient + I²R (+ balancing and fault
heat) through a thermal resistance, with time constant τ = R_th·C_th. Passive balancing bleeds
``BALANCE_CURRENT_A`` from high cells at the top of charge.

The integration is vectorised over time in chunks: the control inputs (current sharing
conductances, balancing switches, BMS limits) are held for a chunk of steps, SOC/voltage/temperature
are computed for every 1-minute step of it with numpy, and the chunk is cut at the first step
where a BMS alarm or protection changes, so no trip is missed or late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from pylondiag.sim import bms
from pylondiag.sim.bms import Flag
from pylondiag.sim.cells import CellParams, ocv
from pylondiag.sim.module import ModuleSpec

BALANCE_CURRENT_A = 0.05
"""Passive bleed per cell, ≈50 mA (BQ779xx, victronenergy/venus #536 via specs.md §1 [T])."""
BALANCE_ENABLE_MV = 3400
"""Balancing works only at the top of charge: some cell at or above this
(specs.md §1, field_failures #6) [U]."""
BALANCE_CELL_MIN_MV = 3365
BALANCE_DELTA_MV = 20
"""A cell bleeds when ≥ BALANCE_CELL_MIN_MV and ≥ lowest cell + BALANCE_DELTA_MV: fits every BAL Y/N
in the GPollakDiener captures (e.g. 3360 N / 3370 Y with the lowest at 3333 mV) [C, inferred]."""
EXTERNAL_R_OHM = 0.004
"""MOSFETs, shunt, busbars and link cables per module, Ω — assumption."""
THERMAL_TAU_S = 3.0 * 3600
"""Thermal time constant of a module in free air — assumption."""
BOARD_OFFSET_C = 3.0
"""BMS board (`Tempr`) above the cells at rest: real captures show Tempr 2–4 °C above Thigh [C]."""
SENSOR_GROUPS = ((0, 5), (5, 10), (10, 15))
"""`bat` temperatures repeat in groups of five cells (HRAB bat 1 [C])."""
FULL_CELL_MV = 3470
"""The master requests no more charge once a module's mean cell voltage reaches this (a US2000C
reads `Full` at 52437 mV ≈ 3.50 V a cell, HRAB pwr 2 [C]; Victron's 52.4 V holds 100 % [T])."""
TAPER_MV = 80
"""The charge-current request tapers to zero over this last window — assumption."""
TOP_SPREAD = 0.0002
TOP_SPREAD_PER_YEAR = 0.00004
"""Residual SOC spread (fraction, std-dev) between cells at the top in a healthy module — assumption."""
SHORT_CHUNK = 5
LONG_CHUNK = 60
"""Steps the controls are held for near thresholds / on the calm plateau (see :meth:`Stack.chunk_for`)."""
CONNECTED_MA = 500
"""Below this module current the BMS reports Idle — assumption."""


@dataclass
class ModuleReading:
    """What one module's BMS measures now (units in names). Used by the console emulator."""

    address: int
    position: int
    model: str
    cell_mv: NDArray[np.int64]
    cell_soc_pct: NDArray[np.int64]
    cell_coulomb_mah: NDArray[np.int64]
    cell_temp_mc: NDArray[np.int64]
    balancing: NDArray[np.bool_]
    voltage_mv: int
    current_ma: int
    board_temp_mc: int
    mos_temp_mc: int | None
    soc_pct: int
    base_state: str
    flags: int
    state_seconds: int
    system_fault: int


class Stack:
    """Live state of one group of modules on a DC bus."""

    def __init__(
        self,
        modules: list[ModuleSpec],
        *,
        seed: int,
        start: datetime,
        ambient_c: float = 20.0,
        soc: float | NDArray[np.float64] = 0.5,
    ) -> None:
        self.modules = modules
        self.rng = np.random.default_rng(seed)
        self.time = start
        m = len(modules)
        self.m = m
        ages = np.array([max((start.date() - mod.installed).days / 365.25, 0.0) for mod in modules])
        self.age_years = ages
        cycles = np.array([mod.cycles for mod in modules], dtype=float)
        nominal = np.array([mod.spec.nominal_ah for mod in modules])
        self.cells = CellParams.draw(self.rng, nominal, ages, cycles)
        for i, mod in enumerate(modules):
            for c, f in mod.capacity_factor.items():
                self.cells.capacity_ah[i, c] *= f
            for c, f in mod.r_factor.items():
                self.cells.r_ohm[i, c] *= f
            for c, v in mod.self_discharge_per_day.items():
                self.cells.self_discharge_per_day[i, c] = v
        # Cells start top-balanced (years of balancing at the top): each cell is the same Ah short of
        # full, so capacity differences show at the bottom, not the top. Residual spread grows with age.
        base = np.broadcast_to(np.asarray(soc, dtype=float), (m,))
        cap = self.cells.capacity_ah
        short_ah = ((1.0 - base) * cap.mean(axis=1))[:, None]
        noise = self.rng.normal(0, 1, (m, 15)) * (TOP_SPREAD + TOP_SPREAD_PER_YEAR * ages)[:, None]
        self.soc = 1.0 - short_ah / cap + noise
        for i, mod in enumerate(modules):
            for c, off in mod.soc_offsets.items():
                self.soc[i, c] += off
        self.soc = np.clip(self.soc, 0.0, 1.0)
        self.r_module = self.cells.r_ohm.sum(axis=1) + EXTERNAL_R_OHM
        cth = np.array([mod.spec.thermal_mass_j_per_k for mod in modules])
        self.c_th = cth
        self.r_th = THERMAL_TAU_S / cth * np.array([mod.thermal_resistance_factor for mod in modules])
        self.extra_heat_w = np.array([mod.extra_heat_w for mod in modules])
        self.temp_c = np.full(m, float(ambient_c))
        self.sensor_offset_c = self.rng.normal(0, 0.4, (m, len(SENSOR_GROUPS)))
        self.th = [bms.thresholds_for(mod.model) for mod in modules]
        self.th_arrays = bms.ThresholdArrays(self.th)
        self.flags = np.zeros(m, dtype=np.int64)
        self.system_fault = np.array([mod.system_fault for mod in modules], dtype=np.int64)
        self.flags[self.system_fault != 0] |= int(Flag.P_FAULT)
        self.oc_since: list[datetime | None] = [None] * m
        self.current_a = np.zeros(m)
        self.balancing = np.zeros((m, 15), dtype=bool)
        self.records = [bms.BmsRecord() for _ in modules]
        for rec in self.records:
            rec.state_since = start
        self.coulomb_ah = np.zeros(m)
        """Charge moved (|Ah|) since the start, for cycle counting."""

    # ------------------------------------------------------------------ readings
    def cell_mv(self) -> NDArray[np.float64]:
        return (ocv(self.soc) + self.current_a[:, None] * self.cells.r_ohm) * 1000.0

    def bms_limits(self) -> tuple[float, float]:
        """(charge limit A ≥ 0, discharge limit A ≥ 0) the master reports for the whole group.

        One module's protection for a direction stops that direction for the bank (as the
        real BMS does: field_failures #7); a cell near the top tapers the charge current.
        """
        talking = np.array([mod.talking for mod in self.modules])
        rec_chg = sum(abs(mod.spec.recommend_charge_ma) for mod in self.modules) / 1000.0
        rec_dsg = sum(abs(mod.spec.recommend_discharge_ma) for mod in self.modules) / 1000.0
        # the recommended charge current is low near full (US2000C: 10 A at 93 %, `pwrsys` [C]) and
        # higher mid-SOC; scale 2.5× below 90 % SOC — assumption
        mean_soc = float(self.soc.mean())
        if mean_soc < 0.9:
            rec_chg *= 2.5
        # the gauge works on the module voltage: the highest module's mean cell voltage decides
        vmean = float(self.cell_mv().mean(axis=1).max())
        taper = float(np.clip((FULL_CELL_MV - vmean) / TAPER_MV, 0.0, 1.0))
        chg = rec_chg * taper
        dsg = rec_dsg
        fl = self.flags[talking]
        if np.any(fl & int(bms.CHARGE_BLOCK | bms.FULL_BLOCK)):
            chg = 0.0
        if np.any(fl & int(bms.DISCHARGE_BLOCK | bms.FULL_BLOCK)):
            dsg = 0.0
        return chg, dsg

    def charge_voltage_v(self) -> float:
        """CVL the master recommends: 53.25 V (US2000C `pwrsys` [C])."""
        return 53.25

    # ------------------------------------------------------------------ integration
    def _conductance(self, charging: bool) -> NDArray[np.float64]:
        block = bms.CHARGE_BLOCK if charging else bms.DISCHARGE_BLOCK
        ok = (self.flags & int(block | bms.FULL_BLOCK)) == 0
        return np.where(ok, 1.0 / self.r_module, 0.0)

    def sharing(self, charging: bool, hours: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(effective conductance S, open-circuit voltage V) per module for a step of ``hours``.

        Backward-Euler on the OCV: a module's OCV moves by ``slope·I·h`` during the step, so the
        effective conductance is g / (1 + g·slope·h). This keeps the equalising currents between
        parallel modules stable on the steep ends of the LFP curve at any step length.
        """
        voc, slope = self._ocv_slope()
        g = self._conductance(charging)
        return g / (1.0 + g * slope * hours), voc

    def _ocv_slope(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Module OCV (V) and its slope against charge (V per Ah), from the cells."""
        d = 0.002
        slope = ((ocv(self.soc + d) - ocv(self.soc - d)) / (2 * d) / self.cells.capacity_ah).sum(axis=1)
        return ocv(self.soc).sum(axis=1), slope

    def charge_current_limit(self, v_target: float, hours: float) -> float:
        """Largest stack charge current (A) that keeps every module at or below ``v_target`` (V)
        at the end of a step of ``hours`` — the charger's constant-voltage phase.

        On the plateau the linear estimate is exact enough; near the steep top the candidates are
        checked against the OCV table itself (the curve bends up sharply above 99 %).
        """
        g, voc = self.sharing(True, hours)
        if g.sum() <= 0:
            return 0.0
        i_lin = max(float((g * (v_target - voc)).sum()), 0.0)
        if self.cell_mv().max() < BALANCE_ENABLE_MV - 30 or i_lin == 0.0:
            return i_lin
        cands = np.linspace(0.0, i_lin, 41)
        vbus = (cands + float((g * voc).sum())) / float(g.sum())
        i_m = (vbus[:, None] - voc[None, :]) * g[None, :]
        soc_end = self.soc[None] + i_m[:, :, None] * hours / self.cells.capacity_ah[None]
        v_end = ocv(soc_end).sum(axis=2) + i_m * self.r_module[None]
        ok = (v_end <= v_target + 1e-9).all(axis=1)
        return float(cands[ok].max()) if ok.any() else 0.0

    def chunk_for(self, planned_a: float) -> int:
        """How many 1-minute steps the controls may be held for, given the planned stack current (A).

        Single steps while charging into the steep top of the curve (the charge taper must follow
        the cells minute by minute); long chunks on the plateau with nothing near a threshold.
        """
        v = self.cell_mv()
        rated = float(sum(m.spec.nominal_ah for m in self.modules))
        if v.max() > BALANCE_ENABLE_MV - 30 and planned_a > 0:
            return 1 if planned_a > 0.02 * rated else SHORT_CHUNK
        calm = (
            v.min() > 3150 and not self.flags.any() and self.temp_c.min() > 5.0 and self.temp_c.max() < 40.0
        )
        if not calm:
            return SHORT_CHUNK
        if planned_a > 0:  # never charge past the knee of the curve inside one held chunk
            per_module = planned_a / self.m
            headroom_ah = (0.97 - float(self.soc.max())) * float(self.cells.capacity_ah.min())
            return int(np.clip(headroom_ah / per_module * 60.0, 1, LONG_CHUNK))
        return LONG_CHUNK

    def _update_balancing(self) -> None:
        v = self.cell_mv()
        top = v.max(axis=1) >= BALANCE_ENABLE_MV
        not_dsg = self.current_a > -CONNECTED_MA / 1000.0
        alive = (self.flags & int(bms.FULL_BLOCK)) == 0
        cand = (v >= BALANCE_CELL_MIN_MV) & (v >= v.min(axis=1, keepdims=True) + BALANCE_DELTA_MV)
        self.balancing = cand & (top & not_dsg & alive)[:, None]

    def advance(
        self, i_stack_a: NDArray[np.float64], ambient_c: NDArray[np.float64], dt_s: float = 60.0
    ) -> int:
        """Run up to ``len(i_stack_a)`` steps of ``dt_s``; stop after the first BMS transition.

        ``i_stack_a`` is the current the inverter pushes into the stack (+ charge, − discharge).
        Returns the number of steps done (≥ 1).
        """
        self._release_over_current()
        self._update_balancing()
        k = len(i_stack_a)
        i = np.asarray(i_stack_a, dtype=float)
        hours = k * dt_s / 3600.0
        voc, slope = self._ocv_slope()
        g_c, g_d = (
            g / (1.0 + g * slope * hours) for g in (self._conductance(True), self._conductance(False))
        )
        g = np.where((i >= 0)[:, None], g_c[None, :], g_d[None, :])  # (K, M)
        gsum = g.sum(axis=1)
        dead = gsum <= 0
        i = np.where(dead, 0.0, i)
        gsum = np.where(dead, 1.0, gsum)
        vbus = (i + (g * voc[None, :]).sum(axis=1)) / gsum
        i_m = np.where(dead[:, None], 0.0, (vbus[:, None] - voc[None, :]) * g)  # (K, M)
        cap = self.cells.capacity_ah
        bleed = self.balancing * BALANCE_CURRENT_A
        d_ah = (i_m[:, :, None] - bleed[None]) * (dt_s / 3600.0) - (
            self.cells.self_discharge_per_day * cap * dt_s / 86400.0
        )[None]
        soc_k = np.clip(self.soc[None] + np.cumsum(d_ah, axis=0) / cap[None], 0.0, 1.015)
        cell_v = (ocv(soc_k) + i_m[:, :, None] * self.cells.r_ohm[None]) * 1000.0  # (K, M, 15) mV
        heat = i_m**2 * self.r_module[None] + self.extra_heat_w[None] + bleed.sum(axis=1)[None] * 3.4
        t_ss = np.asarray(ambient_c, dtype=float)[:, None] + heat * self.r_th[None]
        alpha = np.exp(-dt_s / (self.r_th * self.c_th))  # (M,)
        temp = np.empty((k, self.m))
        t = self.temp_c
        for j in range(k):  # K is small (a chunk); the recurrence is cheap
            t = alpha * t + (1 - alpha) * t_ss[j]
            temp[j] = t
        sensor = temp[:, :, None] + self.sensor_offset_c[None]
        mos = temp + 1.0 + np.abs(i_m) * 0.05
        new_flags = bms.evaluate(
            self.th_arrays,
            self.flags,
            cell_v.max(axis=2),
            cell_v.min(axis=2),
            cell_v.sum(axis=2),
            sensor.max(axis=2) * 1000.0,
            sensor.min(axis=2) * 1000.0,
            mos * 1000.0,
            i_m * 1000.0,
        )
        changed = np.any(new_flags != self.flags[None], axis=1)
        n = int(np.argmax(changed)) + 1 if changed.any() else k
        last = n - 1
        self.soc = soc_k[last]
        self.temp_c = temp[last]
        self.current_a = i_m[last]
        self.coulomb_ah += np.abs(i_m[:n]).sum(axis=0) * dt_s / 3600.0
        self.time += timedelta(seconds=dt_s * n)
        self._apply_flags(new_flags[last])
        self._update_states()
        self._bmic_errors(dt_s * n)
        return n

    def _apply_flags(self, new: NDArray[np.int64]) -> None:
        rising = new & ~self.flags
        for i in np.nonzero(rising)[0]:
            rec = self.records[i]
            snap = self._event_snapshot(int(i))
            for bit in Flag:
                if rising[i] & bit:
                    name = bms.STAT_COUNTER.get(bit)
                    if name:
                        rec.counters[name] = rec.counters.get(name, 0) + 1
                    code, text = bms.LOG_TEXT[bit]
                    rec.log.append(bms.LogEntry(self.time, int(i) + 1, code, text, cells=snap))
                    if bit in (Flag.P_COC, Flag.P_DOC):
                        self.oc_since[i] = self.time
        self.flags = new.astype(np.int64)

    def _event_snapshot(self, i: int) -> list[tuple[int, int, int]]:
        """Per cell (mV, m°C, capacity as % of nominal) — what `data event` stores with an event;
        a cell's capacity below 70 % of nominal marks it failing (console_fields.md, SIMP [D])."""
        r = self.reading(i)
        nominal = self.modules[i].spec.nominal_ah
        cap = np.round(self.cells.capacity_ah[i] / nominal * 100).astype(int)
        return [(int(r.cell_mv[c]), int(r.cell_temp_mc[c]), int(cap[c])) for c in range(15)]

    def _release_over_current(self) -> None:
        for i, since in enumerate(self.oc_since):
            if since is not None and (self.time - since).total_seconds() >= self.th[i].oc_recovery_s:
                self.flags[i] &= ~int(Flag.P_COC | Flag.P_DOC)
                self.oc_since[i] = None

    def _bmic_errors(self, seconds: float) -> None:
        for i, mod in enumerate(self.modules):
            if mod.bmic_errors_per_day > 0:
                n = int(self.rng.poisson(mod.bmic_errors_per_day * seconds / 86400.0))
                if n:
                    rec = self.records[i]
                    rec.counters["BMICERR Times"] = rec.counters.get("BMICERR Times", 0) + n

    def base_state(self, i: int) -> str:
        if self.flags[i] & int(bms.PROTECT):
            return "Protect"
        if self.current_a[i] * 1000 > CONNECTED_MA:
            return "Charge"
        if self.current_a[i] * 1000 < -CONNECTED_MA:
            return "Dischg"
        return "Idle"  # balancing shows as Idle with BAL=Y (GPollakDiener captures [C])

    def _update_states(self) -> None:
        for i, rec in enumerate(self.records):
            st = self.base_state(i)
            plain = st
            if plain != rec.last_state:
                rec.last_state = plain
                rec.state_since = self.time
                if plain == "Charge":
                    rec.counters["Charge Cnt."] = rec.counters.get("Charge Cnt.", 0) + 1
                    rec.log.append(bms.LogEntry(self.time, i + 1, "0", "The device start charging."))
                elif plain == "Dischg":
                    rec.counters["Discharge Cnt."] = rec.counters.get("Discharge Cnt.", 0) + 1
                    rec.log.append(bms.LogEntry(self.time, i + 1, "0", "The device start discharging."))
                elif plain == "Idle":
                    rec.counters["Idle Times"] = rec.counters.get("Idle Times", 0) + 1
                rec.counters["Status Cnt."] = rec.counters.get("Status Cnt.", 0) + 1

    # ------------------------------------------------------------------ views
    def reading(self, i: int) -> ModuleReading:
        """The BMS's own measurements of module ``i`` (0-based) as integers, console units."""
        mod = self.modules[i]
        v = self.cell_mv()[i]
        cap = self.cells.capacity_ah[i]
        soc = np.clip(self.soc[i], 0.0, 1.0)
        temps = np.empty(15)
        for gi, (a, b) in enumerate(SENSOR_GROUPS):
            temps[a:b] = self.temp_c[i] + self.sensor_offset_c[i, gi]
        board = self.temp_c[i] + BOARD_OFFSET_C
        mos = self.temp_c[i] + 1.0 + abs(self.current_a[i]) * 0.05 if mod.spec.has_mos_sensor else None
        cell_soc = np.round(soc * 100).astype(np.int64)
        module_soc = int(np.clip(np.round(soc.mean() * 100), 0, 100))
        return ModuleReading(
            address=i + 1,
            position=mod.position,
            model=mod.model,
            cell_mv=np.round(v).astype(np.int64),
            cell_soc_pct=cell_soc,
            cell_coulomb_mah=np.round(soc * cap * 1000).astype(np.int64),
            cell_temp_mc=(np.round(temps * 10) * 100).astype(np.int64),
            balancing=self.balancing[i].copy(),
            voltage_mv=int(np.round(v.sum())),
            current_ma=int(np.round(self.current_a[i] * 1000)),
            board_temp_mc=int(np.round(board * 10) * 100),
            mos_temp_mc=None if mos is None else int(np.round(mos * 10) * 100),
            soc_pct=module_soc,
            base_state=self.base_state(i),
            flags=int(self.flags[i]),
            state_seconds=int((self.time - (self.records[i].state_since or self.time)).total_seconds()),
            system_fault=int(self.system_fault[i]),
        )

    def total_cycles(self, i: int) -> int:
        cap = self.modules[i].spec.nominal_ah
        return int(self.modules[i].cycles + self.coulomb_ah[i] / (2 * cap))
