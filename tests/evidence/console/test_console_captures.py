"""Every real capture in shared/captures/console/ reads with zero warnings, and holds what it holds.

The captures are read in place (never copied). Each file has its own check below: a capture that
appears without one fails ``test_every_capture_has_a_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from _console_helpers import feed_in_chunks, provenances, records_of, spec_lines

from pylondiag.evidence.console import read_console
from pylondiag.model.console import (
    BatTable,
    CommandBlock,
    CommandError,
    CommCounters,
    ConsoleCapture,
    GenericRecord,
    GetPwrRecord,
    HelpRecord,
    InfoRecord,
    PwrDetail,
    PwrSys,
    PwrTable,
    SohTable,
    StatCounters,
    TimeRecord,
)

Check = Callable[[ConsoleCapture], None]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def deco(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return deco


def capture_files() -> list[str]:
    from shared_paths import CAPTURES  # the same path the fixtures use

    folder = CAPTURES / "console"
    return sorted(p.name for p in folder.glob("*.txt")) if folder.is_dir() else []


def read(captures_dir: Path, name: str) -> tuple[bytes, ConsoleCapture]:
    data = (captures_dir / name).read_bytes()
    return data, read_console(data, name)


def only(cap: ConsoleCapture, kind: type) -> list:  # type: ignore[type-arg]
    return [r for r in cap.records if isinstance(r, kind)]


# ---------------------------------------------------------------- pwr (stack tables)
@check("pwr__US2000C-B67.5.0-mixed-US2000__Hrabovszki1023_pylontech-console.txt")
def _pwr_mixed(cap: ConsoleCapture) -> None:
    (t,) = only(cap, PwrTable)
    assert t.provenance.line == 9
    assert t.columns[-2:] == ("MosTempr", "M.T.St")
    assert len(t.rows) == 16
    present = [r for r in t.rows if not r.absent]
    assert [r.address for r in present] == [1, 2, 3, 4, 5]
    assert [r.voltage_mv for r in present] == [49726, 49725, 49767, 49768, 49679]
    assert [r.current_ma for r in present] == [-3037, -2700, -2348, -2189, -3598]
    assert [r.temperature_mc for r in present] == [29300, 29100, 29000, 28000, 26000]
    assert [(r.cell_voltage_low_mv, r.cell_voltage_high_mv) for r in present] == [
        (3315, 3316),
        (3314, 3316),
        (3316, 3319),
        (3317, 3320),
        (3311, 3313),
    ]
    assert [(r.cell_temp_low_mc, r.cell_temp_high_mc) for r in present] == [
        (26000, 26600),
        (26600, 27100),
        (26000, 27000),
        (26000, 26000),
        (23400, 23800),
    ]
    assert [r.soc_pct for r in present] == [96, 96, 96, 96, 95]
    assert {r.base_state for r in present} == {"Dischg"}
    assert {
        (r.volt_state, r.curr_state, r.temp_state, r.cell_volt_state, r.cell_temp_state) for r in present
    } == {("Normal",) * 5}
    assert present[0].module_time == datetime(2026, 7, 17, 1, 20, 56)
    assert present[4].module_time == datetime(2026, 7, 17, 1, 20, 54)
    # modules 3 and 4 are the older US2000: no MOSFET sensor, printed "-" (None, never 0)
    assert [r.mos_temperature_mc for r in present] == [27100, 27100, None, None, 24600]
    assert [r.mos_temp_state for r in present] == ["Normal", "Normal", None, None, "Normal"]
    absent = [r for r in t.rows if r.absent]
    assert [r.address for r in absent] == list(range(6, 17))
    assert all(r.voltage_mv is None and r.soc_pct is None and r.module_time is None for r in absent)
    assert all(r.extra == {} for r in t.rows)
    assert cap.captured_at == datetime(2026, 7, 17, 1, 20, 56)


@check("pwr__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _pwr_us2kbpl(cap: ConsoleCapture) -> None:
    (t,) = only(cap, PwrTable)
    assert "MosTempr" not in t.columns
    assert len(t.rows) == 8
    present = [r for r in t.rows if not r.absent]
    assert [(r.address, r.voltage_mv, r.current_ma) for r in present] == [(1, 50691, 3806), (2, 50673, 4087)]
    assert [r.temperature_mc for r in present] == [17000, 16000]
    assert [(r.cell_voltage_low_mv, r.cell_voltage_high_mv) for r in present] == [(3378, 3381), (3377, 3380)]
    assert [r.soc_pct for r in present] == [89, 89]
    assert {r.base_state for r in present} == {"Charge"}
    assert [r.module_time for r in present] == [
        datetime(2025, 12, 21, 20, 53, 6),
        datetime(2025, 12, 21, 20, 53, 4),
    ]
    assert [r.address for r in t.rows if r.absent] == [3, 4, 5, 6, 7, 8]
    assert all(r.mos_temperature_mc is None for r in t.rows)
    assert cap.captured_at == datetime(2025, 12, 21, 20, 53, 6)


# ---------------------------------------------------------------- pwr N
PROTECT_26 = [
    "BOV",
    "BHV",
    "BLV",
    "BUV",
    "POV",
    "PHV",
    "PLV",
    "PUV",
    "CBOT",
    "CBHT",
    "CBLT",
    "CBUT",
    "DBOT",
    "DBHT",
    "DBLT",
    "DBUT",
    "POT",
    "PHT",
    "COC",
    "COC2",
    "COCA",
    "DOCA",
    "DOC",
    "DOC2",
    "SC",
    "LCOUL",
]


def _detail(cap: ConsoleCapture) -> PwrDetail:
    (d,) = only(cap, PwrDetail)
    assert d.total_coulomb_mah == 50000 and d.max_voltage_mv == 54000
    assert (d.volt_status, d.current_status, d.temp_status, d.soh_status) == ("Normal",) * 4
    assert d.heater_status == "OFF"
    assert d.bat_events == 0 and d.system_fault == 0
    assert len(d.fields) == 19
    return d


@check("pwr_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _pwr_1(cap: ConsoleCapture) -> None:
    d = _detail(cap)
    assert (d.address, d.voltage_mv, d.current_ma, d.temperature_mc, d.soc_pct) == (
        1,
        49769,
        -2185,
        29300,
        94,
    )
    assert (d.charge_times, d.basic_status, d.discharge_seconds, d.charge_seconds) == (
        26076,
        "Dischg",
        3320,
        None,
    )
    assert d.coul_status == "Normal" and d.power_events == 0 and d.power_event_names == ()
    assert list(d.protect_enabled) == PROTECT_26


@check("pwr_1_charge__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _pwr_1_charge(cap: ConsoleCapture) -> None:
    d = _detail(cap)
    assert (d.address, d.voltage_mv, d.current_ma, d.temperature_mc, d.soc_pct) == (
        1,
        50749,
        16684,
        31400,
        77,
    )
    assert (d.charge_times, d.basic_status, d.charge_seconds, d.discharge_seconds) == (
        27259,
        "Charge",
        1306,
        None,
    )
    assert list(d.protect_enabled) == PROTECT_26


@check("pwr_2_COULFULL__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _pwr_2_coulfull(cap: ConsoleCapture) -> None:
    d = _detail(cap)
    assert (d.address, d.voltage_mv, d.current_ma, d.temperature_mc, d.soc_pct) == (2, 52437, 80, 30600, 100)
    assert (d.charge_times, d.basic_status, d.charge_seconds) == (0, "Charge", 0)
    assert d.coul_status == "Full"
    assert d.power_events == 0x2000 and d.power_event_names == ("COULFULL",)
    (pe,) = [f for f in d.fields if f.key == "Power Events"]
    assert pe.provenance.line == 24 and "COULFULL" in pe.provenance.raw


@check("pwr_3__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _pwr_3(cap: ConsoleCapture) -> None:
    d = _detail(cap)
    assert (d.address, d.voltage_mv, d.current_ma, d.temperature_mc, d.soc_pct) == (
        3,
        49801,
        -2033,
        29000,
        94,
    )
    assert (d.charge_times, d.basic_status, d.discharge_seconds) == (0, "Dischg", 0)
    # this module also enables the PLV/PUT power-board temperature protections
    assert list(d.protect_enabled) == [*PROTECT_26[:18], "PLT", "PUT", *PROTECT_26[18:]]
    assert d.provenance.line == 9


# ---------------------------------------------------------------- bat
def _bat(cap: ConsoleCapture) -> list[BatTable]:
    tables = only(cap, BatTable)
    for t in tables:
        assert [c.cell for c in t.cells] == list(range(15))
    return tables


@check("bat_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _bat_1(cap: ConsoleCapture) -> None:
    (t,) = _bat(cap)
    assert t.address == 1 and t.columns[-3:] == ("SOC", "Coulomb", "BAL")
    assert [c.voltage_mv for c in t.cells] == [3316] * 4 + [3315] + [3316] * 4 + [3315] + [3316] * 4 + [3315]
    assert {c.current_ma for c in t.cells} == {-2964}
    assert [c.temperature_mc for c in t.cells] == [26400] * 5 + [26600] * 5 + [26000] * 5
    assert {c.soc_pct for c in t.cells} == {96}
    assert [c.coulomb_mah for c in t.cells] == [
        44628,
        44628,
        44628,
        44632,
        44628,
        44628,
        44632,
        44628,
        44628,
        44632,
        44606,
        44628,
        44632,
        44632,
        44628,
    ]
    assert all(c.balancing is False for c in t.cells)
    assert {(c.base_state, c.volt_state, c.curr_state, c.temp_state) for c in t.cells} == {
        ("Dischg", "Normal", "Normal", "Normal")
    }


@check("bat_4__mixed-US2000C-US2000-stack-module4__Hrabovszki1023_pylontech-console.txt")
def _bat_4(cap: ConsoleCapture) -> None:
    (t,) = _bat(cap)
    assert t.address == 4
    assert [c.voltage_mv for c in t.cells] == [
        3318,
        3320,
        3319,
        3317,
        3319,
        3318,
        3318,
        3319,
        3320,
        3320,
        3319,
        3320,
        3320,
        3319,
        3319,
    ]
    assert {c.current_ma for c in t.cells} == {-2064}
    assert {c.temperature_mc for c in t.cells} == {26000}
    assert {(c.soc_pct, c.coulomb_mah, c.balancing) for c in t.cells} == {(95, 44746, False)}


@check("bat__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _bat_us2kbpl(cap: ConsoleCapture) -> None:
    (t,) = _bat(cap)
    assert t.address is None
    assert "SOC" not in t.columns and "BAL" not in t.columns
    assert [c.voltage_mv for c in t.cells] == [
        3379,
        3379,
        3379,
        3379,
        3381,
        3378,
        3378,
        3378,
        3380,
        3379,
        3380,
        3380,
        3378,
        3380,
        3380,
    ]
    assert [c.temperature_mc for c in t.cells] == [14000] * 10 + [13000] * 5
    # "89%  42586 mAH" under the one Coulomb header: SOC and remaining charge
    assert {(c.soc_pct, c.coulomb_mah, c.current_ma, c.base_state) for c in t.cells} == {
        (89, 42586, 4076, "Charge")
    }
    assert all(c.balancing is None for c in t.cells)


@check("bat_balancing_imbalance__US2000C__GPollakDiener_Pylontech-Battery-Investigation_20260713.txt")
def _bat_gp_0713(cap: ConsoleCapture) -> None:
    (t,) = _bat(cap)
    assert [c.voltage_mv for c in t.cells] == [
        3448,
        3439,
        3426,
        3441,
        3372,
        3382,
        3426,
        3368,
        3441,
        3451,
        3446,
        3461,
        3345,
        3469,
        3467,
    ]
    assert t.cells[12].voltage_mv == 3345
    assert [c.cell for c in t.cells if c.balancing is False] == [12]
    assert [c.soc_pct for c in t.cells] == [
        100,
        100,
        100,
        100,
        98,
        98,
        100,
        98,
        100,
        100,
        100,
        100,
        99,
        100,
        100,
    ]
    assert t.cells[12].coulomb_mah == 48301 and t.cells[4].coulomb_mah == 47829
    assert {(c.current_ma, c.base_state) for c in t.cells} == {(0, "Idle")}
    assert [c.temperature_mc for c in t.cells] == [25600] * 5 + [25200] * 10
    assert cap.captured_at == datetime(2026, 7, 13, 19, 59, 48)


@check("bat_balancing_imbalance__US2000C__GPollakDiener_Pylontech-Battery-Investigation_20260714.txt")
def _bat_gp_0714(cap: ConsoleCapture) -> None:
    (t,) = _bat(cap)
    assert [c.voltage_mv for c in t.cells] == [
        3500,
        3494,
        3493,
        3490,
        3413,
        3468,
        3489,
        3451,
        3498,
        3500,
        3497,
        3505,
        3377,
        3498,
        3505,
    ]
    assert t.cells[12].voltage_mv == 3377
    assert [c.cell for c in t.cells if c.balancing is False] == [12]
    assert {(c.soc_pct, c.coulomb_mah, c.temperature_mc) for c in t.cells} == {(99, 48799, 25000)}
    # the echo follows a noise byte (0xFE) on the same line; the logger stamped the line before
    assert t.provenance.line == 5
    assert cap.captured_at == datetime(2026, 7, 14, 18, 9, 43)


@check("bat_series_charge_to_idle_CRLF__US2000C__GPollakDiener_Pylontech-Battery-Investigation.txt")
def _bat_gp_series(cap: ConsoleCapture) -> None:
    tables = _bat(cap)
    assert len(tables) == 5
    assert [t.provenance.line for t in tables] == [4, 24, 44, 64, 84]
    assert [t.cells[12].voltage_mv for t in tables] == [3333, 3491, 3443, 3412, 3374]
    assert [t.cells[4].voltage_mv for t in tables] == [3360, 3438, 3442, 3445, 3437]
    assert [[c.cell for c in t.cells if c.balancing is False] for t in tables] == [
        [4, 7, 12],
        [4, 5, 7],
        [4, 5, 7],
        [5, 7, 12],
        [12],
    ]
    assert [t.cells[0].current_ma for t in tables] == [0, 1583, 855, 426, 0]
    assert [t.cells[0].base_state for t in tables] == ["Idle", "Charge", "Charge", "Charge", "Idle"]
    assert [max(c.voltage_mv or 0 for c in t.cells) for t in tables] == [3446, 3558, 3565, 3569, 3565]
    assert cap.captured_at is None


# ---------------------------------------------------------------- soh, stat
@check("soh__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _soh(cap: ConsoleCapture) -> None:
    (t,) = only(cap, SohTable)
    assert t.address == 1
    assert [c.cell for c in t.cells] == list(range(15))
    assert [c.voltage_mv for c in t.cells] == [
        3378,
        3378,
        3378,
        3377,
        3378,
        3378,
        3377,
        3378,
        3377,
        3378,
        3379,
        3378,
        3378,
        3378,
        3379,
    ]
    assert {(c.soh_count, c.soh_status) for c in t.cells} == {(0, "Normal")}


STAT_HRAB = {
    "Data Items": 109,
    "HisData Items": 1800,
    "Charge Cnt.": 0,
    "Discharge Cnt.": 1369,
    "Charge Times": 26076,
    "Status Cnt.": 1368,
    "Idle Times": 1990,
    "COC Times": 0,
    "COC2 Times": 0,
    "DOC Times": 0,
    "DOC2 Times": 0,
    "COCA Times": 0,
    "DOCA Times": 0,
    "SC Times": 0,
    "Bat OV Times": 0,
    "Bat HV Times": 25,
    "Bat LV Times": 0,
    "Bat UV Times": 0,
    "Bat SLP Times": 0,
    "Pwr OV Times": 21,
    "Pwr HV Times": 25,
    "Pwr LV Times": 0,
    "Pwr UV Times": 0,
    "Pwr SLP Times": 0,
    "COT Times": 0,
    "CUT Times": 0,
    "DOT Times": 0,
    "DUT Times": 0,
    "CHT Times": 0,
    "CLT Times": 0,
    "DHT Times": 0,
    "DLT Times": 0,
    "Shut Times": 3256,
    "Reset Times": 35,
    "RV Times": 0,
    "Input OV Times": 6,
    "SOH Times": 1,
    "BMICERR Times": 0,
    "CYCLE Times": 666,
    "SOH": 93,
    "Pwr Percent": 94,
    "Pwr Coulomb": 158824440,
    "Dsg Cap": 33318354,
    "HT@0.5C Cnt": 0,
    "LT@0.5C Cnt": 0,
    "HT Cnt": 0,
    "LT Cnt": 0,
    "LV Cnt": 0,
    "LifeWarn Times": 0,
    "LifeAlarm Times": 0,
}
STAT_DONV = {
    "Data Items": 1689,
    "HisData Items": 1794,
    "MiscData Items": 6230,
    "Charge Cnt.": 4681,
    "Discharge Cnt.": 0,
    "Charge Times": 1150,
    "Status Cnt.": 4680,
    "Idle Times": 23858,
    "COC Times": 0,
    "DOC Times": 0,
    "COCA Times": 0,
    "DOCA Times": 0,
    "SC Times": 12,
    "Bat OV Times": 56,
    "Bat HV Times": 5832,
    "Bat LV Times": 0,
    "Bat UV Times": 0,
    "Bat SLP Times": 0,
    "Pwr OV Times": 4688,
    "Pwr HV Times": 6734,
    "Pwr LV Times": 0,
    "Pwr UV Times": 0,
    "Pwr SLP Times": 0,
    "COT Times": 0,
    "CUT Times": 0,
    "DOT Times": 0,
    "DUT Times": 0,
    "CHT Times": 0,
    "CLT Times": 0,
    "DHT Times": 0,
    "DLT Times": 0,
    "Shut Times": 329,
    "Reset Times": 67,
    "RV Times": 0,
    "Input OV Times": 0,
    "SOH Times": 0,
    "BMICERR Times": 0,
    "CYCLE Times": 430,
    "Pwr Percent": 89,
    "Pwr Coulomb": 153311400,
    "Dsg Cap": 21506462,
    "HT@0.5C Cnt": 0,
    "LT@0.5C Cnt": 0,
    "HT Cnt": 0,
    "LT Cnt": 0,
    "LV Cnt": 76,
    "LifeWarn Times": 0,
    "LifeAlarm Times": 0,
}


@check("stat__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _stat_hrab(cap: ConsoleCapture) -> None:
    (s,) = only(cap, StatCounters)
    assert s.address == 1
    assert s.counters == STAT_HRAB
    assert s.other == {}
    assert (s.cycle_count, s.soh_pct) == (666, 93)
    assert s.lines["Device address"] == 9 and s.lines["Bat HV Times"] == 25 and s.lines["CYCLE Times"] == 48


@check("stat__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _stat_donv(cap: ConsoleCapture) -> None:
    (s,) = only(cap, StatCounters)
    assert s.address == 1
    assert s.counters == STAT_DONV
    assert s.cycle_count == 430
    assert s.soh_pct is None  # this firmware prints no SOH line: unknown, not 0
    assert s.lines["Bat HV Times"] == 36  # \r\r\n ends two lines


# ---------------------------------------------------------------- info, time, pwrsys, getpwr, ci, help
@check("info__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _info_hrab(cap: ConsoleCapture) -> None:
    (i,) = only(cap, InfoRecord)
    assert (i.address, i.manufacturer, i.device_name, i.board_version) == (1, "Pylon", "US2000C", "V10R04")
    assert (i.main_soft_version, i.soft_version, i.boot_version, i.comm_version) == (
        "B67.5.0",
        "V1.7",
        "V2.0",
        "V2.0",
    )
    assert (i.release_date, i.barcode, i.specification, i.cell_number) == (
        "20-12-11",
        "<REDACTED>",
        "48V/50AH",
        15,
    )
    assert (i.max_discharge_current_ma, i.max_charge_current_ma) == (-90000, 90000)
    assert {f.key: f.value for f in i.fields}["Console Port rate"] == "115200"
    assert len(i.fields) == 16


@check("info__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _info_donv(cap: ConsoleCapture) -> None:
    (i,) = only(cap, InfoRecord)
    assert (i.address, i.manufacturer, i.device_name, i.board_version) == (
        1,
        "Pylon",
        "US2KBPL",
        "PHANTOMSAV10R03",
    )
    assert (i.main_soft_version, i.soft_version, i.release_date) == ("B66.6", "V2.4", "20-05-28")
    assert (i.barcode, i.specification, i.cell_number) == ("PPTBH02400710243", "48V/50AH", 15)
    assert (i.max_discharge_current_ma, i.max_charge_current_ma) == (-100000, 102000)
    assert {f.key: f.value for f in i.fields}["EPONPort rate"] == "1200"


@check("time__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _time_hrab(cap: ConsoleCapture) -> None:
    (t,) = only(cap, TimeRecord)
    assert (t.time, t.clock, t.test_result) == (datetime(2026, 7, 17, 1, 40, 48), "RTC", "pass")
    assert cap.captured_at == datetime(2026, 7, 17, 1, 40, 48)


@check("time__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _time_donv(cap: ConsoleCapture) -> None:
    (t,) = only(cap, TimeRecord)
    assert (t.time, t.clock) == (datetime(2025, 12, 21, 21, 14, 53), "Ds3231")
    assert cap.captured_at == datetime(2025, 12, 21, 21, 14, 53)


@check("pwrsys__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _pwrsys(cap: ConsoleCapture) -> None:
    (p,) = only(cap, PwrSys)
    assert p.system_state == "discharging"
    assert (p.total_num, p.present_num, p.sleep_num) == (5, 5, 0)
    assert (p.system_voltage_mv, p.system_current_ma, p.system_soc_pct, p.system_soh_pct) == (
        49777,
        -11164,
        93,
        94,
    )
    assert (p.remaining_capacity_mah, p.full_charge_capacity_mah) == (217324, 233850)
    assert (p.cell_voltage_high_mv, p.cell_voltage_avg_mv, p.cell_voltage_low_mv) == (3322, 3318, 3314)
    assert (p.cell_temp_high_mc, p.cell_temp_avg_mc, p.cell_temp_low_mc) == (27000, 25700, 23400)
    assert (p.recommend_charge_voltage_mv, p.recommend_discharge_voltage_mv) == (53250, 46000)
    assert (p.recommend_charge_current_ma, p.recommend_discharge_current_ma) == (10000, -25000)
    assert (p.system_recommend_charge_voltage_mv, p.system_recommend_discharge_voltage_mv) == (53250, 46000)
    assert (p.system_recommend_charge_current_ma, p.system_recommend_discharge_current_ma) == (50000, -125000)


@check("getpwr__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _getpwr(cap: ConsoleCapture) -> None:
    (g,) = only(cap, GetPwrRecord)
    assert (g.voltage_mv, g.current_ma, g.temperature_mc, g.remaining_mah) == (49768, -2632, 29300, 43259)
    assert (g.base_state, g.volt_state, g.curr_state, g.temp_state) == (
        "Dischg",
        "Normal",
        "Normal",
        "Normal",
    )
    assert [c.voltage_mv for c in g.cells] == [3317, 3318, 3318, 3318, 3317] + [3318] * 10
    assert [c.temperature_mc for c in g.cells] == [26300] * 5 + [26500] * 5 + [26000] * 5
    assert g.trailing_values == (0, 666)
    # the echo line carries a stray '>' before the prompt
    assert g.provenance.line == 9 and g.provenance.raw == ">pylon_debug>getpwr"


@check("ci__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _ci(cap: ConsoleCapture) -> None:
    (c,) = only(cap, CommCounters)
    assert len(c.counters) == 24
    assert (c.counters["US1 Rx"], c.counters["US1 Tx"], c.counters["CAN Tx"]) == (
        48830643,
        12209023,
        73249320,
    )
    assert (c.counters["CAN Rx"], c.counters["US0 Rx"], c.counters["Probe Pwr Addr"]) == (0, 0, 255)
    assert c.exist_pack_num == 5
    assert c.lines["Exist Pack Num"] == 29
    assert (
        sum(c.counters[f"US1 {k}"] for k in ("Format", "Addr", "Ver", "Req", "LChkSum", "ChkSum", "AckErr"))
        == 0
    )


@check("help__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _help_hrab(cap: ConsoleCapture) -> None:
    (h,) = only(cap, HelpRecord)
    assert len(h.commands) == 101  # 112 entries, 11 remote ones repeat a local one
    assert h.commands["pwr"] == "Power data show - pwr [index]"
    assert h.commands["soh"] == "State of health - soh [addr]"
    assert h.commands["config"].startswith("config [pov/povr") and "[hwsleep]" in h.commands["config"]
    assert {"couls", "trdagevolt", "pwrsys", "datalist"} <= set(h.commands)


@check("help__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt")
def _help_donv(cap: ConsoleCapture) -> None:
    (h,) = only(cap, HelpRecord)
    assert list(h.commands) == [
        "bat", "data", "datalist", "disp", "getpwr", "help", "info", "log", "login", "logout", "pwr", "shut",
        "soh", "stat", "time", "trst", "updata",
    ]  # fmt: skip
    assert h.commands["log"] == "Log information show - log"


# ---------------------------------------------------------------- errors
@check("login_logout_errors__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt")
def _login(cap: ConsoleCapture) -> None:
    assert [r.kind for r in cap.records] == ["generic", "error", "generic", "pwrsys", "error"]
    login_ok, login_err, logout, pwrsys, rejected = cap.records
    assert isinstance(login_ok, GenericRecord) and login_ok.command == "login <redacted>"
    assert isinstance(login_err, CommandError) and login_err.message == "Invalid command or fail to excute."
    assert login_err.provenance.line == 12
    assert isinstance(logout, GenericRecord) and logout.command == "logout"
    assert isinstance(pwrsys, PwrSys) and pwrsys.system_state == "charging"
    assert isinstance(rejected, CommandError)
    assert rejected.command == "pwrsys" and rejected.message == "Unknown command 'pwrsys' - try 'help'"


# ---------------------------------------------------------------- every file
def test_every_capture_has_a_check(captures_dir: Path) -> None:
    files = capture_files()
    assert files, f"no captures in {captures_dir}"
    missing = sorted(set(files) - set(CHECKS))
    assert not missing, f"captures without assertions in {__file__}: {missing}"


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
def test_capture_reads_clean_and_holds_what_it_holds(captures_dir: Path, name: str) -> None:
    assert name in CHECKS, f"{name}: add its check to {__file__}"
    _data, cap = read(captures_dir, name)
    assert cap.warnings == ()
    assert cap.records
    CHECKS[name](cap)


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
def test_capture_provenance_lines_follow_the_spec(captures_dir: Path, name: str) -> None:
    """Every provenance: line numbered as validate_diagnosis.py numbers it, raw == that line exactly."""
    data, cap = read(captures_dir, name)
    lines = spec_lines(data)
    count = 0
    for record in cap.records:
        for p in provenances(record):
            count += 1
            assert p.source == name
            assert 1 <= p.line <= len(lines)
            assert lines[p.line - 1] == p.raw, (p.line, p.raw)
            if p.end_line is not None:
                assert p.line <= p.end_line <= len(lines)
    assert count >= len(cap.records)


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_capture_chunking_gives_identical_results(captures_dir: Path, name: str, size: int) -> None:
    data = (captures_dir / name).read_bytes()
    whole = feed_in_chunks(data, len(data) or 1, name)
    assert feed_in_chunks(data, size, name) == whole
    assert records_of(feed_in_chunks(data, size, name), name) == records_of(whole, name)


def test_citations_pass_the_spec_validator(captures_dir: Path, validator: Path) -> None:
    """Every record's line + a quote from its raw text is accepted by validate_diagnosis.py's own check."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("validate_diagnosis", validator)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cache: dict[str, object] = {}
    checked = 0
    for name in capture_files():
        _data, cap = read(captures_dir, name)
        lines = mod.file_lines(captures_dir, name, cache)
        for record in cap.records:
            for p in provenances(record):
                quote = p.raw.strip()[:40]
                assert mod.norm(quote) in mod.norm(lines[p.line - 1]), (name, p.line)
                checked += 1
    assert checked > 300


def test_looks_like_console(captures_dir: Path) -> None:
    from pylondiag.evidence.console import looks_like_console

    for name in capture_files():
        assert looks_like_console((captures_dir / name).read_bytes()), name
    assert looks_like_console(b"PYTES>log\r\n@\r\n Index : 1\r\n$$\r\nPYTES>")
    for other in (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)),
        b"<html><body><p>battery</p></body></html>",
        b"Time,Code,Description\n2026-07-13 19:59:48,F58,BMS communication fault\n",
        b"",
    ):
        assert not looks_like_console(other)


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
def test_records_are_valid_models(captures_dir: Path, name: str) -> None:
    """Records are built without pydantic validation (speed): validating them again changes nothing."""
    _data, cap = read(captures_dir, name)
    assert ConsoleCapture.model_validate_json(cap.model_dump_json()) == cap
    for r in cap.records:
        assert type(r).model_validate(r.model_dump()) == r
    for b in feed_in_chunks((captures_dir / name).read_bytes(), 4096, name):
        assert CommandBlock.model_validate(b.model_dump()) == b
