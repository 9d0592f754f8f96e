"""What a stack looks like right now, read from a case view: per module and per cell (pure).

Values come from the newest ``pwr`` table (module voltage, current, temperature, SOC, states, the
lowest/highest cell) and the newest ``bat N`` of each module (each cell's voltage, temperature and
``BAL`` flag); SOH from ``stat N`` (``SOH`` counter) or ``pwrsys``. Units are converted from the
console's mV / mA / m°C to V, A and °C (``docs/console-parser.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pylondiag.model.console import BatTable, PwrRow
from pylondiag.model.stack import CaseView

NORMAL_STATES = frozenset({"normal", "idle", "charge", "dischg", "discharge", "balance", "absent"})
"""``pwr`` state words that are not alarms (``Base.St`` working modes and ``Normal``)."""


@dataclass(frozen=True)
class CellState:
    cell: int
    voltage_v: float | None
    temperature_c: float | None
    balancing: bool | None


@dataclass(frozen=True)
class ModuleState:
    """One module as the newest readings show it."""

    address: int
    position: int | None
    model: str | None
    voltage_v: float | None = None
    current_a: float | None = None
    temperature_c: float | None = None
    soc_pct: int | None = None
    soh_pct: int | None = None
    cell_min_v: float | None = None
    cell_max_v: float | None = None
    base_state: str | None = None
    alarms: tuple[str, ...] = ()
    """The ``pwr`` states that are not normal, as ``Volt.St High`` (empty: no alarm)."""
    cells: tuple[CellState, ...] = ()

    @property
    def cell_spread_mv(self) -> int | None:
        """Highest minus lowest cell voltage, in mV (from ``bat N`` when read, else from ``pwr``)."""
        volts = [c.voltage_v for c in self.cells if c.voltage_v is not None]
        low, high = (min(volts), max(volts)) if volts else (self.cell_min_v, self.cell_max_v)
        if low is None or high is None:
            return None
        return round((high - low) * 1000)

    @property
    def balancing(self) -> bool | None:
        flags = [c.balancing for c in self.cells if c.balancing is not None]
        return any(flags) if flags else None


@dataclass(frozen=True)
class StackState:
    stack_id: str
    modules: tuple[ModuleState, ...] = field(default_factory=tuple)
    system_soc_pct: int | None = None
    system_soh_pct: int | None = None


def _v(mv: int | None) -> float | None:
    return None if mv is None else round(mv / 1000, 3)


def _c(mc: int | None) -> float | None:
    return None if mc is None else round(mc / 1000, 1)


def _alarms(row: PwrRow) -> tuple[str, ...]:
    named = (
        ("Volt.St", row.volt_state),
        ("Curr.St", row.curr_state),
        ("Temp.St", row.temp_state),
        ("B.V.St", row.cell_volt_state),
        ("B.T.St", row.cell_temp_state),
        ("MosTempSt", row.mos_temp_state),
        ("SysAlarm.St", row.system_alarm_state),
    )
    return tuple(f"{k} {v}" for k, v in named if v and v.strip().lower() not in NORMAL_STATES)


def _cells(table: BatTable | None) -> tuple[CellState, ...]:
    if table is None:
        return ()
    return tuple(CellState(c.cell, _v(c.voltage_mv), _c(c.temperature_mc), c.balancing) for c in table.cells)


def stack_state(view: CaseView, stack_id: str) -> StackState:
    """The newest state of every module that answered in the newest ``pwr``."""
    snap = view.latest_pwr()
    bats: dict[int, BatTable] = {}
    for reading in view.bat:  # in reading order: the newest wins
        if reading.address is not None:
            bats[reading.address] = reading.table
    soh: dict[int, int] = {}
    for st in view.stats:
        if st.address is not None and st.stat.soh_pct is not None:
            soh[st.address] = st.stat.soh_pct
    modules = []
    for row in snap.table.rows if snap else ():
        if row.absent:
            continue
        position = view.position_of(row.address)
        module = view.module(position) if position is not None else None
        modules.append(
            ModuleState(
                address=row.address,
                position=position,
                model=module.model if module else None,
                voltage_v=_v(row.voltage_mv),
                current_a=_v(row.current_ma),
                temperature_c=_c(row.temperature_mc),
                soc_pct=row.soc_pct,
                soh_pct=soh.get(row.address),
                cell_min_v=_v(row.cell_voltage_low_mv),
                cell_max_v=_v(row.cell_voltage_high_mv),
                base_state=row.base_state,
                alarms=_alarms(row),
                cells=_cells(bats.get(row.address)),
            )
        )
    system = view.pwrsys[-1].record if view.pwrsys else None
    return StackState(
        stack_id=stack_id,
        modules=tuple(modules),
        system_soc_pct=system.system_soc_pct if system else None,
        system_soh_pct=system.system_soh_pct if system else None,
    )
