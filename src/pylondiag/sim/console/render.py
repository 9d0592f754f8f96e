"""Payload lines of each console command, from the simulator's readings, in each dialect's layout.

Column widths are measured from the real captures (see ``tests/sim/test_console_conformance.py``,
which re-renders real rows from their own values and compares byte for byte).
"""

from __future__ import annotations

from datetime import datetime

from pylondiag.sim import bms
from pylondiag.sim.bms import Flag
from pylondiag.sim.console.dialects import Dialect
from pylondiag.sim.module import ModelSpec
from pylondiag.sim.stack import SENSOR_GROUPS, ModuleReading

PWR_B66_HEADER = (
    "Power Volt   Curr   Tempr  Tlow   Thigh  Vlow   Vhigh  Base.St  Volt.St  Curr.St  Temp.St  "
    "Coulomb  Time                 B.V.St   B.T.St  "
)
PWR_B67_HEADER = PWR_B66_HEADER + " MosTempr M.T.St"
PWR_V2_HEADER = (
    "Power Volt   Curr   Tempr  Tlow   Tlow.Id  Thigh  Thigh.Id Vlow   Vlow.Id  Vhigh  Vhigh.Id "
    "Base.St  Volt.St  Curr.St  Temp.St  Coulomb  Time                 B.V.St   B.T.St  MosTempr "
    "M.T.St   SysAlarm.St"
)
PROTECT_ENA = (
    "BOV BHV BLV BUV POV PHV PLV PUV CBOT CBHT CBLT CBUT DBOT DBHT DBLT DBUT POT PHT COC COC2 COCA "
    "DOCA DOC DOC2 SC LCOUL"
)
PROTECT_ENA_PLT = PROTECT_ENA.replace("POT PHT", "POT PHT PLT PUT")

# Event bit maps. Only 0x2000 COULFULL is seen in a capture (HRAB pwr 2 [C]); the rest are [U].
BAT_EVENT_BITS: list[tuple[int, Flag, str]] = [
    (0x1, Flag.A_CELL_HV, "BHV"),
    (0x2, Flag.P_CELL_OV, "BOV"),
    (0x4, Flag.A_CELL_LV, "BLV"),
    (0x8, Flag.P_CELL_UV, "BUV"),
    (0x10, Flag.A_CHG_HT, "CBHT"),
    (0x20, Flag.P_COT, "CBOT"),
    (0x40, Flag.A_CHG_LT, "CBLT"),
    (0x80, Flag.P_CUT, "CBUT"),
    (0x100, Flag.A_DSG_HT, "DBHT"),
    (0x200, Flag.P_DOT, "DBOT"),
    (0x400, Flag.A_DSG_LT, "DBLT"),
    (0x800, Flag.P_DUT, "DBUT"),
]
POWER_EVENT_BITS: list[tuple[int, Flag, str]] = [
    (0x1, Flag.A_PACK_HV, "PHV"),
    (0x2, Flag.P_PACK_OV, "POV"),
    (0x4, Flag.A_PACK_LV, "PLV"),
    (0x8, Flag.P_PACK_UV, "PUV"),
    (0x10, Flag.A_COC, "COCA"),
    (0x20, Flag.P_COC, "COC"),
    (0x40, Flag.A_DOC, "DOCA"),
    (0x80, Flag.P_DOC, "DOC"),
    (0x400, Flag.P_MOS_OT, "POT"),
]
SYSTEM_FAULT_NAMES = {0x1: "BMICERR", 0x2: "CFETERR", 0x4: "DFETERR", 0x8: "TSENSERR"}
"""System Fault bit names — the simulator's own [U]: no capture shows a non-zero value."""


def _state(flags: int, alarm: Flag, protect: Flag, hi: bool) -> str:
    if flags & protect:
        return "Over" if hi else "Under"
    if flags & alarm:
        return "High" if hi else "Low"
    return "Normal"


def volt_state(f: int) -> str:
    if f & Flag.P_PACK_OV or f & Flag.A_PACK_HV:
        return _state(f, Flag.A_PACK_HV, Flag.P_PACK_OV, True)
    return _state(f, Flag.A_PACK_LV, Flag.P_PACK_UV, False)


def cell_volt_state(f: int) -> str:
    if f & Flag.P_CELL_OV or f & Flag.A_CELL_HV:
        return _state(f, Flag.A_CELL_HV, Flag.P_CELL_OV, True)
    return _state(f, Flag.A_CELL_LV, Flag.P_CELL_UV, False)


def curr_state(f: int) -> str:
    if f & (Flag.P_COC | Flag.P_DOC):
        return "Over"
    if f & (Flag.A_COC | Flag.A_DOC):
        return "High"
    return "Normal"


def temp_state(f: int) -> str:
    if f & (Flag.P_COT | Flag.P_DOT):
        return "Over"
    if f & (Flag.P_CUT | Flag.P_DUT):
        return "Under"
    if f & (Flag.A_CHG_HT | Flag.A_DSG_HT):
        return "High"
    if f & (Flag.A_CHG_LT | Flag.A_DSG_LT):
        return "Low"
    return "Normal"


def mos_state(f: int) -> str:
    return "Over" if f & Flag.P_MOS_OT else "Normal"


def sys_alarm_state(r: ModuleReading) -> str:
    """``SysAlarm.St`` (newer FW). Its meaning is not graded in the domain notes; the simulator
    reads it as the BMS's own (system) condition: ``Fault`` with a System Fault, else ``Normal``.
    Cell, temperature and current states have their own columns [U]."""
    return "Fault" if r.system_fault else "Normal"


def fmt_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------------------- pwr
def pwr_header(d: Dialect) -> str:
    return {"b66": PWR_B66_HEADER, "b67": PWR_B67_HEADER, "v2": PWR_V2_HEADER}[d.pwr_layout]


def pwr_absent_row(d: Dialect, address: int) -> str:
    row = (
        f"{address:<6}"
        + "-      " * 7
        + "Absent   "
        + "-        " * 4
        + f"{'-':<21}"
        + "-        "
        + "-       "
    )
    return row.rstrip() if d.pwr_layout == "b67" else row


def pwr_row(d: Dialect, r: ModuleReading, clock: datetime) -> str:
    tlow, thigh = int(r.cell_temp_mc.min()), int(r.cell_temp_mc.max())
    vlow, vhigh = int(r.cell_mv.min()), int(r.cell_mv.max())
    base = r.base_state
    head = f"{r.address:<6}{r.voltage_mv:<7}{r.current_ma:<7}{r.board_temp_mc:<7}"
    states = (
        f"{base:<9}{volt_state(r.flags):<9}{curr_state(r.flags):<9}{temp_state(r.flags):<9}"
        f"{str(r.soc_pct) + '%':<9}{fmt_time(clock):<21}{cell_volt_state(r.flags):<9}{temp_state(r.flags):<8}"
    )
    if d.pwr_layout == "v2":
        groups = [int(t) for t in (r.cell_temp_mc[a] for a, _ in SENSOR_GROUPS)]
        tl_id, th_id = groups.index(tlow), groups.index(thigh)
        vl_id, vh_id = int(r.cell_mv.argmin()), int(r.cell_mv.argmax())
        mid = f"{tlow:<7}{tl_id:<9}{thigh:<7}{th_id:<9}{vlow:<7}{vl_id:<9}{vhigh:<7}{vh_id:<9}"
        mos = "-" if r.mos_temp_mc is None else str(r.mos_temp_mc)
        return head + mid + states + f"{mos:<9}{mos_state(r.flags):<9}{sys_alarm_state(r):<8}"
    mid = f"{tlow:<7}{thigh:<7}{vlow:<7}{vhigh:<7}"
    row = head + mid + states
    if d.pwr_layout == "b67":
        if r.mos_temp_mc is None:
            return row + " -        -"
        return row + f"{r.mos_temp_mc:<9}{mos_state(r.flags)}"
    return row


def pwr_lines(d: Dialect, readings: list[ModuleReading | None], clocks: list[datetime]) -> list[str]:
    lines = [pwr_header(d)]
    for a in range(1, d.pwr_slots + 1):
        r = readings[a - 1] if a <= len(readings) else None
        lines.append(pwr_absent_row(d, a) if r is None else pwr_row(d, r, clocks[a - 1]))
    return lines


def _events(flags: int, bits: list[tuple[int, Flag, str]], extra: list[tuple[int, str]]) -> str:
    value, names = 0, []
    for bit, flag, name in bits:
        if flags & flag:
            value |= bit
            names.append(name)
    for bit, name in extra:
        value |= bit
        names.append(name)
    if not value:
        return "0x0"
    return f"{f'0x{value:x}':<11}" + " ".join(names)


def pwr_detail_lines(d: Dialect, r: ModuleReading, spec: ModelSpec, charge_times: int) -> list[str]:
    def kv(k: str, v: str) -> str:
        return f" {k:<16}: {v}"

    base = r.base_state
    if base == "Charge":
        sec_line = kv("Charge Sec.", f"{r.state_seconds:<8}s")
    elif base == "Dischg":
        sec_line = kv("Discharge Sec.", f"{r.state_seconds:<8}s")
    else:
        sec_line = None
    full = r.soc_pct >= 100
    coul_extra = [(0x2000, "COULFULL")] if full else []
    if r.soc_pct <= 5:
        coul_extra.append((0x4000, "LCOUL"))
    sf = r.system_fault
    sf_text = (
        "0x0"
        if not sf
        else f"{f'0x{sf:x}':<11}" + " ".join(n for b, n in SYSTEM_FAULT_NAMES.items() if sf & b)
    )
    lines = [
        " ----------------------------",
        f" Power  {r.address}",
        "",
        kv("Voltage", f"{r.voltage_mv:<12}mV"),
        kv("Current", f"{r.current_ma:<12}mA"),
        kv("Temperature", f"{r.board_temp_mc:<12}mC"),
        kv("Coulomb", f"{r.soc_pct:<12}%"),
        kv("Total Coulomb", f"{spec.total_coulomb_mah:<12}mAH"),
        kv("Max Voltage", f"{54000:<12}mV"),
        kv("Charge Times", str(charge_times)),
        kv("Basic Status", base),
    ]
    if sec_line:
        lines.append(sec_line)
    lines += [
        kv("Volt Status", volt_state(r.flags)),
        kv("Current Status", curr_state(r.flags)),
        kv("Tmpr. Status", temp_state(r.flags)),
        kv("Coul. Status", "Full" if full else ("Low" if r.soc_pct <= 5 else "Normal")),
        kv("Soh. Status", "Abnormal" if r.system_fault else "Normal"),
        kv("Heater Status", "OFF"),
        kv("Protect ENA", PROTECT_ENA_PLT if spec.name in ("US5000", "US3000C") else PROTECT_ENA),
        kv("Bat Events", _events(r.flags, BAT_EVENT_BITS, [])),
        kv("Power Events", _events(r.flags, POWER_EVENT_BITS, coul_extra)),
        kv("System Fault", sf_text),
        " ----------------------------",
    ]
    return lines


# ---------------------------------------------------------------------------------------- bat
def bat_lines(d: Dialect, r: ModuleReading) -> list[str]:
    base = r.base_state
    cur = r.current_ma
    if d.bat_layout == "b66":
        lines = [
            "Battery  Volt     Curr     Tempr    Base State   Volt. State  Curr. State  Temp. State  "
            "Coulomb     "
        ]
        for c in range(15):
            lines.append(
                f"{c:<9}{r.cell_mv[c]:<9}{cur:<9}{r.cell_temp_mc[c]:<9}{base:<13}{_cell_vs(r, c):<13}"
                f"{curr_state(r.flags):<13}{temp_state(r.flags):<13}{r.cell_soc_pct[c]:>3}%      "
                f"{r.cell_coulomb_mah[c]} mAH"
            )
        return lines
    lines = [
        "Battery  Volt     Curr     Tempr    Base State   Volt. State  Curr. State  Temp. State  "
        "SOC          Coulomb      BAL" + d.bat_header_pad
    ]
    for c in range(15):
        lines.append(
            f"{c:<9}{r.cell_mv[c]:<9}{cur:<9}{r.cell_temp_mc[c]:<9}{base:<13}{_cell_vs(r, c):<13}"
            f"{curr_state(r.flags):<13}{temp_state(r.flags):<13}{r.cell_soc_pct[c]}%         "
            f"{r.cell_coulomb_mah[c]} mAH      {'Y' if r.balancing[c] else 'N'}"
        )
    return lines


def _cell_vs(r: ModuleReading, c: int) -> str:
    """Per-cell voltage state: only the cell(s) at the extreme carry the module's cell state."""
    st = cell_volt_state(r.flags)
    if st == "Normal":
        return st
    hi = st in ("High", "Over")
    target = r.cell_mv.max() if hi else r.cell_mv.min()
    return st if abs(int(r.cell_mv[c]) - int(target)) <= 15 else "Normal"


# ---------------------------------------------------------------------------------------- soh
def soh_lines(r: ModuleReading, soh_counts: list[int]) -> list[str]:
    lines = [f"{'Power':<8}{r.address}", "Battery    Voltage    SOHCount   SOHStatus "]
    for c in range(15):
        status = "Abnormal" if soh_counts[c] >= 3 else "Normal"
        lines.append(f"{c:<11}{r.cell_mv[c]:<11}{soh_counts[c]:<11}{status:<10}")
    return lines


# ---------------------------------------------------------------------------------------- stat
HISTOGRAM_ROWS = [
    "ChgCurr 0~0.2C Secs",
    "ChgCurr 0.2C~0.5C Secs",
    "ChgCurr 0.5C~0.8C Secs",
    "ChgCurr 0.8C~1C Secs",
    "ChgCurr 1C above Secs",
    "DsgCurr 0~0.2C Secs",
    "DsgCurr 0.2C~0.5C Secs",
    "DsgCurr 0.5C~0.8C Secs",
    "DsgCurr 0.8C~1C Secs",
    "DsgCurr 1C above Secs",
    "Soc 0~20% Secs",
    "Soc 20~60% Secs",
    "Soc 60% above Secs",
    "Soc Low Thd1 Sec",
]
"""Newer FW `stat N` time histograms (BolverBlitz parser test fixture [C])."""


def stat_lines(d: Dialect, address: int, counters: dict[str, int]) -> list[str]:
    lines = [f"{'Device address':<16}{address:>10}"]
    order = ["Data Items", "HisData Items"]
    if d.stat_misc_items:
        order.append("MiscData Items")
    order += bms.STAT_ORDER_B67
    for name in order:
        if d.name == "us2kbpl_b66" and name in ("COC2 Times", "DOC2 Times", "SOH"):
            continue  # B66.6 prints neither the stage-2 counters nor SOH (donverduyn stat [C])
        lines.append(f"{name:<16}: {counters.get(name, 0):>8}")
    if d.stat_histograms:
        for name in HISTOGRAM_ROWS:
            lines.append(f"{name:<25}: {counters.get(name, 0):>8}")
    return lines


# ---------------------------------------------------------------------------------------- info
def info_lines(address: int, spec: ModelSpec, barcode: str) -> list[str]:
    def kv(k: str, v: str) -> str:
        return f"{k:<20}: {v}"

    return [
        kv("Device address", str(address)),
        kv("Manufacturer", "Pylon"),
        kv("Device name", spec.device_name),
        kv("Board version", spec.board_version),
        kv("Main Soft version", spec.main_soft_version),
        kv("Soft  version", spec.soft_version),
        kv("Boot  version", "V2.0"),
        kv("Comm version", "V2.0"),
        kv("Release Date", spec.release_date),
        kv("Barcode", barcode),
        "",
        kv("Specification", spec.specification),
        kv("Cell Number", "15"),
        kv("Max Dischg Curr", f"{spec.max_discharge_ma}mA"),
        kv("Max Charge Curr", f"{spec.max_charge_ma}mA"),
        kv("EPONPort rate", "1200"),
        kv("Console Port rate", "115200"),
    ]


def time_lines(d: Dialect, t: datetime) -> list[str]:
    lines = [f"{d.time_label} {fmt_time(t)}"]
    if d.time_test_line:
        lines.append("Test result:pass")
    return lines


# ---------------------------------------------------------------------------------------- log
def log_entry_lines(index: int, e: bms.LogEntry) -> list[str]:
    """One `log` entry as ioBroker.pylontech data/log.txt shows them [C]."""
    return [
        f" {'Index':<8}: {index:<6}",
        f" {'Time':<8}: {e.time.strftime('%y-%m-%d %H:%M:%S')}",
        f" {'ModID':<8}: {e.mod_id}",
        f" {'Code':<8}: {e.code}",
        f" {'Info':<8}: {e.info} ",
    ]


def data_event_lines(item: int, e: bms.LogEntry, r: ModuleReading) -> list[str]:
    """`data event N`: the snapshot stored with event N. No capture of this command exists: the
    layout is the simulator's own [U] (console_fields.md: per-cell voltage, temperature and a
    Coulomb % = the cell's capacity relative to nominal, SIMP [D])."""
    lines = [
        f" {'Item Index':<11}: {item}",
        f" {'Time':<11}: {e.time.strftime('%y-%m-%d %H:%M:%S')}",
        f" {'Event':<11}: {e.info}",
        "Battery  Volt     Tempr    Coulomb",
    ]
    cells = e.cells or [(int(r.cell_mv[c]), int(r.cell_temp_mc[c]), 100) for c in range(15)]
    for c, (mv, mc, pct) in enumerate(cells):
        lines.append(f"{c:<9}{mv:<9}{mc:<9}{pct}%")
    return lines


HELP_COMMANDS: list[tuple[str, str]] = [
    ("bat", "Battery data show - bat [pwr][index]"),
    ("data", "History data load - data [event/history][item]"),
    ("help", "Help [cmd]"),
    ("info", "Device infomation - info"),
    ("log", "Log information show - log"),
    ("login", "Login Admin mode - login [password]"),
    ("logout", "user mode  - logout"),
    ("pwr", "Power data show - pwr [index]"),
    ("shut", "Shut down - shut"),
    ("soh", "State of health - soh [addr]"),
    ("stat", "Statistic data show - stat"),
    ("time", "Time - time [year] [month] [day] [hour] [minute] [second]"),
    ("trst", "Test Soft Reset - trst"),
]
DEBUG_HELP_COMMANDS: list[tuple[str, str]] = [
    ("config", "config [pov/povr/phv/phvr/plv/plvr/puv/puvr/bov/bovr/bhv/bhvr/blv/blvr/buv/buvr][val]"),
    ("ctrl", "Contrl IO - ctrl [cfet/dfet/buzz/heat/afuse] [on/off]"),
    ("getpwr", "Get power Info - getpwr"),
    ("prot", "Protect ctrl - prot [bov/bhv/blv/buv/pov/phv/plv/puv/coc/doc/sc/default][en/dis]"),
    ("pwrsys", "power system info display"),
    ("statc", "Clear statistic - statc"),
]


def help_lines(debug: bool) -> list[str]:
    cmds = sorted(HELP_COMMANDS + (DEBUG_HELP_COMMANDS if debug else []))
    lines = ["Local command:"] + [f"{n:<9}{t}" for n, t in cmds]
    lines += ["*" * 58, "Remote command:"]
    lines += [f"{n:<9}{t}" for n, t in cmds if n in ("info", "login", "logout", "soh", "stat", "data")]
    return lines


def pwrsys_lines(readings: list[ModuleReading], rec_chg_ma: int, rec_dsg_ma: int) -> list[str]:
    """`pwrsys` as the HRAB capture lays it out [C]."""
    n = len(readings)
    cur = sum(r.current_ma for r in readings)
    state = "charging" if cur > 500 else ("discharging" if cur < -500 else "idle")
    cells = [int(v) for r in readings for v in r.cell_mv]
    temps = [int(t) for r in readings for t in r.cell_temp_mc]
    volt = int(sum(r.voltage_mv for r in readings) / max(n, 1))
    soc = int(sum(r.soc_pct for r in readings) / max(n, 1))

    def kv(k: str, v: int, unit: str) -> str:
        return f" {k:<25}: {v:<9}{unit}"

    return [
        " Power System Information",
        " ---------------------------------",
        f" System is {state}",
        kv("Total Num", n, "").rstrip(),
        kv("Present Num", n, "").rstrip(),
        kv("Sleep Num", 0, "").rstrip(),
        kv("System Volt", volt, "mV"),
        kv("System Curr", cur, "mA"),
        kv("System SOC", soc, "%"),
        kv("Highest voltage", max(cells), "mV"),
        kv("Average voltage", int(sum(cells) / len(cells)), "mV"),
        kv("Lowest voltage", min(cells), "mV"),
        kv("Highest temperature", max(temps), "mC"),
        kv("Lowest temperature", min(temps), "mC"),
        kv("Recommend chg voltage", 53250, "mV"),
        kv("Recommend dsg voltage", 46000, "mV"),
        kv("Recommend chg current", rec_chg_ma, "mA"),
        kv("Recommend dsg current", rec_dsg_ma, "mA"),
    ]
