"""One timeline: BMS log, `pwr` states, `stat` counter rises and inverter events together; the thermal
family reading event temperatures; which module tripped first; one finding per (code, module)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pylondiag.casedir import load_case
from pylondiag.diagnosis import engine
from pylondiag.model.diagnosis import Cause, EvidenceRef, Finding, FindingSeverity, Outcome

LONDON = ZoneInfo("Europe/London")


def _log(entries: list[tuple[str, str, str]]) -> list[str]:
    """`log` output as the firmware prints it: (time 'YY-MM-DD hh:mm:ss', code, info), newest first."""
    out: list[str] = []
    for i, (when, code, info) in enumerate(reversed(entries)):
        out += [
            f" Index   : {len(entries) - i}",
            f" Time    : {when}",
            " ModID   : BMM",
            f" Code    : {code}",
            f" Info    : {info}",
            "",
        ]
    return out


def _module_console(shapes: Any, position: int, address: int, entries: list[tuple[str, str, str]]) -> str:
    s = shapes.Session(prompt="pylon>", eol="\n")
    s.header = [f"# captured 2026-01-29 15:30 on the console of the module at position {position}"]
    s.add("stat", shapes.stat(address))
    s.add("log", _log(entries))
    return s.text()


def _cold_nights(days: int) -> list[tuple[str, str, str]]:
    out = []
    for d in range(days):
        day = datetime(2026, 1, 24) + timedelta(days=d)
        out.append((f"{day:%y-%m-%d} 00:07:00", "0x1302", "Charge under temperature protect."))
        out.append((f"{day:%y-%m-%d} 12:48:00", "0", "The device start charging."))
    return out


def _bms_alarm_csv(days: int) -> str:
    """Solis-style generic CSV: 8213 'BMS Alarm' at midnight with the battery temperature, cleared at noon."""
    rows = ["time,code,message,severity,temperature"]
    for d in range(days):
        day = datetime(2026, 1, 24) + timedelta(days=d)
        rows.append(f"{day:%Y-%m-%d} 00:01:00,8213,BMS Alarm,fault,{-4.5 + d * 0.9:.1f}")
        rows.append(f"{day:%Y-%m-%d} 12:43:00,8213,BMS Alarm cleared,info,6.2")
    return "\n".join(rows) + "\n"


def _stack(n: int) -> list[dict[str, Any]]:
    return [
        {"position": p, "model": "US5000", "address": p, **({"role": "master"} if p == 1 else {})}
        for p in range(1, n + 1)
    ]


def _thermal_case(make_case: Any, shapes: Any, days: int) -> Path:
    case = {
        "site": {"timezone": "Europe/London", "location": "outdoors"},
        "inverter": {"brand": "solis", "battery_type": "lithium"},
        "stack": _stack(2),
        "symptoms": ["intermittent_trips"],
    }
    files = {
        "inverter/events.csv": _bms_alarm_csv(days),
        "console/module_pos1.txt": _module_console(shapes, 1, 1, _cold_nights(days)),
        "console/module_pos2.txt": _module_console(shapes, 2, 2, _cold_nights(days)),
    }
    return make_case(case, files)


def test_timeline_is_one_aware_sorted_series_of_both_origins(make_case, shapes) -> None:  # type: ignore[no-untyped-def]
    view = load_case(_thermal_case(make_case, shapes, 6))
    assert {e.origin for e in view.events} == {"bms", "inverter"}
    timed = [e for e in view.events if e.time is not None]
    assert all(e.time is not None and e.time.tzinfo is not None for e in timed)  # BMS log times made aware
    stamps = [e.time.timestamp() for e in timed if e.time is not None]
    assert stamps == sorted(stamps)
    first_bms = next(e for e in view.events if e.origin == "bms" and e.code == "0x1302")
    assert first_bms.time == datetime(2026, 1, 24, 0, 7, tzinfo=LONDON)
    # a log event is cited at its Info line (what happened), not at "Index : N"
    assert first_bms.provenance.raw == "Charge under temperature protect."
    lines = (Path(view.root or "") / first_bms.provenance.source).read_text().splitlines()
    assert "Charge under temperature protect." in lines[first_bms.provenance.line - 1]
    # the inverter's 00:01 alarm comes before the modules' 00:07 protection of the same night
    first_two = [e.origin for e in timed[:3]]
    assert first_two[0] == "inverter"


def test_event_temperatures_are_in_the_one_temperature_series(make_case, shapes) -> None:  # type: ignore[no-untyped-def]
    view = load_case(_thermal_case(make_case, shapes, 6))
    by_line = {t.provenance.line: t.celsius for t in view.temperatures}
    assert by_line[2] == -4.5 and by_line[3] == 6.2  # each event's own temperature, cited at its line
    assert len(view.temperatures) == 12
    assert all(t.provenance.source == "inverter/events.csv" for t in view.temperatures)


def test_recurring_cold_protections_with_a_generic_inverter_alarm_are_thermal_intermittent(
    make_case, shapes, diagnose_case
) -> None:  # type: ignore[no-untyped-def]
    """Regression (simulator thermal_intermittent seeds 4-5): the inverter logs only a generic 'BMS Alarm'
    with the battery temperature; the modules' own logs say 'Charge under temperature protect' on six
    nights. The thermal family gave nothing: it read temperature alarms from the inverter log only."""
    d = diagnose_case(_thermal_case(make_case, shapes, 6))
    assert d.outcome == Outcome.ENVIRONMENT and d.primary_cause == Cause.THERMAL_INTERMITTENT
    f = next(f for f in d.findings if f.code == Cause.THERMAL_INTERMITTENT)
    assert "6 different days" in f.message and "BMS logs" in f.message
    assert "-4.5" in f.message  # the temperatures recorded with the events, and where the coldest was read
    assert ("inverter/events.csv", 2) in {(e.source, e.line) for e in f.evidence}


def test_one_cold_night_is_not_intermittent(make_case, shapes, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    d = diagnose_case(_thermal_case(make_case, shapes, 1))
    assert Cause.THERMAL_INTERMITTENT not in {f.code for f in d.findings}


def test_stat_counter_rise_is_a_timeline_event_between_the_readings(make_case, shapes) -> None:  # type: ignore[no-untyped-def]
    a = shapes.Session(logged="14.11.26 09:00:00").add("stat 2", shapes.stat(2, Bat_UV_Times=3))
    b = shapes.Session(logged="15.11.26 10:00:00").add("stat 2", shapes.stat(2, Bat_UV_Times=9))
    view = load_case(make_case(None, {"console/a.txt": a.text(), "console/b.txt": b.text()}))
    rises = [e for e in view.events if e.occurred_after is not None]
    assert len(rises) == 1
    r = rises[0]
    assert r.kind.value == "cell_under_voltage" and r.module_address == 2 and "+6" in (r.code or "")
    assert r.occurred_after is not None and r.time is not None and r.occurred_after < r.time
    assert r.provenance.source == "console/b.txt" and "Bat UV Times" in r.provenance.raw


# ---------------------------------------------------------------- which module tripped first
def _pwr_session(shapes: Any, when: str, under: set[int]) -> str:
    mods = [shapes.Mod(a, shapes.cells(3330), soc=70) for a in (1, 2, 3)]
    for m in mods:
        if m.addr in under:
            m.bv_st = "Under"
    logged = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").strftime("%d.%m.%y %H:%M:%S")
    return shapes.Session(logged=logged).add("pwr", shapes.pwr_old(mods, 8, when)).text()


def test_first_trip_uses_the_inverter_log_to_pick_the_incident(make_case, shapes, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    """Address 1 tripped days earlier (another incident); on the day of the shutdown address 2 trips at
    18:40, address 3 at 18:50 and the inverter logs the bank going down at 18:52."""
    stack = [{"position": p, "model": "US3000C", "address": a} for p, a in ((1, 3), (2, 2), (3, 1))]
    csv = "time,code,message,severity\n2026-11-19 18:52:00,,BMS Alarm,fault\n"
    files = {
        "console/a_old.txt": _pwr_session(shapes, "2026-11-12 07:00:00", {1}),
        "console/b_1840.txt": _pwr_session(shapes, "2026-11-19 18:40:00", {2}),
        "console/c_1850.txt": _pwr_session(shapes, "2026-11-19 18:50:00", {2, 3}),
        "console/d_now.txt": _pwr_session(shapes, "2026-11-20 09:00:00", set()),
        "inverter/events.csv": csv,
    }
    d = diagnose_case(make_case({"stack": stack, "symptoms": ["whole_bank_shutdown"]}, files))
    first = [f for f in d.findings if "tripped the bank" in f.message]
    assert len(first) == 1
    f = first[0]
    assert f.module == 2 and f.code == Cause.CELL_UNDER_VOLTAGE
    assert "position 2 (address 2)" in f.message and "console/b_1840.txt line" in f.message
    assert "12 min before the inverter logged" in f.message
    assert {(e.source, e.line) for e in f.evidence} >= {("inverter/events.csv", 2)}
    assert any(e.source == "console/b_1840.txt" for e in f.evidence)


# ---------------------------------------------------------------- one finding per (code, module)
def _f(
    code: Cause, sev: FindingSeverity, conf: float, msg: str, line: int, module: int | None = None
) -> Finding:
    return Finding(
        code=code,
        severity=sev,
        module=module,
        confidence=conf,
        message=msg,
        evidence=[EvidenceRef(source="x.txt", line=line, quote="q")],
    )


def test_merge_keeps_one_finding_per_code_and_module() -> None:
    a = _f(Cause.INVERTER_COMMS_CONFIG, FindingSeverity.FAULT, 0.85, "Setting wrong. Fix: set it.", 1)
    b = _f(
        Cause.INVERTER_COMMS_CONFIG,
        FindingSeverity.FAULT,
        0.9,
        "Comms failures after the swap. Fix: set it.",
        2,
    )
    c = _f(Cause.INVERTER_COMMS_CONFIG, FindingSeverity.WARNING, 0.5, "Maybe.", 3, module=2)
    merged = engine.merge([a, c, b])
    assert [(f.code, f.module) for f in merged] == [
        (Cause.INVERTER_COMMS_CONFIG, None),
        (Cause.INVERTER_COMMS_CONFIG, 2),
    ]
    m = merged[0]
    assert m.confidence == 0.9 and m.message.startswith("Comms failures after the swap. Fix: set it.")
    assert m.message.endswith("Also: Setting wrong.")  # its Fix is the same step: said once
    assert [e.line for e in m.evidence] == [2, 1]


def test_settings_and_log_give_one_comms_finding(make_case, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    case = {
        "inverter": {"brand": "sunsynk", "battery_type": "lithium", "battery_protocol": "03"},
        "history": [{"date": "2026-10-30", "event": "inverter_replaced"}],
        "symptoms": ["bms_comms_alarm"],
    }
    csv = "time,code,message\n2026-10-31 07:12,F58,BMS_Comm_Fail\n2026-11-01 07:12,F58,BMS_Comm_Fail\n"
    d = diagnose_case(make_case(case, {"inverter/events.csv": csv}))
    comms = [f for f in d.findings if f.code == Cause.INVERTER_COMMS_CONFIG]
    assert len(comms) == 1
    refs = {(e.source, e.line, e.key) for e in comms[0].evidence}
    assert ("case.yaml", None, "inverter.battery_protocol") in refs
    assert ("inverter/events.csv", 2, None) in refs


def test_first_trip_tie_is_said_not_hidden(make_case, shapes, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    """Addresses 2 and 3 are both in protection in the same snapshot: the first is not certain."""
    stack = [{"position": p, "model": "US3000C", "address": p} for p in (1, 2, 3)]
    files = {
        "console/b_1840.txt": _pwr_session(shapes, "2026-11-19 18:40:00", {2, 3}),
        "console/d_now.txt": _pwr_session(shapes, "2026-11-20 09:00:00", set()),
    }
    d = diagnose_case(make_case({"stack": stack, "symptoms": ["whole_bank_shutdown"]}, files))
    f = next(f for f in d.findings if "tripped the bank" in f.message)
    assert f.module == 2 and f.confidence == 0.5 and "not certain" in f.message


def test_first_trip_needs_the_symptom(make_case, shapes, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    stack = [{"position": p, "model": "US3000C", "address": p} for p in (1, 2, 3)]
    files = {
        "console/b_1840.txt": _pwr_session(shapes, "2026-11-19 18:40:00", {2}),
        "console/d_now.txt": _pwr_session(shapes, "2026-11-20 09:00:00", set()),
    }
    d = diagnose_case(make_case({"stack": stack}, files))
    assert not [f for f in d.findings if "tripped the bank" in f.message]


def test_charge_voltage_setting_and_log_give_one_limits_finding(make_case, diagnose_case) -> None:  # type: ignore[no-untyped-def]
    case = {"inverter": {"brand": "sofar", "charge_voltage_v": 56.4}, "stack": _stack(2)}
    csv = "time,code,message,severity\n" + "".join(
        f"2026-11-{d:02d} 13:00,,Battery over voltage,fault\n" for d in (1, 2, 3)
    )
    d = diagnose_case(make_case(case, {"inverter/events.csv": csv}))
    limits = [f for f in d.findings if f.code == Cause.INVERTER_CHARGE_LIMITS]
    assert len(limits) == 1
    refs = {(e.source, e.line, e.key) for e in limits[0].evidence}
    assert ("case.yaml", None, "inverter.charge_voltage_v") in refs and (
        "inverter/events.csv",
        2,
        None,
    ) in refs
    assert d.outcome == Outcome.RECONFIGURE and d.primary_cause == Cause.INVERTER_CHARGE_LIMITS
