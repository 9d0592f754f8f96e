"""Bus captures (``can/``, ``rs485/``) → case facts.

RS485 per-module replies become the **same records as console output**, so every console rule reads
them: a 0x42 reply (cells, temperatures, current, SOC) is a ``bat N`` table and a ``pwr`` row, its 0x44
reply (states, protection bits) gives the row its state words (``Low``/``High`` at alarm level,
``Under``/``Over`` when Status1 says the pack protected itself). Replies to ``FF`` (the master answering
for its whole group) and polls of several addresses in a row make one ``pwr`` snapshot each; a single
address polled alone gives its ``bat`` table and state events only (a one-row ``pwr`` would read as
"the other modules are absent"). Console-style address = RS485 ADR − 1 (master ADR 2 = address 1,
``rs485.md`` §5).

Everything else — the BMS's requests and flags, alarm frames, module count, link health — goes to
:class:`~pylondiag.model.bus.BusFacts` (series keep changes only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Final

from pylondiag.casedir import bms_events
from pylondiag.evidence.can import CanLog, CanRecord, iter_can
from pylondiag.evidence.can import codec as can_ids
from pylondiag.evidence.rs485 import Rs485Log, Rs485Record, read_rs485
from pylondiag.evidence.rs485.payloads import (
    AlarmModule,
    AlarmReply,
    AnalogModule,
    AnalogReply,
    ErrorReply,
    Management,
    ManufacturerInfo,
    SerialNumber,
    SystemAlarm,
    SystemAnalog,
    SystemParameters,
)
from pylondiag.model.bus import (
    AlarmCondition,
    BmsFlags,
    BmsRequest,
    BusAlarm,
    BusFacts,
    BusLink,
    BusRef,
    ModuleCountReading,
    PackLimits,
    StackReading,
)
from pylondiag.model.console import (
    BatCell,
    BatTable,
    ConsoleCapture,
    ConsoleRecord,
    InfoRecord,
    Provenance,
    PwrRow,
    PwrTable,
    line_fields,
)
from pylondiag.model.event import BatteryEvent, EventKind, Severity

MAX_EPISODES: Final = 500
"""Changes kept per series per file (a flapping flag over a day would otherwise be thousands)."""
IDLE_CURRENT_A: Final = 0.1
"""A: below this magnitude the module is idle (0x44 Status3 uses the same 0.1 A, rs485.md §6.2)."""


# ---------------------------------------------------------------- shared: change series
@dataclass
class _Mark:
    line: int | None
    raw: str
    index: int | None
    time: datetime | None
    seconds: float | None

    def ref(self, source: str) -> BusRef:
        return BusRef(
            source=source,
            line=self.line,
            raw=self.raw,
            index=self.index,
            time=self.time,
            seconds=self.seconds,
        )


@dataclass
class _Episode:
    key: Any
    values: dict[str, Any]
    first: _Mark | CanRecord
    last: _Mark | CanRecord
    frames: int = 1


@dataclass
class _Series:
    """Consecutive equal values collapse into one episode."""

    episodes: list[_Episode] = field(default_factory=list)
    dropped: int = 0

    def see(self, key: object, values: dict[str, object], mark: _Mark | CanRecord) -> None:
        cur = self.episodes[-1] if self.episodes else None
        if cur is not None and cur.key == key:
            cur.last = mark
            cur.frames += 1
            return
        if len(self.episodes) >= MAX_EPISODES:
            self.dropped += 1
            return
        self.episodes.append(_Episode(key, values, mark, mark))


def _ref(source: str, m: _Mark | CanRecord) -> BusRef:
    """A frame's citation; CAN records are kept as read (no copy per frame) until one is cited."""
    if isinstance(m, CanRecord):
        return BusRef(source=source, line=m.line, raw=m.raw, index=m.index, time=m.time, seconds=m.timestamp)
    return m.ref(source)


def _refs(source: str, ep: _Episode) -> dict[str, object]:
    return {
        "ref": _ref(source, ep.first),
        "last": _ref(source, ep.last) if ep.frames > 1 else None,
        "frames": ep.frames,
    }


@dataclass
class _Flags:
    """Alarm/protection flags: one episode per flag from the frame it rose to the last frame it was up."""

    open: dict[str, _Episode] = field(default_factory=dict)
    done: list[tuple[str, _Episode]] = field(default_factory=list)

    def frame(self, active: Mapping[str, dict[str, Any]], mark: _Mark | CanRecord) -> None:
        for flag in list(self.open):
            if flag not in active:
                self.done.append((flag, self.open.pop(flag)))
        for flag, values in active.items():
            ep = self.open.get(flag)
            if ep is not None:
                ep.last = mark
                ep.frames += 1
            elif len(self.done) + len(self.open) < MAX_EPISODES:
                self.open[flag] = _Episode(flag, values, mark, mark)

    def all(self) -> list[tuple[str, _Episode]]:
        out = self.done + list(self.open.items())
        return sorted(out, key=lambda fe: (fe[1].first.line or 0, fe[1].first.index or 0))


# ---------------------------------------------------------------- CAN
CAN_FLAGS: Final[dict[str, tuple[str, AlarmCondition]]] = {
    "ProtCellOverVoltage": ("protection", "cell_over_voltage"),
    "ProtCellUnderVoltage": ("protection", "cell_under_voltage"),
    "ProtCellOverTemp": ("protection", "over_temperature"),
    "ProtCellUnderTemp": ("protection", "under_temperature"),
    "ProtDischargeOverCurrent": ("protection", "discharge_over_current"),
    "ProtChargeOverCurrent": ("protection", "charge_over_current"),
    "ProtSystemError": ("protection", "system_error"),
    "ProtSystemErrorAlt": ("protection", "system_error"),
    "AlarmCellHighVoltage": ("alarm", "cell_over_voltage"),
    "AlarmCellLowVoltage": ("alarm", "cell_under_voltage"),
    "AlarmCellHighTemp": ("alarm", "over_temperature"),
    "AlarmCellLowTemp": ("alarm", "under_temperature"),
    "AlarmDischargeHighCurrent": ("alarm", "discharge_over_current"),
    "AlarmChargeHighCurrent": ("alarm", "charge_over_current"),
    "AlarmInternalCommFail": ("alarm", "internal_comm"),
    "AlarmSystemAlt": ("alarm", "system_error"),
}
"""0x359 flags (can.md §3): protection bytes 0-1, alarm bytes 2-3. ``*Alt`` = ArminJo's bit 7 reading."""

CAN_35A: Final[dict[str, AlarmCondition]] = {
    "General": "general",
    "HighVoltage": "cell_over_voltage",
    "LowVoltage": "cell_under_voltage",
    "HighTemp": "over_temperature",
    "LowTemp": "under_temperature",
    "HighTempCharge": "over_temperature",
    "LowTempCharge": "under_temperature",
    "HighCurrent": "discharge_over_current",
    "HighChargeCurrent": "charge_over_current",
    "Contactor": "contactor",
    "ShortCircuit": "short_circuit",
    "BmsInternal": "system_error",
    "CellImbalance": "cell_imbalance",
}
"""0x35A (Victron/SMA convention, can.md §5): ``Alarm*`` = 2 is a protection, ``Warn*`` = 2 an alarm."""
ACTIVE_35A: Final = 2


@dataclass
class _CanState:
    source: str
    requests: _Series = field(default_factory=_Series)
    flags: _Series = field(default_factory=_Series)
    counts: _Series = field(default_factory=_Series)
    alarms: _Flags = field(default_factory=_Flags)
    link: dict[str, object] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)
    battery: int = 0
    heartbeat: int = 0
    alarm_frames: int = 0
    first: CanRecord | None = None
    last: CanRecord | None = None
    first_battery: CanRecord | None = None
    first_hb: CanRecord | None = None
    last_hb: CanRecord | None = None
    hb_gap: float | None = None
    soc: tuple[dict[str, float | int], CanRecord] | None = None
    measure: tuple[dict[str, float | int], CanRecord] | None = None
    manufacturer: str | None = None


def _can_frame(st: _CanState, rec: CanRecord) -> None:
    arb = rec.arbitration_id
    s = rec.decoded.signals
    mark = rec
    st.ids.add(arb)
    if st.first is None:
        st.first = mark
    st.last = mark
    if arb in can_ids.INVERTER_IDS:
        st.heartbeat += 1
        if st.last_hb is not None and st.last_hb.timestamp is not None and mark.timestamp is not None:
            gap = mark.timestamp - st.last_hb.timestamp
            st.hb_gap = gap if st.hb_gap is None else max(st.hb_gap, gap)
        st.first_hb = st.first_hb or mark
        st.last_hb = mark
        return
    st.battery += 1
    st.first_battery = st.first_battery or mark
    if arb == can_ids.LIMITS_ID:
        vals = {
            "charge_voltage_v": round(float(s["ChargeVoltageLimit"]), 2),
            "charge_current_a": round(float(s["ChargeCurrentLimit"]), 1),
            "discharge_current_a": round(abs(float(s["DischargeCurrentLimit"])), 1),
            "discharge_voltage_v": round(float(s["DischargeVoltageLimit"]), 2)
            if "DischargeVoltageLimit" in s
            else None,
        }
        st.requests.see(tuple(vals.values()), dict(vals), mark)
    elif arb == can_ids.FLAGS_ID:
        fl = {
            "charge_enable": bool(s["ChargeEnable"]),
            "discharge_enable": bool(s["DischargeEnable"]),
            "force_charge_1": bool(s["ForceChargeRequest1"]),
            "force_charge_2": bool(s["ForceChargeRequest2"]),
            "full_charge_request": bool(s["FullChargeRequest"]),
        }
        st.flags.see(tuple(fl.values()), dict(fl), mark)
    elif arb == can_ids.PROTECTION_ID:
        st.alarm_frames += 1
        active = {k: {"frame": "0x359"} for k in CAN_FLAGS if s.get(k)}
        st.alarms.frame(active, mark)
        count = int(s["ModuleCount"])
        st.counts.see(count, {"count": count}, mark)
    elif arb == can_ids.ALARMS_35A_ID:
        st.alarm_frames += 1
        active = {
            f"{prefix}{name}": {"frame": "0x35A"}
            for prefix in ("Alarm", "Warn")
            for name in CAN_35A
            if s.get(f"{prefix}{name}") == ACTIVE_35A
        }
        st.alarms.frame(active, mark)
    elif arb == can_ids.SOC_ID:
        st.soc = (s, mark)
    elif arb == can_ids.MEASURE_ID:
        st.measure = (s, mark)
    elif arb == can_ids.MANUFACTURER_ID:
        st.manufacturer = rec.decoded.data.decode("ascii", "replace").strip(" \x00") or None


def _level_condition(flag: str) -> tuple[str, AlarmCondition]:
    if flag in CAN_FLAGS:
        return CAN_FLAGS[flag]
    level = "protection" if flag.startswith("Alarm") else "alarm"
    return level, CAN_35A[flag.removeprefix("Alarm").removeprefix("Warn")]


def read_can_case(data: bytes, rel: str) -> tuple[BusFacts, list[str]]:
    """A CAN capture → bus facts, and the reader's warnings as text (first few, with line numbers)."""
    log = CanLog(rel)
    st = _CanState(rel)
    for rec in iter_can(data, log):
        _can_frame(st, rec)
    facts = BusFacts(
        links=[_can_link(st, log)],
        requests=[BmsRequest(kind="can", **ep.values, **_refs(rel, ep)) for ep in st.requests.episodes],
        flags=[BmsFlags(kind="can", **ep.values, **_refs(rel, ep)) for ep in st.flags.episodes],
        alarms=[
            BusAlarm(
                kind="can",
                frame=str(ep.values["frame"]),
                level=_level_condition(flag)[0],
                condition=_level_condition(flag)[1],
                flag=flag,
                **_refs(rel, ep),
            )
            for flag, ep in st.alarms.all()
        ],
        module_counts=[
            ModuleCountReading(kind="can", count=int(ep.key), **_refs(rel, ep)) for ep in st.counts.episodes
        ],
        stack=_can_stack(st),
    )
    return facts, [f"line {w.line}: {w.message}" if w.line else w.message for w in log.warnings]


def _can_stack(st: _CanState) -> list[StackReading]:
    if st.measure is None and st.soc is None:
        return []
    m = st.measure[0] if st.measure else {}
    so = st.soc[0] if st.soc else {}
    mark = (st.measure or st.soc)[1]  # type: ignore[index]
    return [
        StackReading(
            kind="can",
            voltage_v=m.get("StackVoltage"),
            current_a=m.get("StackCurrent"),
            temperature_c=m.get("Temperature"),
            soc_pct=so.get("StateOfCharge"),
            soh_pct=so.get("StateOfHealth"),
            ref=_ref(st.source, mark),
        )
    ]


def _can_link(st: _CanState, log: CanLog) -> BusLink:
    span = None
    if st.first and st.last and st.first.timestamp is not None and st.last.timestamp is not None:
        span = st.last.timestamp - st.first.timestamp
    src = st.source
    return BusLink(
        source=src,
        kind="can",
        shape=log.shape,
        frames=log.frames,
        battery_frames=st.battery,
        inverter_frames=st.heartbeat,
        ids=[f"0x{i:03X}" for i in sorted(st.ids)],
        alarm_frames=st.alarm_frames,
        first=_ref(src, st.first) if st.first else None,
        last=_ref(src, st.last) if st.last else None,
        first_battery=_ref(src, st.first_battery) if st.first_battery else None,
        first_heartbeat=_ref(src, st.first_hb) if st.first_hb else None,
        last_heartbeat=_ref(src, st.last_hb) if st.last_hb else None,
        heartbeat_gap_s=st.hb_gap,
        span_s=span,
        manufacturer=st.manufacturer,
        warnings=log.warning_count,
    )


# ---------------------------------------------------------------- RS485
def console_address(adr: int) -> int:
    """RS485 ADR → console address within the group (master ADR 2 → 1; rs485.md §5)."""
    n = adr & 0x0F
    return n - 1 if n >= 2 else max(n, 1)


def _prov(source: str, rec: Rs485Record) -> Provenance:
    return Provenance(source=source, line=rec.line, raw=rec.raw)


def _base_state(current_a: float, alarm: AlarmModule | None) -> str:
    if alarm is not None and alarm.status[0]:
        return "Protect"
    if current_a > IDLE_CURRENT_A:
        return "Charge"
    if current_a < -IDLE_CURRENT_A:
        return "Dischg"
    return "Idle"


def _word(code: int, protect_low: bool = False, protect_high: bool = False) -> str:
    """0x44 state code → console-style word (Low/High alarm, Under/Over protection)."""
    if code == 0:
        return "Normal"
    if code == 1:
        return "Under" if protect_low else "Low"
    if code == 2:
        return "Over" if protect_high else "High"
    return "Normal"  # 0xF0 "other error" is carried by the system alarm state


def _worst(codes: tuple[int, ...]) -> int:
    for c in (1, 2):
        if c in codes:
            return c
    return 0


def _states(a: AlarmModule | None) -> dict[str, str | None]:
    if a is None:
        return {}
    s1 = a.status[0]
    cells = _worst(a.cell_states)
    temps = _worst(a.temp_states)
    curr = "Normal"
    if a.discharge_current_state == 2 or s1 & 0x10:
        curr = "Dsg Over" if s1 & 0x10 else "Dsg High"
    elif a.charge_current_state == 2 or s1 & 0x04:
        curr = "Over" if s1 & 0x04 else "High"
    other = 0xF0 in (*a.cell_states, *a.temp_states) or bool(a.cell_errors)
    cell_ov = bool(a.cell_errors) or (cells == 2 and bool(s1 & 0x01))  # a cell above its limit + OV protect
    return {
        "cell_volt_state": _word(cells, protect_low=bool(s1 & 0x02), protect_high=cell_ov),
        "volt_state": _word(
            a.module_voltage_state, protect_low=bool(s1 & 0x80), protect_high=bool(s1 & 0x01)
        ),
        "temp_state": _word(temps, protect_high=bool(s1 & 0x60)),
        "curr_state": curr,
        "system_alarm_state": "Error" if other else "Normal",
    }


def _bms_fault(address: int, prov: Provenance, time: datetime | None) -> BatteryEvent:
    """0x44 item state 0xF0 "other error" (rs485.md §6.2): the BMS reports a fault of its own."""
    return BatteryEvent(
        time=time,
        origin="bms",
        code="0x44 state F0",
        text=f"address {address} reports an item in 'other error' (0xF0) on RS485",
        kind=EventKind.BMS_FAULT,
        severity=Severity.FAULT,
        module_address=address,
        provenance=prov,
    )


def _cell_temp(m: AnalogModule, cell: int) -> float | None:
    """Cells 1-4 → sensor 1, 5-8 → 2, 9-12 → 3, 13-16 → 4 (rs485.md §6.1)."""
    k = 1 + (cell - 1) // 4
    return m.temps_c[k] if k < len(m.temps_c) else None


def _mc(c: float | None) -> int | None:
    return None if c is None else round(c * 1000)


def _bat(address: int, m: AnalogModule, a: AlarmModule | None, prov: Provenance) -> BatTable:
    soc = m.soc_pct
    base = _base_state(m.current_a, a)
    cells = tuple(
        BatCell(
            cell=i,
            voltage_mv=mv,
            current_ma=round(m.current_a * 1000),
            temperature_mc=_mc(_cell_temp(m, i + 1)),
            base_state=base,
            volt_state=_word(a.cell_states[i]) if a is not None and i < len(a.cell_states) else None,
            soc_pct=soc,
            coulomb_mah=m.remaining_mah,
            **line_fields(prov),
        )
        for i, mv in enumerate(m.cells_mv)
    )
    return BatTable(address=address, columns=("Volt", "Curr", "Tempr", "SOC"), cells=cells, provenance=prov)


def _row(address: int, m: AnalogModule | None, a: AlarmModule | None, prov: Provenance) -> PwrRow:
    extra: dict[str, object] = {}
    if m is not None:
        cells = list(m.cells_mv)
        ctemps = [t for t in m.temps_c[1:5]]
        extra = {
            "voltage_mv": m.voltage_mv,
            "current_ma": round(m.current_a * 1000),
            "temperature_mc": _mc(m.temps_c[0]) if m.temps_c else None,
            "soc_pct": m.soc_pct,
        }
        if cells:
            extra |= {
                "cell_voltage_low_mv": min(cells),
                "cell_voltage_high_mv": max(cells),
                "cell_voltage_low_id": cells.index(min(cells)),
                "cell_voltage_high_id": cells.index(max(cells)),
            }
        if ctemps:
            extra |= {"cell_temp_low_mc": _mc(min(ctemps)), "cell_temp_high_mc": _mc(max(ctemps))}
    base = _base_state(m.current_a if m else 0.0, a)
    return PwrRow(address=address, base_state=base, **_states(a), **extra, **line_fields(prov))


@dataclass
class _Round:
    """One poll round: per address, the 0x42 and 0x44 records (with their lines)."""

    analog: dict[int, tuple[AnalogModule, Rs485Record]] = field(default_factory=dict)
    alarm: dict[int, tuple[AlarmModule, Rs485Record]] = field(default_factory=dict)
    whole_group: bool = False
    silent: set[int] = field(default_factory=set)
    silent_polls: set[tuple[int, int]] = field(default_factory=set)
    first: Rs485Record | None = None

    def empty(self) -> bool:
        return not (self.analog or self.alarm or self.silent)


@dataclass
class _Rs485State:
    source: str
    tz: tzinfo
    captures: list[ConsoleCapture] = field(default_factory=list)
    events: list[BatteryEvent] = field(default_factory=list)
    infos: list[ConsoleRecord] = field(default_factory=list)
    requests: _Series = field(default_factory=_Series)
    flags: _Series = field(default_factory=_Series)
    counts: _Series = field(default_factory=_Series)
    alarms: _Flags = field(default_factory=_Flags)
    limits: list[PackLimits] = field(default_factory=list)
    stack: list[StackReading] = field(default_factory=list)
    answering: set[int] = field(default_factory=set)
    silent: set[int] = field(default_factory=set)
    round: _Round = field(default_factory=_Round)


def _aware(t: datetime | None, tz: tzinfo) -> datetime | None:
    return t if t is None or t.tzinfo is not None else t.replace(tzinfo=tz)


def _flush(st: _Rs485State) -> None:
    r = st.round
    st.round = _Round()
    if r.empty() or r.first is None:
        return
    addresses = sorted(set(r.analog) | set(r.alarm) | r.silent)
    records: list[ConsoleRecord] = []
    time = _aware(r.first.time, st.tz)
    rows: list[PwrRow] = []
    for addr in addresses:
        m, mrec = r.analog.get(addr, (None, None))
        a, arec = r.alarm.get(addr, (None, None))
        if m is None and a is None:
            rows.append(PwrRow(address=addr, absent=True, **line_fields(_prov(st.source, r.first))))
            continue
        # state words cite the 0x44 line when it says something; the readings the 0x42 line
        states_say = a is not None and any(v not in ("Normal", None) for v in _states(a).values())
        cite_rec = arec if states_say or mrec is None else mrec
        assert cite_rec is not None
        prov = _prov(st.source, cite_rec)
        row = _row(addr, m, a, prov)
        rows.append(row)
        if m is not None and mrec is not None:
            records.append(_bat(addr, m, a, _prov(st.source, mrec)))
    whole = r.whole_group or len(addresses) > 1
    if whole:
        table = PwrTable(
            columns=("Power", "Volt", "Curr"), rows=tuple(rows), provenance=_prov(st.source, r.first)
        )
        records.insert(0, table)
    else:
        for row in rows:
            if not row.absent:
                st.events.extend(bms_events.from_pwr_row(row, time))
    for addr, (a, arec) in r.alarm.items():
        if 0xF0 in (*a.cell_states, *a.temp_states):
            st.events.append(_bms_fault(addr, _prov(st.source, arec), time))
    if records:
        st.captures.append(ConsoleCapture(source=st.source, records=tuple(records), captured_at=time))


def _rs485_reply(st: _Rs485State, rec: Rs485Record) -> None:
    c = rec.content
    src = st.source
    addr = console_address(rec.adr)
    mark = _Mark(rec.line, rec.raw, None, _aware(rec.time, st.tz), None)
    if isinstance(c, AnalogReply | AlarmReply):
        group = c.all_modules or (c.command == 0xFF)
        items = c.modules
        targets = list(range(1, len(items) + 1)) if group or len(items) > 1 else [addr]
        bucket = st.round.analog if isinstance(c, AnalogReply) else st.round.alarm
        if any(t in bucket for t in targets):
            _flush(st)
            bucket = st.round.analog if isinstance(c, AnalogReply) else st.round.alarm
        if st.round.first is None:
            st.round.first = rec
        st.round.whole_group |= group
        for t, item in zip(targets, items, strict=False):
            bucket[t] = (item, rec)  # type: ignore[assignment]
            st.answering.add(t)
        if group:
            st.counts.see(len(items), {"count": len(items)}, mark)
        if isinstance(c, AlarmReply):
            active = {
                f"{name}@{t}": {"name": name, "address": t}
                for t, item in zip(targets, items, strict=False)
                if isinstance(item, AlarmModule)
                for name in item.protections
            }
            st.alarms.frame(active, mark)
    elif isinstance(c, Management):
        vals: dict[str, object] = {
            "scope": "stack" if c.command is None else "module",
            "address": None if c.command is None else addr,
            "charge_voltage_v": c.charge_voltage_mv / 1000,
            "charge_current_a": abs(c.charge_current_a),
            "discharge_current_a": abs(c.discharge_current_a),
            "discharge_voltage_v": c.discharge_voltage_mv / 1000,
        }
        st.requests.see(tuple(vals.values()), vals, mark)
        fl: dict[str, object] = {
            "address": vals["address"],
            "charge_enable": c.charge_enable,
            "discharge_enable": c.discharge_enable,
            "force_charge_1": c.force_charge_1,
            "force_charge_2": c.force_charge_2,
            "full_charge_request": c.full_charge_request,
        }
        st.flags.see(tuple(fl.values()), fl, mark)
    elif isinstance(c, SystemParameters):
        st.limits.append(
            PackLimits(
                address=addr,
                cell_high_mv=c.cell_high_mv,
                cell_under_mv=c.cell_under_mv,
                module_high_mv=c.module_high_mv,
                module_under_mv=c.module_under_mv,
                charge_current_a=c.charge_current_a,
                discharge_current_a=abs(c.discharge_current_a),
                ref=mark.ref(src),
            )
        )
    elif isinstance(c, SystemAnalog):
        st.stack = [
            StackReading(
                kind="rs485",
                voltage_v=c.voltage_mv / 1000,
                soc_pct=c.soc_pct,
                soh_pct=c.min_soh_pct,
                temperature_c=c.temps_c.get("cell_avg"),
                ref=mark.ref(src),
            )
        ]
    elif isinstance(c, SystemAlarm):
        active = {
            f"{which}:{name}": {"name": name, "which": which}
            for which in ("protect1", "protect2", "alarm1", "alarm2")
            for name in c.names(which)
        }
        st.alarms.frame(active, mark)
    elif isinstance(c, ManufacturerInfo | SerialNumber):
        prov = _prov(src, rec)
        if isinstance(c, ManufacturerInfo):
            ver = f"V{c.software_version[0]}.{c.software_version[1]}"
            st.infos.append(
                InfoRecord(address=addr, device_name=c.device_name, manufacturer=c.manufacturer,
                           soft_version=ver, provenance=prov)
            )  # fmt: skip
        else:
            st.infos.append(InfoRecord(address=console_address(c.command), barcode=c.serial, provenance=prov))


RS485_ALARMS: Final[dict[str, AlarmCondition]] = {
    "module under-voltage": "cell_under_voltage",
    "cell under-voltage": "cell_under_voltage",
    "module over-voltage": "cell_over_voltage",
    "charge over-temperature": "over_temperature",
    "discharge over-temperature": "over_temperature",
    "discharge over-current": "discharge_over_current",
    "charge over-current": "charge_over_current",
    "pack high voltage": "cell_over_voltage",
    "pack low voltage": "cell_under_voltage",
    "cell high voltage": "cell_over_voltage",
    "cell low voltage": "cell_under_voltage",
    "cell high temperature": "over_temperature",
    "cell low temperature": "under_temperature",
    "cell voltage difference": "cell_imbalance",
    "temperature sensor difference": "system_error",
    "internal comm": "internal_comm",
    "other": "system_error",
}
"""Bus-level alarm names of 0x44 Status1 and 0x62 (rs485.md §6.2, §7) → conditions."""


def _rs485_alarm(flag: str, ep: _Episode, src: str) -> BusAlarm | None:
    name = str(ep.values["name"])
    cond = RS485_ALARMS.get(name)
    if cond is None:
        return None
    which = str(ep.values.get("which", "status1"))
    level = "alarm" if which.startswith("alarm") else "protection"
    return BusAlarm(
        kind="rs485",
        frame="0x62" if "which" in ep.values else "0x44",
        level=level,
        condition=cond,
        flag=flag,
        verified="which" not in ep.values,
        address=ep.values.get("address"),
        **_refs(src, ep),
    )


def read_rs485_case(
    data: bytes, rel: str, tz: tzinfo
) -> tuple[BusFacts, list[ConsoleCapture], list[BatteryEvent], list[str]]:
    """An RS485 capture → bus facts, console-shaped captures, state events, reader warnings (text)."""
    log = read_rs485(data, rel)
    st = _Rs485State(rel, tz)
    asked: Rs485Record | None = None
    for rec in log.records:
        if rec.is_request:
            _no_answer(st, asked)
            asked = rec
            continue
        asked = None
        if isinstance(rec.content, ErrorReply):
            if rec.content.rtn == 0x90:
                st.silent.add(console_address(rec.adr))
                st.round.silent.add(console_address(rec.adr))
            continue
        _rs485_reply(st, rec)
    _no_answer(st, asked)
    _flush(st)
    st.silent |= _unanswered_addresses(log)
    if st.infos:
        st.captures.append(ConsoleCapture(source=rel, records=tuple(st.infos), captured_at=None))
    facts = BusFacts(
        links=[_rs485_link(log, data)],
        requests=[BmsRequest(kind="rs485", **ep.values, **_refs(rel, ep)) for ep in st.requests.episodes],
        flags=[BmsFlags(kind="rs485", **ep.values, **_refs(rel, ep)) for ep in st.flags.episodes],
        alarms=[a for f, ep in st.alarms.all() if (a := _rs485_alarm(f, ep, rel)) is not None],
        module_counts=[
            ModuleCountReading(kind="rs485", count=int(ep.key), **_refs(rel, ep)) for ep in st.counts.episodes
        ],
        stack=st.stack,
        pack_limits=st.limits,
        answering_addresses=sorted(st.answering),
        silent_addresses=sorted(st.silent - st.answering),
    )
    warns = [f"line {w.line}: {w.message}" for w in log.warnings]
    return facts, st.captures, st.events, warns


def _no_answer(st: _Rs485State, req: Rs485Record | None) -> None:
    """A per-module 0x42/0x44 poll that got no reply: that address is absent from this round."""
    if req is None or req.command not in (0x42, 0x44) or getattr(req.content, "target", None) != req.adr:
        return
    addr = console_address(req.adr)
    if (req.command, addr) in st.round.silent_polls:
        _flush(st)
    st.round.silent_polls.add((req.command, addr))
    st.round.silent.add(addr)
    if st.round.first is None:
        st.round.first = req


def _unanswered(log: Rs485Log) -> list[Rs485Record]:
    """Requests followed by another request (or the end) instead of a reply."""
    out: list[Rs485Record] = []
    recs = log.records
    for i, r in enumerate(recs):
        if r.is_request and (i + 1 == len(recs) or recs[i + 1].is_request):
            out.append(r)
    return out


def _unanswered_addresses(log: Rs485Log) -> set[int]:
    """Addresses polled per module (INFO = ADR) that never answered anything in the file."""
    answered = {r.adr for r in log.replies}
    asked = {r.adr for r in log.requests if getattr(r.content, "target", None) == r.adr}
    return {console_address(a) for a in asked - answered}


def _rs485_link(log: Rs485Log, data: bytes) -> BusLink:
    src = log.source
    errors: dict[str, int] = {}
    for r in log.replies:
        if isinstance(r.content, ErrorReply):
            errors[r.content.text] = errors.get(r.content.text, 0) + 1
    first = log.records[0] if log.records else None
    last = log.records[-1] if log.records else None
    span = None
    if (
        first
        and last
        and first.time
        and last.time
        and (first.time.tzinfo is None) == (last.time.tzinfo is None)
    ):
        span = (last.time - first.time).total_seconds()
    replies = log.replies
    first_reply = replies[0] if replies else None

    def ref(r: Rs485Record | None) -> BusRef | None:
        return None if r is None else BusRef(source=src, line=r.line, raw=r.raw, time=r.time)

    return BusLink(
        source=src,
        kind="rs485",
        shape="raw" if b"\n" not in data[:4096] else "frames",
        frames=len(log.records),
        battery_frames=len(replies),
        inverter_frames=len(log.requests),
        ids=sorted({f"0x{r.command:02X}" for r in replies if r.command is not None}),
        alarm_frames=sum(1 for r in replies if r.command in (0x44, 0x62)),
        unanswered=len(_unanswered(log)),
        error_replies=errors,
        first=ref(first),
        last=ref(last),
        first_battery=ref(first_reply),
        span_s=span,
        warnings=log.warning_count,
    )


def merge(parts: list[BusFacts]) -> BusFacts:
    """The facts of every bus file of a case, in file order."""
    if not parts:
        return BusFacts()
    if len(parts) == 1:
        return parts[0]
    return BusFacts(
        links=[x for p in parts for x in p.links],
        requests=[x for p in parts for x in p.requests],
        flags=[x for p in parts for x in p.flags],
        alarms=[x for p in parts for x in p.alarms],
        module_counts=[x for p in parts for x in p.module_counts],
        stack=[x for p in parts for x in p.stack],
        pack_limits=[x for p in parts for x in p.pack_limits],
        answering_addresses=sorted({a for p in parts for a in p.answering_addresses}),
        silent_addresses=sorted(
            {a for p in parts for a in p.silent_addresses} - {a for p in parts for a in p.answering_addresses}
        ),
    )
