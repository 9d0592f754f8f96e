"""Step 2 rules (live BMS states, temperatures, stat counters, first trip) and capacity fade."""

from __future__ import annotations

from typing import Any

import pytest

from pylondiag.diagnosis.thresholds import (
    CELL_SPREAD_FAULT_MV,
    HOT_SPOT_DELTA_MC,
    LIFETIME_CELL_OV_WARN,
    LIFETIME_MIN_CYCLES,
    SOH_MONITOR_PCT,
    SOH_REPLACE_PCT,
)
from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome, Verdict

WHEN = "2026-11-20 09:00:00"


def _pwr_case(
    make_case: Any, shapes: Any, mods: list[Any], case: dict[str, Any] | None = None, new_fw: bool = False
) -> Any:
    table = (shapes.pwr_new if new_fw else shapes.pwr_old)(mods, 16, WHEN)
    return make_case(case, {"console/pwr.txt": shapes.Session().add("pwr", table).text()})


def _mods(shapes: Any, n: int, **kw: Any) -> list[Any]:
    return [shapes.Mod(a, shapes.cells(3330), soc=70, **kw) for a in range(1, n + 1)]


@pytest.mark.parametrize(
    ("field", "word", "code", "severity", "outcome"),
    [
        ("bv_st", "Under", Cause.CELL_UNDER_VOLTAGE, FindingSeverity.FAULT, Outcome.ON_SITE_CHECK),
        ("volt_st", "Low", Cause.CELL_UNDER_VOLTAGE, FindingSeverity.WARNING, Outcome.MONITOR),
        ("curr_st", "Over", Cause.OVER_CURRENT, FindingSeverity.FAULT, Outcome.RECONFIGURE),
    ],
)
def test_state_words(make_case, diagnose_case, shapes, field, word, code, severity, outcome):
    mods = _mods(shapes, 3)
    setattr(mods[1], field, word)
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    f = next(f for f in d.findings if f.code == code)
    assert f.module == 2 and f.severity == severity and word in (f.evidence[0].quote or "")
    assert d.outcome == outcome


@pytest.mark.parametrize(
    ("word", "spread", "severity", "outcome"),
    [
        ("Over", 80, FindingSeverity.FAULT, Outcome.REBALANCE),  # a high cell in an imbalanced module
        ("High", 80, FindingSeverity.WARNING, Outcome.MONITOR),
        ("Over", 20, FindingSeverity.INFO, Outcome.NO_FAULT),  # balanced cells: the BMS ending the charge
        ("Over", CELL_SPREAD_FAULT_MV, FindingSeverity.INFO, Outcome.NO_FAULT),  # boundary: still balanced
        ("Over", CELL_SPREAD_FAULT_MV + 1, FindingSeverity.FAULT, Outcome.REBALANCE),
    ],
)
def test_over_voltage_state_depends_on_the_cells(
    make_case, diagnose_case, shapes, word, spread, severity, outcome
):
    mods = [shapes.Mod(a, shapes.cells(3480, jitter=(0,)), soc=100) for a in (1, 2, 3)]
    mods[1] = shapes.Mod(2, shapes.cells(3480, {4: -spread}, jitter=(0,)), soc=100, bv_st=word)
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    f = next(f for f in d.findings if f.code == Cause.CELL_OVER_VOLTAGE)
    assert f.module == 2 and f.severity == severity and d.outcome == outcome
    if severity == FindingSeverity.INFO:
        assert "balanced" in f.message


@pytest.mark.parametrize(
    ("soc", "severity"),
    [(15, FindingSeverity.INFO), (20, FindingSeverity.INFO), (21, FindingSeverity.WARNING)],
)
def test_low_voltage_alarm_near_empty_is_not_a_fault(make_case, diagnose_case, shapes, soc, severity):
    mods = _mods(shapes, 2)
    mods[0].soc, mods[0].bv_st = soc, "Low"
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    (f,) = [f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE]
    assert f.severity == severity


def test_under_voltage_module_is_isolated(make_case, diagnose_case, shapes, stack_of):
    mods = _mods(shapes, 3)
    mods[1].volt_st, mods[1].bv_st = "Under", "Under"
    d = diagnose_case(
        _pwr_case(
            make_case,
            shapes,
            mods,
            {"stack": stack_of(3, p2={"led": "red"}), "symptoms": ["whole_bank_shutdown"]},
        )
    )
    m2 = next(m for m in d.modules if m.position == 2)
    assert m2.verdict == Verdict.ISOLATE and d.culprit_modules == [2] and d.on_site_spec is not None
    f = next(f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE)
    assert "stack[1].led" in {e.key for e in f.evidence}  # the LED corroborates the data
    text = " ".join(a.text for a in d.actions)
    assert "module count to 2" in text and "start button on the master only" in text
    assert any("2.0 V" in s for s in d.safety)


def test_all_healthy_states_no_fault(make_case, diagnose_case, shapes):
    d = diagnose_case(_pwr_case(make_case, shapes, _mods(shapes, 3), new_fw=True))
    assert d.outcome == Outcome.NO_FAULT and d.findings == []


def test_system_fault_is_bms_hardware(make_case, diagnose_case, shapes):
    mods = _mods(shapes, 2)
    s = shapes.Session().add("pwr 2", shapes.pwr_detail(mods[1], system_fault="0x0040"))
    d = diagnose_case(make_case(None, {"console/p.txt": s.text()}))
    assert (
        d.primary_cause == Cause.BMS_HARDWARE_FAULT
        and d.outcome == Outcome.REPLACE
        and d.culprit_modules == [2]
    )


@pytest.mark.parametrize(("delta", "found"), [(HOT_SPOT_DELTA_MC, True), (HOT_SPOT_DELTA_MC - 100, False)])
def test_hot_spot_boundary(make_case, diagnose_case, shapes, delta, found):
    mods = _mods(shapes, 4, temp=27000)
    mods[2].temp = 27000 + delta
    mods[2].thigh = mods[2].temp
    for m in mods:
        m.thigh = m.temp if m is mods[2] else 27000
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    hits = [f for f in d.findings if f.code == Cause.OVER_TEMPERATURE]
    assert bool(hits) is found
    if found:
        assert hits[0].module == 3 and hits[0].severity == FindingSeverity.WARNING  # 35 °C: watch it


def test_hot_module_over_limit_is_on_site(make_case, diagnose_case, shapes):
    mods = _mods(shapes, 4, temp=27000)
    mods[2].temp = mods[2].thigh = 54000
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    assert d.outcome == Outcome.ON_SITE_CHECK and d.culprit_modules == [3]


@pytest.mark.parametrize("n", [2, 3])
def test_one_module_in_temperature_alarm_is_that_module_not_the_room(make_case, diagnose_case, shapes, n):
    """Simulated over_temperature_module on a 2-module stack was called `environment`: one hot module of
    two is a module much hotter than its neighbour (spec: on_site_check), never the whole stack."""
    mods = _mods(shapes, n, temp=27000)
    mods[0].temp = mods[0].thigh = mods[0].tlow = 58000
    mods[0].temp_st = mods[0].bt_st = "High"
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    assert d.outcome == Outcome.ON_SITE_CHECK and d.culprit_modules == [1]
    assert d.primary_cause == Cause.OVER_TEMPERATURE


def test_two_of_two_modules_in_temperature_alarm_is_the_room(make_case, diagnose_case, shapes):
    mods = _mods(shapes, 2, temp=58000)
    for m in mods:
        m.thigh = m.tlow = 56000
        m.temp_st = m.bt_st = "High"
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    assert d.outcome == Outcome.ENVIRONMENT and d.culprit_modules == []


def test_whole_stack_hot_is_environment(make_case, diagnose_case, shapes):
    mods = _mods(shapes, 3, temp=51000)
    for m in mods:
        m.thigh = 52000
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    assert (
        d.outcome == Outcome.ENVIRONMENT
        and d.culprit_modules == []
        and d.primary_cause == Cause.OVER_TEMPERATURE
    )


@pytest.mark.parametrize(
    ("tlow", "severity"), [(-100, FindingSeverity.FAULT), (4000, FindingSeverity.WARNING), (5000, None)]
)
def test_cold_cells(make_case, diagnose_case, shapes, tlow, severity):
    mods = _mods(shapes, 3, temp=8000)
    for m in mods:
        m.tlow = tlow
    d = diagnose_case(_pwr_case(make_case, shapes, mods))
    hits = [f for f in d.findings if f.code == Cause.UNDER_TEMPERATURE]
    if severity is None:
        assert hits == []
    else:
        assert hits[0].severity == severity and hits[0].module is None
        if severity == FindingSeverity.FAULT:
            assert d.outcome == Outcome.ENVIRONMENT and d.culprit_modules == []


def test_ambient_below_zero_with_no_charging(make_case, diagnose_case, stack_of):
    case = {"site": {"ambient_c": -4}, "symptoms": ["not_charging"], "stack": stack_of(2)}
    d = diagnose_case(make_case(case))
    assert d.outcome == Outcome.ENVIRONMENT and d.primary_cause == Cause.UNDER_TEMPERATURE


# ---------------------------------------------------------------- capacity
@pytest.mark.parametrize(
    ("soh", "severity"),
    [
        (99, None),
        (SOH_MONITOR_PCT, None),
        (SOH_MONITOR_PCT - 1, FindingSeverity.WARNING),
        (SOH_REPLACE_PCT, FindingSeverity.WARNING),
        (SOH_REPLACE_PCT - 1, FindingSeverity.FAULT),
        (0, FindingSeverity.FAULT),
    ],
)
def test_soh_thresholds(make_case, diagnose_case, shapes, soh, severity):
    s = shapes.Session().add("stat 1", shapes.stat(1, soh=soh))
    d = diagnose_case(make_case(None, {"console/s.txt": s.text()}))
    hits = [f for f in d.findings if f.code == Cause.CAPACITY_FADE]
    if severity is None:
        assert hits == []
    else:
        assert hits[0].severity == severity
        assert d.outcome == (Outcome.REPLACE if severity == FindingSeverity.FAULT else Outcome.MONITOR)
        if soh == 0:
            assert "end of life" in hits[0].message


def test_soh_status_abnormal(make_case, diagnose_case, shapes):
    m = shapes.Mod(3, shapes.cells(3330), soc=60)
    s = shapes.Session().add("pwr 3", shapes.pwr_detail(m, soh_status="Abnormal"))
    d = diagnose_case(make_case(None, {"console/s.txt": s.text()}))
    assert d.primary_cause == Cause.CAPACITY_FADE and d.culprit_modules == [3]


# ---------------------------------------------------------------- stat counters / events
def test_lifetime_counters_alone_are_a_lead_not_a_fault(make_case, diagnose_case, shapes):
    """The DONV module's lifetime counters (Bat OV 56, SC 12): worth re-checking, never a verdict."""
    s = shapes.Session().add("stat 1", shapes.stat(1, Bat_OV_Times=56, Pwr_OV_Times=4688, SC_Times=12))
    d = diagnose_case(make_case(None, {"console/s.txt": s.text()}))
    assert d.outcome == Outcome.MONITOR and d.culprit_modules == []
    assert d.primary_cause == Cause.CELL_OVER_VOLTAGE
    ov = next(f for f in d.findings if f.code == Cause.CELL_OVER_VOLTAGE)
    assert ov.severity == FindingSeverity.WARNING
    assert "Bat OV Times 56" in ov.message and "bat 1" in ov.message
    # issue 11 item 7: a lifetime SC count with no symptom it explains is a note, not a lead
    sc = next(f for f in d.findings if f.code == Cause.OVER_CURRENT)
    assert "SC Times 12" in sc.message and sc.severity == FindingSeverity.INFO


@pytest.mark.parametrize(
    ("over", "cycles", "lead"),
    [
        ({"Bat_OV_Times": LIFETIME_CELL_OV_WARN - 1}, 400, False),
        ({"Bat_OV_Times": LIFETIME_CELL_OV_WARN}, 400, True),
        ({"Bat_HV_Times": 399}, 400, False),  # just under one high-cell alarm per cycle
        ({"Bat_HV_Times": 400}, 400, True),
        ({"Bat_HV_Times": 49}, LIFETIME_MIN_CYCLES - 1, False),  # too few cycles to judge a rate
        ({"Bat_HV_Times": 25}, 666, False),  # the healthy HRAB module's own counts
    ],
)
def test_lifetime_counter_boundaries(make_case, diagnose_case, shapes, over, cycles, lead):
    s = shapes.Session().add("stat 1", shapes.stat(1, cycles=cycles, **over))
    one = {"stack": [{"position": 1}]}  # the stack is this module: its `stat` is all there is to read
    d = diagnose_case(make_case(one, {"console/s.txt": s.text()}))
    assert any(f.code == Cause.CELL_OVER_VOLTAGE for f in d.findings) is lead
    assert d.outcome == (Outcome.MONITOR if lead else Outcome.NO_FAULT)


def test_lifetime_counters_read_twice_without_a_rise_are_history(make_case, diagnose_case, shapes):
    a = shapes.Session(logged="01.11.26 10:00:00").add("stat 1", shapes.stat(1, Bat_OV_Times=56))
    b = shapes.Session(logged="15.11.26 10:00:00").add("stat 1", shapes.stat(1, Bat_OV_Times=56))
    one = {"stack": [{"position": 1}]}
    d = diagnose_case(make_case(one, {"console/a.txt": a.text(), "console/b.txt": b.text()}))
    assert d.outcome == Outcome.NO_FAULT


def test_rising_counter_is_active_protection(make_case, diagnose_case, shapes):
    a = shapes.Session(logged="01.11.26 10:00:00").add("stat 2", shapes.stat(2, Bat_UV_Times=3))
    b = shapes.Session(logged="15.11.26 10:00:00").add("stat 2", shapes.stat(2, Bat_UV_Times=9))
    d = diagnose_case(make_case(None, {"console/a.txt": a.text(), "console/b.txt": b.text()}))
    f = next(f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE)
    assert f.module == 2 and "from 3 to 9" in f.message and len(f.evidence) == 2


def test_counter_odd_one_out(make_case, diagnose_case, shapes):
    s = shapes.Session()
    for a, ov in ((1, 0), (2, 1), (3, 40)):
        s.add(f"stat {a}", shapes.stat(a, Bat_OV_Times=ov))
    d = diagnose_case(make_case(None, {"console/s.txt": s.text()}))
    f = next(f for f in d.findings if f.code == Cause.CELL_OVER_VOLTAGE)
    assert f.module == 3 and f.severity == FindingSeverity.WARNING


def test_first_module_to_trip_is_named(make_case, diagnose_case, shapes, stack_of):
    """Two `pwr` captures: at 06:40 only address 3 is in under-voltage protection; at 06:45 the whole
    bank is down. Address 3 tripped first."""
    early = _mods(shapes, 3)
    early[2].bv_st = "Under"
    late = _mods(shapes, 3)
    for m in late:
        m.volt_st, m.bv_st, m.base = "Under", "Under", "Idle"
    a = shapes.Session(logged="19.11.26 06:40:05").add("pwr", shapes.pwr_old(early, 8, "2026-11-19 06:40:02"))
    b = shapes.Session(logged="19.11.26 06:45:05").add("pwr", shapes.pwr_old(late, 8, "2026-11-19 06:45:02"))
    case = {"stack": stack_of(3), "symptoms": ["whole_bank_shutdown"]}
    d = diagnose_case(make_case(case, {"console/0640.txt": a.text(), "console/0645.txt": b.text()}))
    first = [f for f in d.findings if "tripped the bank" in f.message]
    assert len(first) == 1 and first[0].module == 3 and first[0].code == Cause.CELL_UNDER_VOLTAGE
    # merged with the live-state finding for the same module: the first trip's line is still cited and named
    assert any(e.source == "console/0640.txt" for e in first[0].evidence)
    assert "position 3 (address 3)" in first[0].message and "console/0640.txt line" in first[0].message
    without_symptom = diagnose_case(
        make_case({"stack": stack_of(3)}, {"console/0640.txt": a.text(), "console/0645.txt": b.text()})
    )
    assert not [f for f in without_symptom.findings if "tripped the bank" in f.message]


def test_pwr_percent_stands_in_for_soh_on_old_firmware(make_case, diagnose_case, shapes):
    lines = [ln for ln in shapes.stat(1) if not ln.startswith("SOH  ")]
    lines = [ln if not ln.startswith("Pwr Percent") else "Pwr Percent     :       66" for ln in lines]
    d = diagnose_case(make_case(None, {"console/s.txt": shapes.Session().add("stat", lines).text()}))
    f = next(f for f in d.findings if f.code == Cause.CAPACITY_FADE)
    assert "Pwr Percent 66" in f.message and d.outcome == Outcome.REPLACE


def test_module_log_over_voltage_with_spread_cells(make_case, diagnose_case, shapes, stack_of):
    log = [
        " Index   : 2",
        " Time    : 26-11-19 12:30:00",
        " ModID   : BMM",
        " Code    : 0x1101",
        " Info    : Battery over voltage protect.",
        "",
        " Index   : 1",
        " Time    : 26-11-18 12:34:00",
        " ModID   : BMM",
        " Code    : 0x1101",
        " Info    : Battery over voltage protect.",
    ]
    soh = ["Power   2", "Battery    Voltage    SOHCount   SOHStatus"] + [
        f"{i:<11}{3650 if i == 6 else 3350:<11}0          Normal" for i in range(15)
    ]
    s = shapes.Session(header=["# captured on the console of the module at position 2"])
    s.add("soh", soh).add("log", log)
    case = {"observed_at": "2026-11-20T10:00", "stack": stack_of(3, p2={"led": "amber"})}
    d = diagnose_case(make_case(case, {"console/m2.txt": s.text()}))
    assert d.primary_cause == Cause.CELL_OVER_VOLTAGE and d.culprit_modules == [2]
    assert d.outcome == Outcome.REBALANCE


@pytest.mark.parametrize(
    ("symptoms", "led", "severity"),
    [
        (["whole_bank_shutdown"], "green", FindingSeverity.FAULT),
        ([], "red", FindingSeverity.FAULT),
        ([], "green", FindingSeverity.FAULT),  # the only module with such events
    ],
)
def test_module_log_under_voltage(make_case, diagnose_case, shapes, stack_of, symptoms, led, severity):
    log = [
        " Index   : 1",
        " Time    : 26-11-19 06:40:00",
        " ModID   : BMM",
        " Code    : 0x1202",
        " Info    : Battery under voltage protect.",
    ]
    s = shapes.Session(header=["# captured on the console of the module at position 3"]).add("log", log)
    case = {"observed_at": "2026-11-20T10:00", "stack": stack_of(3, p3={"led": led}), "symptoms": symptoms}
    d = diagnose_case(make_case(case, {"console/m3.txt": s.text()}))
    f = next(f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE)
    assert f.module == 3 and f.severity == severity
    assert d.outcome == Outcome.ON_SITE_CHECK and d.culprit_modules == [3]


def test_old_log_protections_are_not_current(make_case, diagnose_case, shapes, stack_of):
    log = [
        " Index   : 1",
        " Time    : 26-09-01 06:40:00",
        " ModID   : BMM",
        " Code    : 0x1202",
        " Info    : Battery under voltage protect.",
    ]
    s = shapes.Session(header=["# captured on the console of the module at position 3"]).add("log", log)
    d = diagnose_case(
        make_case({"observed_at": "2026-11-20T10:00", "stack": stack_of(3)}, {"console/m3.txt": s.text()})
    )
    assert not [f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE]


def test_under_voltage_on_every_module_is_the_bank_run_flat(make_case, diagnose_case, shapes, stack_of):
    files = {}
    for p in (1, 2):
        log = [
            " Index   : 1",
            " Time    : 26-11-19 06:40:00",
            " ModID   : BMM",
            " Code    : 0x1202",
            " Info    : Battery under voltage protect.",
        ]
        s = shapes.Session(header=[f"# captured on the console of the module at position {p}"]).add(
            "log", log
        )
        files[f"console/m{p}.txt"] = s.text()
    case = {"observed_at": "2026-11-20T10:00", "stack": stack_of(2), "symptoms": ["whole_bank_shutdown"]}
    d = diagnose_case(make_case(case, files))
    (f,) = [f for f in d.findings if f.code == Cause.CELL_UNDER_VOLTAGE]
    assert f.module is None and f.severity == FindingSeverity.WARNING and d.culprit_modules == []
