"""What a scenario is: the stack as built, what was injected, what the owner saw, and its label.

A scenario builder returns a :class:`Setup`; :func:`simulate` runs it (stack + inverter), taking
console captures at the planned times through the same :class:`ConsoleSession` the emulator
serves. The label is the builder's statement of what it injected — never derived from a diagnosis.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from pylondiag.sim import bus as simbus
from pylondiag.sim.console.session import ConsoleSession, ConsoleView
from pylondiag.sim.inverter import Inverter, InverterSettings, daily_profile
from pylondiag.sim.module import ModuleSpec
from pylondiag.sim.stack import Stack

CHUNK_STEPS = 5
"""Default look-ahead; ``Stack.chunk_for`` then picks 1-20 steps (BMS transitions still cut a chunk)."""


@dataclass
class Label:
    """The expected answer (spec outcomes and cause codes); culprits are physical positions."""

    outcome: str
    primary_cause: str | None
    culprit_modules: list[int]

    def to_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "primary_cause": self.primary_cause,
            "culprit_modules": sorted(self.culprit_modules),
        }


@dataclass
class Capture:
    """A console capture: at ``at`` hours after the start, on the console of ``plugged``."""

    at_h: float
    filename: str
    commands: list[str]
    chain: int = 0
    plugged: int = 0
    """Index into the chain (0 = its master)."""


@dataclass
class Setup:
    name: str
    modules: list[ModuleSpec]
    """In link-chain order of the first chain (address order)."""
    chains: list[list[int]]
    start: datetime
    hours: float
    inverter: InverterSettings
    ambient: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    """Ambient °C for an array of hours since start."""
    label: Label
    initial_soc: float = 0.6
    pv_peak_w: float = 4000.0
    base_load_w: float = 350.0
    evening_w: float = 1500.0
    surge_w: float = 0.0
    surges_per_day: float = 0.0
    captures: list[Capture] = field(default_factory=list)
    site_location: str = "garage"
    symptoms: list[str] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    notes: str | None = None
    owner_led_words: dict[int, str] = field(default_factory=dict)
    """Position → LED word the owner reports, overriding what the simulation shows."""
    omit_leds: bool = False
    omit_charge_voltage: bool = False
    """The owner does not know the inverter's charge voltage: it drives the physics, not the case.yaml."""
    roles: dict[int, str] = field(default_factory=dict)
    """Position → role as wired/set; default master = chain masters."""
    dips: dict[int, str] = field(default_factory=dict)
    groups: dict[int, int] = field(default_factory=dict)
    write_console: bool = True
    write_inverter_log: bool = True
    write_stack: bool = True
    base_counters: list[dict[str, int]] = field(default_factory=list)
    soh_counts: list[list[int]] = field(default_factory=list)
    check: Callable[[SimResult], bool] | None = None
    """Did the injected fault manifest? (The builder retries with a stronger fault if not.)"""


@dataclass
class SimResult:
    setup: Setup
    stack: Stack
    inverter: Inverter
    consoles: dict[str, bytes]
    max_flags: NDArray[np.int64]
    """OR of every module's flags over the whole run."""
    min_cell_mv: NDArray[np.float64]
    max_temp_c: NDArray[np.float64]
    snapshots: list[Snapshot] = field(default_factory=list)
    states: dict[str, Stack] = field(default_factory=dict)
    """Capture file name → a copy of the stack when it was taken (only with ``keep_states``): the
    emulator can serve the stack as it was at a planned capture."""
    bus: dict[str, bytes] = field(default_factory=dict)
    """Bus captures taken with the master's console captures: ``can/<name>.log`` (``candump -l``) and
    ``rs485/<name>.txt`` (one poll round), relative path → bytes (``sim/bus.py``)."""


@dataclass
class Snapshot:
    """The stack as a console capture saw it (to check that an injected fault is visible)."""

    filename: str
    soc: NDArray[np.float64]
    """Mean cell SOC per module (0..1)."""
    cell_mv: NDArray[np.float64]
    current_a: NDArray[np.float64]


def simulate(setup: Setup, seed: int, *, keep_states: bool = False) -> SimResult:
    rng = np.random.default_rng([seed, 7])
    stack = Stack(
        setup.modules,
        seed=seed,
        start=setup.start,
        ambient_c=float(setup.ambient(np.array([0.0]))[0]),
        soc=setup.initial_soc,
    )
    minutes = int(setup.hours * 60)
    demand = daily_profile(
        rng,
        setup.start,
        minutes,
        pv_peak_w=setup.pv_peak_w,
        base_load_w=setup.base_load_w,
        evening_w=setup.evening_w,
    )
    surge = np.zeros(minutes, dtype=bool)
    if setup.surge_w and setup.surges_per_day:
        hod = ((setup.start.hour * 60 + np.arange(minutes)) / 60.0) % 24
        surge = (rng.random(minutes) < setup.surges_per_day / 600.0) & (hod > 7) & (hod < 22)
        demand = demand - np.where(surge, setup.surge_w, 0.0)
    setup.inverter.battery_rs485_baud = setup.modules[setup.chains[0][0]].rs485_baud
    inverter = Inverter(setup.inverter, demand, surge)
    ambient = setup.ambient(np.arange(minutes) / 60.0)
    captures = sorted(setup.captures, key=lambda c: c.at_h)
    consoles: dict[str, bytes] = {}
    bus_files: dict[str, bytes] = {}
    snapshots: list[Snapshot] = []
    max_flags = np.zeros(len(setup.modules), dtype=np.int64)
    min_cell = np.full(len(setup.modules), 5000.0)
    max_temp = np.full(len(setup.modules), -50.0)
    master_talks = setup.modules[setup.chains[0][0]].talking
    k = 0
    ci = 0
    states: dict[str, Stack] = {}
    while k < minutes:
        while ci < len(captures) and k >= int(captures[ci].at_h * 60):
            if keep_states:
                states[captures[ci].filename] = copy.deepcopy(stack)
            _take(setup, stack, captures[ci], consoles, snapshots, bus_files)
            ci += 1
        limit = min(minutes, int(captures[ci].at_h * 60)) if ci < len(captures) else minutes
        planned = inverter.planned_current(stack, k, min(CHUNK_STEPS, minutes - k))
        n = max(1, min(stack.chunk_for(planned), limit - k))
        i = inverter.current(stack, k, n)
        done = stack.advance(i, ambient[k : k + n])
        k += done
        inverter.observe(stack, master_talks)
        max_flags |= stack.flags
        min_cell = np.minimum(min_cell, stack.cell_mv().min(axis=1))
        max_temp = np.maximum(max_temp, stack.temp_c)
    while ci < len(captures):
        if keep_states:
            states[captures[ci].filename] = copy.deepcopy(stack)
        _take(setup, stack, captures[ci], consoles, snapshots, bus_files)
        ci += 1
    return SimResult(
        setup, stack, inverter, consoles, max_flags, min_cell, max_temp, snapshots, states, bus_files
    )


def _take(
    setup: Setup,
    stack: Stack,
    cap: Capture,
    consoles: dict[str, bytes],
    snapshots: list[Snapshot],
    bus_files: dict[str, bytes],
) -> None:
    snapshots.append(Snapshot(cap.filename, stack.soc.mean(axis=1), stack.cell_mv(), stack.current_a.copy()))
    chain = setup.chains[cap.chain]
    master = setup.modules[chain[cap.plugged]]
    view = ConsoleView(
        stack,
        chain,
        plugged=cap.plugged,
        clock_offset_s=[float(-3 * j) for j in range(len(setup.modules))],
        base_counters=setup.base_counters,
        soh_counts=setup.soh_counts,
    )
    session = ConsoleSession(view, master.spec.dialect, require_wakeup=False)
    header = (
        f"# captured {stack.time:%Y-%m-%d %H:%M} on the console of the module at position {master.position}\n"
    )
    out = header.encode() + session.banner()
    for c in cap.commands:
        out += session.run(c)
    consoles[cap.filename] = consoles.get(cap.filename, b"") + out
    if cap.plugged == 0 and cap.chain == 0:
        _take_bus(setup, stack, view, cap.filename, bus_files)


BUS_CAPTURE_S = 20
"""Seconds of CAN traffic written per bus capture (the battery's set once a second)."""
NEW_CAN_FIRMWARE = frozenset({"US5000", "US5000-1C"})
"""Masters of these models send the newer CAN set (0x35A/0x35F instead of 0x359/0x35C): the newer US5000
firmware of setfirelabs' capture (can.md §5); older models the V1.2 set."""


def _take_bus(setup: Setup, stack: Stack, view: ConsoleView, filename: str, out: dict[str, bytes]) -> None:
    """The same moment seen on the bus: 20 s of CAN (with the inverter's keep-alive when it talks to the
    battery) and one RS485 poll round of every address."""
    stem = filename.rsplit(".", 1)[0]
    fig = simbus.figures(view)
    ts = simbus.epoch(stack.time, "Europe/London")
    master = setup.modules[setup.chains[0][0]]
    gen: simbus.Generation = "v1.3" if master.model in NEW_CAN_FIRMWARE else "v1.2"
    rounds = [(ts + s, fig) for s in range(BUS_CAPTURE_S)]
    can_text = simbus.candump_log(rounds, generation=gen, inverter_answers=setup.inverter.comms_ok)
    out[f"can/{stem}.log"] = out.get(f"can/{stem}.log", b"") + can_text.encode()
    poll = simbus.rs485_log(simbus.Rs485Responder(view), len(view.chain), stack.time)
    out[f"rs485/{stem}.txt"] = out.get(f"rs485/{stem}.txt", b"") + poll.encode()


def hours_at(day: int, hour: float) -> float:
    return day * 24 + hour


def plus(start: datetime, h: float) -> datetime:
    return start + timedelta(hours=h)
