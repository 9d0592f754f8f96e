"""Write the example cases in ``examples/cases/`` (run: ``python examples/make_cases.py``).

Every console capture here is written by the project in the shapes of the real dialects
(``shared/captures/console``): US2000C firmware B67.5.0 (``pylon_debug>`` prompt, ``MosTempr``/``M.T.St``
columns, ``SOC`` and ``BAL`` in ``bat``), newer US5000-class firmware (``pylon>``, ``Tlow.Id``...
``SysAlarm.St``), and a logger that writes ``dd.mm.yy HH:MM:SS`` before the prompt (GPollakDiener
shape). Line ends are ``\\r\\r\\n`` in some sessions, as the real console prints them. No real capture
is copied. ``expected.json`` holds what the diagnosis must say (checked by tests/diagnosis).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pylondiag.sim.bms import STAT_ORDER_B67

HERE = Path(__file__).resolve().parent / "cases"

PWR_OLD = (
    "Power Volt   Curr   Tempr  Tlow   Thigh  Vlow   Vhigh  Base.St  Volt.St  Curr.St  Temp.St  Coulomb  "
    "Time                 B.V.St   B.T.St   MosTempr M.T.St"
)
PWR_NEW = (
    "Power Volt   Curr   Tempr  Tlow   Tlow.Id  Thigh  Thigh.Id Vlow   Vlow.Id  Vhigh  Vhigh.Id Base.St  "
    "Volt.St  Curr.St  Temp.St  Coulomb  Time                 B.V.St   B.T.St  MosTempr M.T.St   SysAlarm.St"
)
BAT_HEAD = (
    "Battery  Volt     Curr     Tempr    Base State   Volt. State  Curr. State  Temp. State  SOC          "
    "Coulomb      BAL"
)
STAT_LABELS = ["Data Items", "HisData Items", *STAT_ORDER_B67[: STAT_ORDER_B67.index("Pwr Percent") + 1]]
"""``stat`` labels as US2000C B67.5.0 prints them, up to ``Pwr Percent`` (the simulator's dialect table)."""


@dataclass
class Mod:
    addr: int
    cells: list[int]
    curr: int = 0
    temp: int = 25000
    soc: int = 100
    base: str = "Idle"
    volt_st: str = "Normal"
    curr_st: str = "Normal"
    temp_st: str = "Normal"
    bv_st: str = "Normal"
    bt_st: str = "Normal"
    tlow: int | None = None
    thigh: int | None = None
    bal: str | None = None
    """One letter per cell (Y/N), or None for the usual pattern (Y at the top of charge, else N)."""
    cap_mah: int = 50000

    @property
    def volt(self) -> int:
        return sum(self.cells)


def cells(
    base: int, deltas: dict[int, int] | None = None, jitter: tuple[int, ...] = (0, 3, -2, 4, 1)
) -> list[int]:
    out = [base + jitter[i % len(jitter)] for i in range(15)]
    for i, d in (deltas or {}).items():
        out[i] = base + d
    return out


def pwr_old(mods: list[Mod], slots: int, when: str) -> list[str]:
    lines = [PWR_OLD]
    by = {m.addr: m for m in mods}
    for a in range(1, slots + 1):
        m = by.get(a)
        if m is None:
            lines.append(
                f"{a:<6}{'-':<7}{'-':<7}{'-':<7}{'-':<7}{'-':<7}{'-':<7}{'-':<7}{'Absent':<9}{'-':<9}{'-':<9}"
                f"{'-':<9}{'-':<9}{'-':<21}{'-':<9}{'-':<8}"
            )
            continue
        tl = m.tlow if m.tlow is not None else m.temp - 3000
        th = m.thigh if m.thigh is not None else m.temp - 2400
        lines.append(
            f"{a:<6}{m.volt:<7}{m.curr:<7}{m.temp:<7}{tl:<7}{th:<7}{min(m.cells):<7}{max(m.cells):<7}"
            f"{m.base:<9}{m.volt_st:<9}{m.curr_st:<9}{m.temp_st:<9}{str(m.soc) + '%':<9}{when:<21}"
            f"{m.bv_st:<9}{m.bt_st:<8}{m.temp - 1800:<9}Normal"
        )
    return lines


def pwr_new(mods: list[Mod], slots: int, when: str) -> list[str]:
    lines = [PWR_NEW]
    by = {m.addr: m for m in mods}
    for a in range(1, slots + 1):
        m = by.get(a)
        if m is None:
            lines.append(
                f"{a:<6}{'-':<7}{'-':<7}{'-':<7}{'-':<7}{'-':<9}{'-':<7}{'-':<9}{'-':<7}{'-':<9}{'-':<7}{'-':<9}"
                f"{'Absent':<9}{'-':<9}{'-':<9}{'-':<9}{'-':<9}{'-':<21}{'-':<9}{'-':<8}{'-':<9}{'-':<9}-"
            )
            continue
        tl = m.tlow if m.tlow is not None else m.temp - 3000
        th = m.thigh if m.thigh is not None else m.temp - 2400
        lo_id = m.cells.index(min(m.cells))
        hi_id = m.cells.index(max(m.cells))
        lines.append(
            f"{a:<6}{m.volt:<7}{m.curr:<7}{m.temp:<7}{tl:<7}{3:<9}{th:<7}{11:<9}{min(m.cells):<7}{lo_id:<9}"
            f"{max(m.cells):<7}{hi_id:<9}{m.base:<9}{m.volt_st:<9}{m.curr_st:<9}{m.temp_st:<9}"
            f"{str(m.soc) + '%':<9}{when:<21}{m.bv_st:<9}{m.bt_st:<8}{m.temp - 1500:<9}{'Normal':<9}Normal"
        )
    return lines


def bat(m: Mod) -> list[str]:
    lines = [BAT_HEAD]
    top = m.soc >= 95 and m.base == "Idle"
    for i, v in enumerate(m.cells):
        auto = "Y" if top and v > min(m.cells) + 15 else "N"
        b = m.bal[i] if m.bal is not None else auto
        soc = m.soc if v > min(m.cells) + 30 or not top else max(m.soc - 2, 0)
        coul = m.cap_mah * soc // 100 - 200
        t = m.temp - (400 if i >= 5 else 0)
        lines.append(
            f"{i:<9}{v:<9}{m.curr:<9}{t:<9}{m.base:<13}{'Normal':<13}{'Normal':<13}{'Normal':<13}"
            f"{str(soc) + '%':<12}{str(coul) + ' mAH':<15}{b}"
        )
    return lines


def stat(addr: int, soh: int = 99, cycles: int = 120, **over: int) -> list[str]:
    vals = {label: 0 for label in STAT_LABELS}
    vals.update(
        {
            "Data Items": 240,
            "HisData Items": 1800,
            "Charge Cnt.": 610,
            "Discharge Cnt.": 598,
            "Charge Times": 9400,
            "Status Cnt.": 1210,
            "Idle Times": 820,
            "Bat HV Times": 12,
            "Pwr HV Times": 9,
            "Shut Times": 41,
            "Reset Times": 6,
            "CYCLE Times": cycles,
            "SOH": soh,
            "Pwr Percent": min(100, soh + 1),
        }
    )
    for k, v in over.items():
        vals[k.replace("_", " ")] = v
    lines = [f"Device address           {addr}"]
    lines += [f"{label:<16}: {vals[label]:>8}" for label in STAT_LABELS]
    return lines


def pwr_detail(m: Mod, system_fault: str = "0x0", soh_status: str = "Normal") -> list[str]:
    return [
        " ----------------------------",
        f" Power  {m.addr}",
        "",
        f" Voltage         : {m.volt:<12}mV",
        f" Current         : {m.curr:<12}mA",
        f" Temperature     : {m.temp:<12}mC",
        f" Coulomb         : {m.soc:<12}%",
        f" Total Coulomb   : {m.cap_mah:<12}mAH",
        " Max Voltage     : 54000       mV",
        " Charge Times    : 0",
        f" Basic Status    : {m.base}",
        f" Volt Status     : {m.volt_st}",
        f" Current Status  : {m.curr_st}",
        f" Tmpr. Status    : {m.temp_st}",
        " Coul. Status    : Normal",
        f" Soh. Status     : {soh_status}",
        " Heater Status   : OFF",
        " Protect ENA     : BOV BHV BLV BUV POV PHV PLV PUV CBOT CBHT CBLT CBUT DBOT DBHT DBLT DBUT POT PHT "
        "COC "
        "COC2 COCA DOCA DOC DOC2 SC LCOUL",
        " Bat Events      : 0x0",
        " Power Events    : 0x0",
        f" System Fault    : {system_fault}",
        " ----------------------------",
    ]


@dataclass
class Session:
    prompt: str = "pylon_debug>"
    eol: str = "\r\r\n"
    header: list[str] = field(default_factory=list)
    logged: str | None = None
    blocks: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, cmd: str, payload: list[str]) -> Session:
        self.blocks.append((cmd, payload))
        return self

    def text(self) -> str:
        out = list(self.header)
        if self.logged:
            out.append(self.logged)
        for cmd, payload in self.blocks:
            out.append(f"{self.prompt}{cmd}")
            out.append("@")
            out += payload
            out.append("Command completed successfully")
            out.append("$$")
        out.append(self.prompt)
        return self.eol.join(out)


def write_case(name: str, case: dict | None, files: dict[str, str], expected: dict) -> None:
    d = HERE / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    if case is not None:
        (d / "case.yaml").write_text(
            yaml.safe_dump(case, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    for rel, text in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    (d / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")


def stack(n: int, model: str, installed: str, **per: dict) -> list[dict]:
    out = []
    for i in range(1, n + 1):
        m = {
            "position": i,
            "model": model,
            "installed": installed,
            "led": "green",
            "dip": "0000",
            "role": "master" if i == 1 else "slave",
            "address": i,
        }
        m.update(per.get(f"p{i}", {}))
        out.append(m)
    return out


def base_case(case_id: str, **kw: object) -> dict:
    c: dict = {
        "schema": "pylondiag.case/1",
        "case_id": case_id,
        "observed_at": "2026-11-20T09:30",
        "site": {"timezone": "Europe/London", "location": "garage", "ambient_c": 12},
    }
    c.update(kw)
    return c


def healthy_mods(n: int, base: int = 3440, soc: int = 100, cap: int = 50000) -> list[Mod]:
    return [Mod(a, cells(base + a), soc=soc, cap_mah=cap) for a in range(1, n + 1)]


def full_session(
    mods: list[Mod],
    when: str,
    *,
    new_fw: bool = False,
    stats: dict[int, dict] | None = None,
    details: dict[int, dict] | None = None,
    slots: int = 16,
    **kw: object,
) -> Session:
    s = Session(**kw)  # type: ignore[arg-type]
    s.add("pwr", (pwr_new if new_fw else pwr_old)(mods, slots, when))
    for m in mods:
        s.add(f"bat {m.addr}", bat(m))
    for m in mods:
        st = (stats or {}).get(m.addr, {})
        s.add(f"stat {m.addr}", stat(m.addr, **st))
    for a, kw2 in (details or {}).items():
        m = next(x for x in mods if x.addr == a)
        s.add(f"pwr {a}", pwr_detail(m, **kw2))
    return s


WHEN = "2026-11-20 09:12:40"
INVERTER_OK = {
    "brand": "deye",
    "model": "SUN-5K-SG03LP1-EU",
    "battery_type": "Lithium (use BMS)",
    "battery_protocol": "00",
    "charge_voltage_v": 53.2,
}


def main() -> None:
    # Only this script's own cases are rewritten (write_case replaces its directory); other example
    # cases in examples/cases/ belong to other parts of the project and are left alone.
    # 1 ---------------------------------------------------------------- no fault
    mods = healthy_mods(4, cap=74000)
    write_case(
        "healthy-us3000c-stack",
        base_case(
            "ex-healthy",
            inverter={
                **INVERTER_OK,
                "configured_modules": 4,
                "configured_capacity_ah": 296,
                "max_charge_current_a": 100,
            },
            stack=stack(4, "US3000C", "2022-03"),
        ),
        {"console/session.txt": full_session(mods, WHEN).text()},
        {"outcome": "no_fault", "primary_cause": None, "culprit_modules": [], "required_codes": []},
    )
    # 2 ---------------------------------------------------------------- rebalance
    mods = healthy_mods(5)
    mods[2] = Mod(3, cells(3452, {9: -71, 4: -38}), soc=100)
    write_case(
        "rebalance-us2000c-cell-imbalance",
        base_case(
            "ex-rebalance",
            inverter={**INVERTER_OK, "configured_modules": 5, "configured_capacity_ah": 250},
            stack=stack(5, "US2000C", "2019-05", p3={"led": "amber"}),
            symptoms=["capacity_drop"],
            notes="Module 3 shows an amber light some evenings.",
        ),
        {
            "console/session.txt": full_session(
                mods, WHEN, stats={3: {"soh": 91, "cycles": 1650, "Bat_HV_Times": 412}}
            ).text()
        },
        {
            "outcome": "rebalance",
            "primary_cause": "cell_imbalance",
            "culprit_modules": [3],
            "required_codes": ["cell_imbalance"],
        },
    )

    # 3 ---------------------------------------------------------------- weak cell after a rebalancing cycle
    def weak(day: str, low: int, stamp: str) -> str:
        ms = healthy_mods(3, cap=74000)
        ms[1] = Mod(2, cells(3458, {6: -low, 11: -25}), soc=100, cap_mah=74000)
        s = Session(prompt="pylon>", eol="\r\n", logged=stamp)
        s.add("pwr", pwr_old(ms, 8, day)).add("bat 2", bat(ms[1]))
        return s.text()

    write_case(
        "replace-weak-cell-after-rebalance",
        base_case(
            "ex-weak-cell",
            stack=stack(3, "US3000C", "2020-02"),
            history=[
                {
                    "date": "2026-10-12",
                    "event": "rebalance_cycle",
                    "detail": "held at 100 % for 8 h as advised",
                }
            ],
            inverter={**INVERTER_OK, "configured_modules": 3, "configured_capacity_ah": 222},
        ),
        {
            "console/2026-10-01_before.txt": weak("2026-10-01 18:00:02", 88, "01.10.26 18:00:05"),
            "console/2026-11-19_after.txt": weak("2026-11-19 17:40:11", 94, "19.11.26 17:40:15"),
        },
        {
            "outcome": "replace",
            "primary_cause": "weak_cell",
            "culprit_modules": [2],
            "required_codes": ["weak_cell"],
        },
    )
    # 4 ---------------------------------------------------------------- two masters
    mods = healthy_mods(2, base=3330, soc=62)
    for m in mods:
        m.base, m.curr = "Dischg", -6200
    st = stack(4, "US2000C", "2021-06", p3={"role": "master"})
    for m in st:
        m.pop("address")
    write_case(
        "reconfigure-two-masters",
        base_case(
            "ex-two-masters",
            stack=st,
            symptoms=["soc_jumps", "intermittent_trips"],
            history=[{"date": "2026-09-12", "event": "modules_added", "detail": "added positions 3 and 4"}],
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 200},
        ),
        {"console/pwr.txt": Session().add("pwr", pwr_old(mods, 16, WHEN)).text()},
        {
            "outcome": "reconfigure",
            "primary_cause": "dip_multiple_masters",
            "culprit_modules": [3],
            "required_codes": ["dip_multiple_masters"],
        },
    )
    # 5 ---------------------------------------------------------------- inverter not updated after adding
    mods = healthy_mods(4, base=3420, soc=97)
    write_case(
        "reconfigure-inverter-count-and-voltage",
        base_case(
            "ex-inverter-settings",
            stack=stack(4, "US2000C", "2023-04", p4={"installed": "2026-09"}),
            history=[{"date": "2026-09-02", "event": "modules_added", "detail": "added position 4"}],
            inverter={
                **INVERTER_OK,
                "charge_voltage_v": 54.4,
                "configured_modules": 3,
                "configured_capacity_ah": 150,
            },
        ),
        {"console/session.txt": full_session(mods, WHEN).text()},
        {
            "outcome": "reconfigure",
            "primary_cause": "module_count_mismatch",
            "culprit_modules": [],
            "required_codes": ["module_count_mismatch", "inverter_charge_limits"],
        },
    )
    # 6 ---------------------------------------------------------------- baud bit after an inverter swap
    write_case(
        "reconfigure-baud-switch-after-inverter-swap",
        base_case(
            "ex-baud",
            stack=stack(3, "US5000", "2023-01", p1={"dip": "1000"}),
            symptoms=["bms_comms_alarm"],
            history=[{"date": "2026-11-02", "event": "inverter_replaced", "detail": "new hybrid inverter"}],
            inverter={
                "brand": "sunsynk",
                "battery_type": "Lithium",
                "battery_protocol": "12",
                "configured_modules": 3,
                "configured_capacity_ah": 300,
            },
        ),
        {
            "inverter/events.csv": "time,code,message,severity\n2026-11-18 07:12:40,F58,BMS_Comm_Fail,fault\n"
            "2026-11-18 07:31:02,F58,BMS_Comm_Fail cleared,info\n"
            "2026-11-19 06:55:10,F58,BMS_Comm_Fail,fault\n"
        },
        {
            "outcome": "reconfigure",
            "primary_cause": "inverter_comms_config",
            "culprit_modules": [1],
            "required_codes": ["inverter_comms_config"],
        },
    )
    # 7 ---------------------------------------------------------------- capacity fade
    mods = healthy_mods(4, base=3335, soc=71)
    for m in mods:
        m.base, m.curr = "Dischg", -9000
    write_case(
        "replace-capacity-fade",
        base_case(
            "ex-fade",
            stack=stack(4, "US2000C", "2018-07"),
            symptoms=["capacity_drop"],
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 200},
        ),
        {
            "console/session.txt": full_session(
                mods,
                WHEN,
                stats={
                    1: {"soh": 92, "cycles": 2410},
                    2: {"soh": 58, "cycles": 2890, "SOH_Times": 14},
                    3: {"soh": 90, "cycles": 2400},
                    4: {"soh": 91, "cycles": 2390},
                },
            ).text()
        },
        {
            "outcome": "replace",
            "primary_cause": "capacity_fade",
            "culprit_modules": [2],
            "required_codes": ["capacity_fade"],
        },
    )
    # 8 ---------------------------------------------------------------- under-voltage protection, bank down
    mods = healthy_mods(4, base=3290, soc=18)
    mods[1] = Mod(2, cells(2890, {3: -240}), soc=0, volt_st="Under", bv_st="Under", base="Idle")
    write_case(
        "onsite-under-voltage-module",
        base_case(
            "ex-under-voltage",
            stack=stack(4, "US3000C", "2020-11", p2={"led": "red"}),
            symptoms=["whole_bank_shutdown", "not_discharging"],
        ),
        {"console/session.txt": full_session([*mods], WHEN, slots=8, prompt="pylon>", eol="\n").text()},
        {
            "outcome": "on_site_check",
            "primary_cause": "cell_under_voltage",
            "culprit_modules": [2],
            "required_codes": ["cell_under_voltage"],
        },
    )
    # 9 ---------------------------------------------------------------- cold garage
    mods = healthy_mods(3, base=3300, soc=35)
    for m in mods:
        m.temp, m.tlow, m.thigh, m.temp_st, m.bt_st = 1200, -2100, -1500, "Low", "Low"
    write_case(
        "environment-cold-garage",
        base_case(
            "ex-cold",
            site={"timezone": "Europe/London", "location": "detached garage", "ambient_c": -3},
            stack=stack(3, "US3000C", "2021-10"),
            symptoms=["not_charging"],
            inverter={**INVERTER_OK, "configured_modules": 3, "configured_capacity_ah": 222},
        ),
        {"console/pwr.txt": Session().add("pwr", pwr_old(mods, 16, "2026-11-20 07:05:12")).text()},
        {
            "outcome": "environment",
            "primary_cause": "under_temperature",
            "culprit_modules": [],
            "required_codes": ["under_temperature"],
        },
    )
    # 10 --------------------------------------------------------------- one module much hotter
    mods = healthy_mods(4, base=3330, soc=66, cap=100000)
    for m in mods:
        m.base, m.curr, m.temp = "Dischg", -21000, 27000
    mods[2].temp, mods[2].thigh, mods[2].temp_st, mods[2].bt_st = 53000, 54000, "High", "High"
    write_case(
        "onsite-hot-module",
        base_case(
            "ex-hot",
            stack=stack(4, "US5000", "2022-08"),
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 400},
        ),
        {"console/pwr.txt": Session(prompt="pylon>", eol="\r\n").add("pwr", pwr_new(mods, 16, WHEN)).text()},
        {
            "outcome": "on_site_check",
            "primary_cause": "over_temperature",
            "culprit_modules": [3],
            "required_codes": ["over_temperature"],
        },
    )
    # 11 --------------------------------------------------------------- module missing from pwr
    mods = healthy_mods(3, base=3350, soc=80)
    write_case(
        "onsite-module-not-communicating",
        base_case(
            "ex-missing",
            stack=stack(4, "US2000C", "2021-03", p4={"led": "off"}),
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 200},
        ),
        {"console/pwr.txt": Session().add("pwr", pwr_old(mods, 16, WHEN)).text()},
        {
            "outcome": "on_site_check",
            "primary_cause": "module_not_communicating",
            "culprit_modules": [4],
            "required_codes": ["module_not_communicating"],
        },
    )
    # 12 --------------------------------------------------------------- mixed models
    mods = healthy_mods(4, base=3340, soc=75)
    write_case(
        "reconfigure-mixed-models",
        base_case(
            "ex-mixed",
            stack=stack(4, "US3000C", "2021-05", p4={"model": "US5000", "installed": "2025-01"}),
            symptoms=["soc_jumps"],
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 322},
        ),
        {"console/pwr.txt": Session().add("pwr", pwr_old(mods, 16, WHEN)).text()},
        {
            "outcome": "reconfigure",
            "primary_cause": "mixed_models",
            "culprit_modules": [4],
            "required_codes": ["mixed_models"],
        },
    )
    # 13 --------------------------------------------------------------- early imbalance: monitor
    mods = healthy_mods(4)
    mods[1] = Mod(2, cells(3445, {7: -55}), soc=100)
    write_case(
        "monitor-early-imbalance",
        base_case(
            "ex-monitor",
            stack=stack(4, "US2000C", "2022-06"),
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 200},
        ),
        {"console/session.txt": full_session(mods, WHEN).text()},
        {
            "outcome": "monitor",
            "primary_cause": "cell_imbalance",
            "culprit_modules": [],
            "required_codes": ["cell_imbalance"],
        },
    )
    # 14 --------------------------------------------------------------- spread outside the validity envelope
    mods = healthy_mods(3, base=3290, soc=55)
    for m in mods:
        m.base, m.curr = "Dischg", -22000
    # every module sags alike under the heavy load (cell IR spread): the spread is the load, not one
    # module out of step with its neighbours (issue 11 item 2 would name a module that departs alone)
    mods = [
        Mod(a, cells(3292, {cell: -sag}), soc=55, base="Dischg", curr=-22000)
        for a, cell, sag in ((1, 2, 86), (2, 7, 80), (3, 11, 83))
    ]
    write_case(
        "nofault-spread-mid-soc-under-load",
        base_case(
            "ex-envelope",
            stack=stack(3, "US2000C", "2023-02"),
            inverter={**INVERTER_OK, "configured_modules": 3, "configured_capacity_ah": 150},
        ),
        {"console/session.txt": full_session(mods, WHEN, slots=8).text()},
        {
            "outcome": "no_fault",
            "primary_cause": None,
            "culprit_modules": [],
            "required_codes": ["cell_imbalance"],
        },
    )
    # 14b -------------------------------------------------------------- capacity fade to watch
    mods = healthy_mods(3, base=3340, soc=80)
    write_case(
        "monitor-capacity-fade",
        base_case(
            "ex-fade-monitor",
            stack=stack(3, "US2000C", "2019-03"),
            inverter={**INVERTER_OK, "configured_modules": 3, "configured_capacity_ah": 150},
        ),
        {
            "console/session.txt": full_session(
                mods, WHEN, slots=8, stats={1: {"soh": 95}, 2: {"soh": 76, "cycles": 2100}, 3: {"soh": 94}}
            ).text()
        },
        {
            "outcome": "monitor",
            "primary_cause": "capacity_fade",
            "culprit_modules": [],
            "required_codes": ["capacity_fade"],
        },
    )
    # 15 --------------------------------------------------------------- LED only: insufficient evidence
    write_case(
        "insufficient-led-only",
        base_case(
            "ex-led-only",
            stack=stack(4, "US3000C", "2019-09", p2={"led": "red"}),
            symptoms=["whole_bank_shutdown"],
            notes="Everything went off this morning, module 2 shows red.",
        ),
        {},
        {
            "outcome": "insufficient_evidence",
            "primary_cause": None,
            "culprit_modules": [],
            "required_codes": [],
        },
    )
    # 16 --------------------------------------------------------------- BMS hardware fault
    mods = healthy_mods(3, base=3345, soc=82)
    write_case(
        "replace-bms-hardware-fault",
        base_case(
            "ex-bms-fault",
            stack=stack(3, "US2000C", "2020-04", p2={"led": "red"}),
            symptoms=["intermittent_trips"],
            inverter={**INVERTER_OK, "configured_modules": 3, "configured_capacity_ah": 150},
        ),
        {
            "console/session.txt": full_session(
                mods, WHEN, details={2: {"system_fault": "0x0010"}}, stats={2: {"BMICERR_Times": 37}}
            ).text()
        },
        {
            "outcome": "replace",
            "primary_cause": "bms_hardware_fault",
            "culprit_modules": [2],
            "required_codes": ["bms_hardware_fault"],
        },
    )
    # 17 --------------------------------------------------------------- LV-HUB: two groups, same number
    st = stack(
        4,
        "US5000",
        "2023-05",
        p1={"dip": "0100", "group": 1},
        p2={"group": 1, "address": 2},
        p3={"dip": "0100", "group": 2, "role": "master", "address": 1},
        p4={"group": 2, "address": 2},
    )
    write_case(
        "reconfigure-lvhub-duplicate-group",
        base_case(
            "ex-lvhub",
            stack=st,
            symptoms=["bms_comms_alarm"],
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 400},
        ),
        {},
        {
            "outcome": "reconfigure",
            "primary_cause": "dip_duplicate_address",
            "culprit_modules": [3],
            "required_codes": ["dip_duplicate_address"],
        },
    )

    # 18 --------------------------------------------------------------- discharge limit above the modules
    mods = healthy_mods(2, base=3320, soc=60)
    write_case(
        "reconfigure-discharge-current-too-high",
        base_case(
            "ex-over-current",
            stack=stack(2, "US2000C", "2022-09"),
            symptoms=["whole_bank_shutdown", "intermittent_trips"],
            inverter={
                **INVERTER_OK,
                "configured_modules": 2,
                "configured_capacity_ah": 100,
                "max_discharge_current_a": 250,
            },
        ),
        {
            "console/session.txt": full_session(
                mods, WHEN, slots=8, stats={1: {"DOC_Times": 14}, 2: {"DOC_Times": 17}}
            ).text()
        },
        {
            "outcome": "reconfigure",
            "primary_cause": "over_current",
            "culprit_modules": [],
            "required_codes": ["over_current"],
        },
    )
    # 19 --------------------------------------------------------------- no module is master
    write_case(
        "reconfigure-no-master",
        base_case(
            "ex-no-master",
            stack=stack(3, "US3000C", "2023-06", p1={"role": "slave"}),
            symptoms=["bms_comms_alarm"],
        ),
        {},
        {
            "outcome": "reconfigure",
            "primary_cause": "dip_no_master",
            "culprit_modules": [],
            "required_codes": ["dip_no_master"],
        },
    )
    # 20 --------------------------------------------------------------- top-end imbalance trips over-voltage
    mods = healthy_mods(4, base=3470)
    mods[1] = Mod(2, cells(3455, {6: 190, 11: 160}), soc=100, bv_st="Over", volt_st="Normal", base="Idle")
    write_case(
        "rebalance-cell-over-voltage",
        base_case(
            "ex-cell-ov",
            stack=stack(4, "US5000", "2021-11", p2={"led": "red_flashing"}),
            symptoms=["not_charging"],
            inverter={**INVERTER_OK, "configured_modules": 4, "configured_capacity_ah": 400},
        ),
        {
            "console/session.txt": full_session(
                mods, WHEN, stats={2: {"Bat_OV_Times": 61, "Bat_HV_Times": 240}}
            ).text()
        },
        {
            "outcome": "rebalance",
            "primary_cause": "cell_over_voltage",
            "culprit_modules": [2],
            "required_codes": ["cell_over_voltage", "cell_imbalance"],
        },
    )
    # 21 --------------------------------------------------------------- LV-HUB group numbers with a gap
    st = stack(
        6,
        "US3000C",
        "2022-02",
        p1={"dip": "0100", "group": 1},
        p2={"group": 1, "address": 2},
        p3={"dip": "0110", "group": 3, "role": "master", "address": 1},
        p4={"group": 3, "address": 2},
        p5={"dip": "0001", "group": 4, "role": "master", "address": 1},
        p6={"group": 4, "address": 2},
    )
    write_case(
        "reconfigure-lvhub-group-gap",
        base_case("ex-lvhub-gap", stack=st, symptoms=["bms_comms_alarm"]),
        {},
        {
            "outcome": "reconfigure",
            "primary_cause": "dip_address_gap",
            "culprit_modules": [3, 5],
            "required_codes": ["dip_address_gap"],
        },
    )


if __name__ == "__main__":
    main()
