"""Inverter model: settings, daily load/PV profile, how it drives the stack, and its event log.

Brand codes and settings come from ``shared/domain/inverters/codes_*.md`` and ``settings.md``.
The event log is written in the shapes ``pylondiag.evidence.inverter_log`` reads
(``docs/inverter-logs.md``): the case spec's generic event CSV (``time,code,message,severity``, plus a
``temperature`` column with the battery temperature the inverter saw), a Home Assistant history download
(:meth:`Inverter.to_ha_history`) and the Lux Power portal event list (:meth:`Inverter.to_lux_json`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from pylondiag.sim import bms
from pylondiag.sim.bms import Flag
from pylondiag.sim.stack import Stack

NOMINAL_BUS_V = 51.2
"""Used to turn a power demand (W) into a current (A)."""


@dataclass(frozen=True)
class BrandProfile:
    """What an inverter brand calls things. ``codes`` maps an event kind to (code, message)."""

    name: str
    models: tuple[str, ...]
    battery_type: str
    protocol: str
    wrong_protocols: tuple[str, ...]
    codes: dict[str, tuple[str, str]]


DEYE_CODES: dict[str, tuple[str, str]] = {
    "comms": ("F58", "BMS_Comm_Fail"),
    "comms_warn": ("W31", "Battery_comm_warn"),
    "over_voltage": ("F55", "BAT1_VoltHigh_Fault"),
    "under_voltage": ("F56", "BAT1_VoltLow_Fault"),
    "over_temperature": ("F51", "Battery_Temp_High_Fault"),
    "over_current": ("F20", "Tz_Dc_OverCurr_Fault"),
    "protection": ("F07", "DCDC1_START_Failure"),
}
"""Deye and Sunsynk (same platform): codes_deye_sunsynk.md (kellerza/sunsynk, COR-Pass) — HIGH."""


BRANDS: dict[str, BrandProfile] = {
    "sunsynk": BrandProfile(
        "sunsynk",
        ("SUN-5K-SG03LP1-EU", "SUN-3.6K-SG03LP1-EU", "SUN-8K-SG01LP1-EU"),
        "lithium",
        "00",
        ("12", "03", "01"),
        DEYE_CODES,
    ),
    "deye": BrandProfile(
        "deye", ("SUN-5K-SG03LP1-EU", "SUN-6K-SG03LP1-EU"), "lithium", "00", ("12", "03"), DEYE_CODES
    ),
    "victron": BrandProfile(
        "victron",
        ("MultiPlus-II 48/5000", "Quattro 48/8000"),
        "CAN-bus BMS LV (500 kbit/s)",
        "Pylontech",
        ("VE.Can 250 kbit/s", "CAN-bus BMS HV (500 kbit/s)"),
        {  # codes_victron.md: GX #67, battery service alarm names
            "comms": ("#67", "BMS connection lost"),
            "over_voltage": ("", "High battery voltage"),
            "under_voltage": ("", "Low battery voltage"),
            "over_temperature": ("", "High battery temperature"),
            "under_temperature": ("", "Low charge temperature"),
            "over_current": ("", "High discharge current"),
            "protection": ("", "BMS internal failure"),
            "cell_imbalance": ("", "Cell imbalance"),
        },
    ),
    "solis": BrandProfile(
        "solis",
        ("S6-EH1P5K-L-PLUS", "RHI-5K-48ES-5G"),
        "lithium",
        "Pylon LV",
        ("LG Chem LV", "Dyness"),
        {  # codes_solis.md (solax-modbus plugin_solis)
            "comms": ("8210", "Battery COM Fail"),
            "config": ("8214", "BatName-FAIL"),
            "over_voltage": ("4179", "Battery Overvoltage"),
            "under_voltage": ("4180", "Battery Undervoltage"),
            "protection": ("8213", "BMS Alarm"),
            "over_temperature": ("8213", "BMS Alarm"),
            "under_temperature": ("8213", "BMS Alarm"),
            "over_current": ("8213", "BMS Alarm"),
        },
    ),
    "luxpower": BrandProfile(
        "luxpower",
        ("LXP-LB-EU 5K", "LXP 3600 ACS"),
        "lithium",
        "Pylontech",
        ("lead-acid", "Dyness"),
        {  # codes_luxpower.md (lxp-bridge)
            "comms": ("W000", "Battery communication failure"),
            "protection": ("W004", "Both charge and discharge forbidden by battery"),
            "over_voltage": ("W025", "Battery voltage high"),
            "under_voltage": ("W026", "Battery voltage low"),
            "under_temperature": ("W002", "Battery low temperature"),
            "over_current": ("E022", "Over current protection"),
            "over_temperature": ("W004", "Both charge and discharge forbidden by battery"),
        },
    ),
    "goodwe": BrandProfile(
        "goodwe",
        ("GW5K-ET", "GW5048D-ES"),
        "lithium",
        "Pylon",
        ("BYD", "LG"),
        {  # codes_goodwe.md (goodwe lib BMS_ALARM / DIAG texts; code column empty as in the app)
            "comms": ("", "Battery Disconnected"),
            "over_voltage": ("", "Charging over-voltage 2"),
            "under_voltage": ("", "Discharging under-voltage 2"),
            "over_temperature": ("", "Cell temperature high 2"),
            "under_temperature": ("", "Cell temperature low 2"),
            "over_current": ("", "Discharging over-current 2"),
            "protection": ("", "BMS: Charge disabled"),
        },
    ),
}

FLAG_KIND: list[tuple[int, str]] = [
    (int(Flag.P_CELL_OV | Flag.P_PACK_OV), "over_voltage"),
    (int(Flag.P_CELL_UV | Flag.P_PACK_UV), "under_voltage"),
    (int(Flag.P_COT | Flag.P_DOT | Flag.P_MOS_OT), "over_temperature"),
    (int(Flag.P_CUT | Flag.P_DUT), "under_temperature"),
    (int(Flag.P_COC | Flag.P_DOC), "over_current"),
    (int(Flag.P_FAULT), "protection"),
]


@dataclass
class InverterSettings:
    """As entered on the inverter (the case file's ``inverter:`` block)."""

    brand: str
    model: str
    battery_type: str
    battery_protocol: str
    configured_modules: int | None = None
    configured_capacity_ah: int | None = None
    charge_voltage_v: float | None = None
    """Set by hand: the inverter charges to this instead of the BMS's request."""
    max_charge_current_a: float = 100.0
    max_discharge_current_a: float = 100.0
    shutdown_soc_pct: int = 15
    replaced_on: datetime | None = None
    firmware_updated_on: datetime | None = None
    bms_link_ok: bool = True
    """False when no master answers on the inverter's port (cable on a slave, no master)."""
    rs485_baud: int | None = None
    """The inverter talks to the BMS over RS485 at this rate; None = CAN (500 kbit/s, not set by DIP)."""
    battery_rs485_baud: int = 115200
    """The rate the master's ADD switch bit 1 selects: OFF 115200, ON 9600 (panel_dip.md §3 [M])."""

    @property
    def profile(self) -> BrandProfile:
        return BRANDS[self.brand]

    @property
    def comms_ok(self) -> bool:
        p = self.profile
        baud_ok = self.rs485_baud is None or self.rs485_baud == self.battery_rs485_baud
        return (
            self.bms_link_ok
            and baud_ok
            and self.battery_type == p.battery_type
            and self.battery_protocol == p.protocol
        )


@dataclass
class InverterEvent:
    time: datetime
    code: str
    message: str
    severity: str
    temperature_c: float | None = None
    kind: str = ""
    """The ``BrandProfile.codes`` key (``comms``, ``over_voltage``...) this event raises or clears."""
    cleared: bool = False
    """True for the event that ends ``kind`` (message ``"<message> cleared"``)."""


def daily_profile(
    rng: np.random.Generator,
    start: datetime,
    minutes: int,
    *,
    pv_peak_w: float,
    base_load_w: float,
    evening_w: float,
    surge_w: float = 0.0,
    surges_per_day: float = 0.0,
) -> NDArray[np.float64]:
    """Battery power demand (W, + charge) per minute from a PV bell curve minus a household load."""
    t = np.arange(minutes)
    hod = (start.hour + start.minute / 60.0 + t / 60.0) % 24.0
    day = (start.hour * 60 + start.minute + t) // 1440
    cloud = np.repeat(rng.uniform(0.35, 1.0, int(day.max()) + 1), 1)[day]
    pv = pv_peak_w * cloud * np.clip(np.sin((hod - 7.5) / 9.0 * np.pi), 0, None) ** 1.5
    load = base_load_w * (1 + 0.2 * rng.standard_normal(minutes).clip(-2, 2))
    load += evening_w * np.exp(-(((hod - 19.0) / 1.6) ** 2))
    load += 0.5 * evening_w * np.exp(-(((hod - 7.5) / 0.8) ** 2))
    if surge_w and surges_per_day:
        hits = rng.random(minutes) < surges_per_day / 1440.0
        load += np.where(hits, surge_w, 0.0)
    return pv - load


@dataclass
class Inverter:
    settings: InverterSettings
    demand_w: NDArray[np.float64]
    surge_mask: NDArray[np.bool_]
    events: list[InverterEvent] = field(default_factory=list)
    _active: set[str] = field(default_factory=set)
    _last_comms_event: datetime | None = None

    def current(self, stack: Stack, k0: int, k: int) -> NDArray[np.float64]:
        """Current (A, + charge) the inverter pushes into the stack for steps k0..k0+k."""
        s = self.settings
        dem = self.demand_w[k0 : k0 + k] / NOMINAL_BUS_V
        if not s.comms_ok and s.charge_voltage_v is None:
            return np.zeros(len(dem))  # no BMS data: the inverter refuses to use the battery
        if s.comms_ok:
            chg_lim, dsg_lim = stack.bms_limits()
        else:
            chg_lim, dsg_lim = np.inf, np.inf
        if s.charge_voltage_v is not None:
            chg_lim = np.inf  # a hand-set charge voltage puts the charger in its own (voltage) mode
        soc = float(np.clip(stack.soc, 0, 1).mean() * 100)
        v_target = s.charge_voltage_v if s.charge_voltage_v is not None else stack.charge_voltage_v()
        i_cv = stack.charge_current_limit(v_target, k / 60.0)
        chg = np.minimum(np.minimum(dem, s.max_charge_current_a), min(chg_lim, i_cv))
        surge = self.surge_mask[k0 : k0 + k]
        dsg_cap = np.where(surge, s.max_discharge_current_a, min(s.max_discharge_current_a, dsg_lim))
        dsg = np.maximum(dem, -dsg_cap)
        if soc <= s.shutdown_soc_pct:
            dsg = np.zeros_like(dsg)
        return np.where(dem >= 0, np.maximum(chg, 0.0), np.minimum(dsg, 0.0))

    def planned_current(self, stack: Stack, k0: int, k: int) -> float:
        """A cheap upper bound of the charge current over the next ``k`` steps (A, ≤ 0 when not charging),
        to choose the step length: the demand capped by the settings and the BMS limit, without the
        constant-voltage solve."""
        s = self.settings
        dem = float(self.demand_w[k0 : k0 + k].max()) / NOMINAL_BUS_V
        if not s.comms_ok and s.charge_voltage_v is None:
            return 0.0
        chg_lim = stack.bms_limits()[0] if (s.comms_ok and s.charge_voltage_v is None) else np.inf
        return min(dem, s.max_charge_current_a, chg_lim)

    def observe(self, stack: Stack, talking_master: bool) -> None:
        """Raise/clear events from what the BMS reports over CAN/RS485 now."""
        s = self.settings
        codes = s.profile.codes
        temp = round(float(stack.temp_c.max()), 1)
        now = stack.time
        if not s.comms_ok or not talking_master:
            if self._last_comms_event is None or (now - self._last_comms_event).total_seconds() >= 6 * 3600:
                code, msg = codes.get("comms", ("", "BMS communication lost"))
                self.events.append(InverterEvent(now, code, msg, "fault", temp, kind="comms"))
                self._last_comms_event = now
            return
        talking = np.array([m.talking for m in stack.modules])
        union = int(np.bitwise_or.reduce(stack.flags[talking])) if talking.any() else 0
        for bits, kind in FLAG_KIND:
            on = bool(union & bits)
            if kind not in codes:
                continue
            code, msg = codes[kind]
            if on and kind not in self._active:
                self._active.add(kind)
                self.events.append(InverterEvent(now, code, msg, "fault", temp, kind=kind))
            elif not on and kind in self._active:
                self._active.discard(kind)
                self.events.append(
                    InverterEvent(now, code, f"{msg} cleared", "info", temp, kind=kind, cleared=True)
                )

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["time", "code", "message", "severity", "temperature"])
        for e in self.events:
            w.writerow(
                [
                    e.time.strftime("%Y-%m-%d %H:%M:%S"),
                    e.code,
                    e.message,
                    e.severity,
                    "" if e.temperature_c is None else f"{e.temperature_c:.1f}",
                ]
            )
        return buf.getvalue()

    def to_ha_history(self, timezone: str = "Europe/London") -> str:
        """The log as a Home Assistant History "Download data" CSV (``entity_id,state,last_changed``).

        Shape as ``evidence/inverter_log/home_assistant.py`` documents it: one row per state *change*,
        ``last_changed`` in UTC (``2026-11-18T07:12:40.000Z``; the simulator's times are local to
        ``timezone``). The brand's fault entity (:data:`HA_FAULT_ENTITY`) holds the active fault items
        joined with ``", "`` as kellerza/sunsynk's ``FaultSensor`` and goodwe's ``battery_error`` do
        (``"<code> <message>"``, or the message alone when the integration shows only text); an item that
        disappears is the event's end. Because only changes are recorded, an event raised again while its
        item is still active (the 6-hourly repeat of a lasting BMS-comms loss) is no new row. The battery
        temperature the inverter saw at each event is ``sensor.battery_temperature`` when it changed.
        """
        zone = ZoneInfo(timezone)
        entity = HA_FAULT_ENTITY.get(self.settings.brand, f"sensor.{self.settings.brand}_fault")
        rows: list[tuple[datetime, str, str]] = []
        active: dict[str, set[str]] = {}  # item -> the kinds holding it (two kinds may share a code)
        state, temp = "", ""
        by_time: dict[datetime, list[InverterEvent]] = {}
        for e in self.events:
            by_time.setdefault(e.time, []).append(e)
        for when, events in sorted(by_time.items()):
            stamp = when.replace(tzinfo=zone).astimezone(UTC)
            t = events[-1].temperature_c
            if t is not None and f"{t:.1f}" != temp:
                temp = f"{t:.1f}"
                rows.append((stamp, "sensor.battery_temperature", temp))
            for e in events:
                item = _ha_item(self.settings.brand, e)
                if e.cleared:
                    active.get(item, set()).discard(e.kind)
                    if not active.get(item, True):
                        del active[item]
                else:
                    active.setdefault(item, set()).add(e.kind)
            new = ", ".join(active)
            if new != state:
                state = new
                rows.append((stamp, entity, state))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["entity_id", "state", "last_changed"])
        for stamp, eid, value in rows:
            w.writerow([eid, value, f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z"])
        return buf.getvalue()

    def to_lux_json(self) -> str:
        """The log as the Lux Power / EG4 portal event list (``/WManage/api/analyze/event/list``).

        Shape as ``evidence/inverter_log/luxpower_events.py`` documents it (joyfulhouse/pylxpweb
        ``get_event_list``): ``{"success", "total", "rows"}``, each row ``event`` (the code),
        ``eventType`` (``FAULT`` for E###, ``WARNING`` for W###), ``eventText``, ``startTime`` and
        ``renormalTime`` (portal-local ``YYYY-MM-DD HH:MM:SS``, null while open) and ``status``
        (``CLOSE`` / ``OPEN``). A raised event and the next clearing of the same kind make one row.
        The portal list carries no temperature.
        """
        rows: list[dict[str, object]] = []
        open_rows: dict[str, dict[str, object]] = {}
        for e in sorted(self.events, key=lambda e: e.time):
            stamp = e.time.strftime("%Y-%m-%d %H:%M:%S")
            if e.cleared:
                row = open_rows.pop(e.kind, None)
                if row is not None:
                    row["renormalTime"] = stamp
                    row["status"] = "CLOSE"
                continue
            row = {
                "event": e.code,
                "eventType": "FAULT" if e.code.startswith("E") else "WARNING",
                "eventText": e.message,
                "startTime": stamp,
                "renormalTime": None,
                "status": "OPEN",
            }
            rows.append(row)
            open_rows[e.kind] = row
        return json.dumps({"success": True, "total": len(rows), "rows": rows}, indent=2) + "\n"


HA_FAULT_ENTITY: dict[str, str] = {
    "sunsynk": "sensor.ss_fault",  # kellerza/sunsynk add-on FaultSensor, default prefix "ss"
    "deye": "sensor.ss_fault",  # same platform and integration
    "goodwe": "sensor.battery_error",  # marcelblijleven/goodwe BMS alarm texts
}
"""Entity holding the active fault items; other brands get ``sensor.<brand>_fault`` (HA names entities
after the device, so the owner's ids vary: the reader matches ``fault`` in the id, not a fixed name)."""

_HA_CODE = re.compile(r"^(?:[A-Z]{1,3}|#)\s?\d{1,4}$")
"""Codes an HA fault state shows before the text (F58, W000, #67); Solis's numeric codes are shown as
text by solax-modbus, GoodWe's have none."""


def _ha_item(brand: str, e: InverterEvent) -> str:
    base = BRANDS[brand].codes.get(e.kind, (e.code, e.message))[1] if e.kind else e.message
    text = base.replace(",", " ")
    return f"{e.code} {text}" if _HA_CODE.match(e.code) else text


def protect_any(stack: Stack) -> bool:
    return bool(np.any(stack.flags & int(bms.PROTECT)))
