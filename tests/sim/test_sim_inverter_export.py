"""The simulated inverter's event log in every export shape the project reads.

Each writer's output is read back by ``read_inverter_log`` (shape recognised by content) with zero
warnings and the events the simulator produced: same kind, time and code as the same events read from
the generic event CSV (the reference shape), at the same instants as the simulator's clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pylondiag.casedir import load_case
from pylondiag.evidence.inverter_log import read_inverter_log
from pylondiag.model.event import BatteryEvent, EventKind
from pylondiag.sim import list_scenarios, write_case
from pylondiag.sim.casewriter import INVERTER_LOG_FILES, inverter_log_shape
from pylondiag.sim.inverter import BRANDS, Inverter, InverterEvent, InverterSettings

TZ = "Europe/London"
ZONE = ZoneInfo(TZ)


def _inverter(brand: str, events: list[InverterEvent]) -> Inverter:
    p = BRANDS[brand]
    settings = InverterSettings(brand, p.models[0], p.battery_type, p.protocol)
    inv = Inverter(settings, np.zeros(1), np.zeros(1, dtype=bool))
    inv.events.extend(events)
    return inv


def _ev(brand: str, when: datetime, kind: str, *, cleared: bool = False, temp: float = 12.5) -> InverterEvent:
    code, msg = BRANDS[brand].codes.get(kind, ("", "BMS communication lost"))
    if cleared:
        return InverterEvent(when, code, f"{msg} cleared", "info", temp, kind=kind, cleared=True)
    return InverterEvent(when, code, msg, "fault", temp, kind=kind)


def _story(brand: str) -> list[InverterEvent]:
    """Comms loss repeated 6 h later (still active), two overlapping protections, their clearing —
    across the October clock change, so local-to-UTC conversion is exercised."""
    t0 = datetime(2026, 10, 24, 22, 0)
    kinds = [k for k in ("over_voltage", "under_temperature", "over_current") if k in BRANDS[brand].codes][:2]
    out = [
        _ev(brand, t0, "comms", temp=11.0),
        _ev(brand, t0 + timedelta(hours=6), "comms", temp=10.0),
        _ev(brand, t0 + timedelta(hours=9), kinds[0]),
        _ev(brand, t0 + timedelta(hours=9, minutes=30), kinds[1], temp=4.0),
        _ev(brand, t0 + timedelta(hours=10), kinds[0], cleared=True, temp=4.0),
        _ev(brand, t0 + timedelta(hours=12), kinds[1], cleared=True, temp=9.5),
    ]
    return out


def _key(e: BatteryEvent) -> tuple[EventKind, datetime, str | None]:
    assert e.time is not None
    return e.kind, e.time.astimezone(ZONE), e.code


def _generic(inv: Inverter, brand: str) -> list[BatteryEvent]:
    log = read_inverter_log(inv.to_csv().encode(), "events.csv", brand=brand, timezone=TZ)
    assert log.shape == "generic_csv" and log.warnings == []
    return log.events


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_home_assistant_history_reads_back_as_the_simulated_events(brand: str) -> None:
    inv = _inverter(brand, _story(brand))
    text = inv.to_ha_history(TZ)
    assert text.splitlines()[0] == "entity_id,state,last_changed"
    assert all(line.endswith("Z") for line in text.splitlines()[1:])
    log = read_inverter_log(text.encode(), "history.csv", brand=brand, timezone=TZ)
    assert log.shape == "home_assistant_history"
    assert log.warnings == []
    reference = _generic(inv, brand)
    assert len(reference) == len(inv.events)
    # HA stores state changes only: the 6-hourly repeat of a still-active comms loss is no new row
    expected = [r for r, e in zip(reference, inv.events, strict=True) if e is not inv.events[1]]
    # solax-modbus shows Solis's status as text; GoodWe's alarms have no code
    shows_code = brand not in ("solis", "goodwe")
    want = [(k, t, c if shows_code else None) for k, t, c in map(_key, expected)]
    assert sorted(map(_key, log.events), key=repr) == sorted(want, key=repr)
    sims = [e for e in inv.events if e is not inv.events[1]]
    for got, sim in zip(sorted(log.events, key=lambda e: e.time or 0), sims, strict=True):
        assert got.time is not None and got.time.astimezone(ZONE).replace(tzinfo=None) == sim.time
    # the temperature the inverter saw is a battery-temperature reading at the event's time
    temps = {(t.time.astimezone(ZONE).replace(tzinfo=None), t.celsius) for t in log.temperatures}
    assert {(e.time, e.temperature_c) for e in inv.events if e is not inv.events[1]} <= temps | {
        (inv.events[4].time, 4.0)  # unchanged from the previous event: HA records no new state
    }


def test_home_assistant_history_keeps_a_shared_code_active_until_both_kinds_clear() -> None:
    t0 = datetime(2026, 1, 10, 5, 0)
    events = [  # Lux Power maps protection and over-temperature to the same W004
        _ev("luxpower", t0, "protection"),
        _ev("luxpower", t0 + timedelta(minutes=5), "over_temperature"),
        _ev("luxpower", t0 + timedelta(minutes=10), "protection", cleared=True),
        _ev("luxpower", t0 + timedelta(minutes=20), "over_temperature", cleared=True),
    ]
    log = read_inverter_log(_inverter("luxpower", events).to_ha_history(TZ).encode(), "h.csv", timezone=TZ)
    assert log.warnings == []
    assert [(e.kind is EventKind.CLEARED, e.time and e.time.astimezone(ZONE).minute) for e in log.events] == [
        (False, 0),
        (True, 20),
    ]


def test_lux_portal_json_reads_back_as_the_simulated_events() -> None:
    inv = _inverter("luxpower", _story("luxpower"))
    text = inv.to_lux_json()
    doc = json.loads(text)
    assert doc["success"] is True and doc["total"] == len(doc["rows"]) == 4
    assert {k for row in doc["rows"] for k in row} == {
        "event",
        "eventType",
        "eventText",
        "startTime",
        "renormalTime",
        "status",
    }
    assert [r["status"] for r in doc["rows"]] == ["OPEN", "OPEN", "CLOSE", "CLOSE"]
    log = read_inverter_log(text.encode(), "events.json", timezone=TZ)  # brand from the shape itself
    assert log.shape == "luxpower_event_list"
    assert log.warnings == []
    reference = _generic(inv, "luxpower")
    assert sorted(map(_key, log.events), key=repr) == sorted(map(_key, reference), key=repr)


def test_the_shape_is_chosen_from_the_seed_and_every_reader_is_exercised() -> None:
    names = list_scenarios()
    for name in names:
        assert inverter_log_shape(name, "victron", 3) == inverter_log_shape(name, "victron", 3)
    other = {inverter_log_shape(n, "deye", s) for n in names for s in range(1, 5)}
    lux = {inverter_log_shape(n, "luxpower", s) for n in names for s in range(1, 5)}
    assert other == {"generic_csv", "home_assistant_history"}
    assert lux == set(INVERTER_LOG_FILES)


def _case_with(shape: str) -> tuple[str, int]:
    from pylondiag.sim.scenarios import run_scenario

    for name in ("over_current", "thermal_intermittent", "inverter_comms_config", "dip_no_master"):
        for seed in range(1, 9):
            brand = run_scenario(name, seed).setup.inverter.brand
            if inverter_log_shape(name, brand, seed) == shape:
                return name, seed
    raise AssertionError(f"no case in {shape}")


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["home_assistant_history", "luxpower_event_list"])
def test_the_case_reader_detects_the_written_shape_by_content(tmp_path: Path, shape: str) -> None:
    name, seed = _case_with(shape)
    case = write_case(name, seed, tmp_path / "case")
    files = sorted((case / "inverter").iterdir())
    assert [f.name for f in files] == [INVERTER_LOG_FILES[shape]]
    renamed = files[0].rename(case / "inverter" / "export.txt")  # the name is no clue
    view = load_case(case)
    used = [f for f in view.files if f.kind == "inverter_log"]
    assert [f.source for f in used] == ["inverter/export.txt"] and used[0].used
    assert not [g for g in view.gaps if g.source == "inverter/export.txt"]
    log = read_inverter_log(renamed.read_bytes(), "x", timezone=TZ)
    assert log.shape == shape and log.events
    assert {e.provenance.source for e in view.events if e.origin == "inverter"} == {"inverter/export.txt"}
