"""An inverter log whose rows are EVENTS (alarms, trips, faults) stays columns through to the rules:
the diagnosis is the one the same events give as objects, and only the rows a finding quotes (or a
rule must read whole) ever become objects."""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pylondiag.casedir import load_case
from pylondiag.diagnosis import diagnose
from pylondiag.model.stack import CaseView
from pylondiag.model.timeline import Timeline

CASE_YAML = """\
schema: pylondiag.case/1
case_id: events-as-columns
observed_at: 2026-12-01T10:00
site: {timezone: Europe/London}
stack:
  - {position: 1, model: US3000C, address: 1, installed: 2022-03}
  - {position: 2, model: US2000C, address: 2, installed: 2024-05}
symptoms: [whole_bank_shutdown, intermittent_trips, bms_comms_alarm]
history:
  - {date: 2026-03-01, event: inverter_replaced}
  - {date: 2024-05-01, event: modules_added}
inverter:
  brand: deye
  battery_type: Lead-acid
"""

EVENTS = (
    ("W31", "Battery_comm_warn", "warning", "", ""),
    ("F58", "BMS_Comm_Fail", "fault", "", ""),
    ("F58", "BMS_Comm_Fail cleared", "info", "", ""),
    ("F56", "BAT1_VoltLow_Fault", "fault", "", ""),
    ("F20", "Tz_Dc_OverCurr_Fault", "fault", "", ""),
    ("F13", "Working_Mode_Change", "info", "", ""),
    ("", "Cell under temperature", "fault", "2", "-3.5"),
    ("", "Cell over voltage", "fault", "1", ""),
    ("", "Discharge over current", "fault", "2", "4.0"),
    ("", "BMS version inconsistency", "warning", "", ""),
)
"""(code, message, severity, module, °C): Deye/Sunsynk codes and the generic CSV's own columns, so that
every rule family reading inverter events has rows to read (comms after a change, limits, thermal,
first trip of a shutdown, mixed firmware, over-current settings)."""


def _log(rows: int, seed: int = 7) -> bytes:
    """``rows`` events, one every 7 minutes from 2026-01-01, cold mornings colder."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    out = ["time,code,message,severity,module,temperature"]
    for i in range(rows):
        code, msg, sev, module, temp = EVENTS[rng.randrange(len(EVENTS))]
        t = start + timedelta(minutes=7 * i)
        out.append(f"{t:%Y-%m-%d %H:%M:%S},{code},{msg},{sev},{module},{temp}")
    return ("\n".join(out) + "\n").encode()


def _case(root: Path, rows: int) -> Path:
    (root / "inverter").mkdir(parents=True)
    (root / "inverter" / "events.csv").write_bytes(_log(rows))
    (root / "case.yaml").write_text(CASE_YAML, encoding="utf-8")
    return root


def _as_objects(view: CaseView) -> CaseView:
    """The same view with every event an object (the path every event took before columns)."""
    return view.model_copy(update={"events": Timeline(list(view.events))})


def _checker(validator: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_diagnosis", validator)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _json(d: Any) -> Any:
    return json.loads(json.dumps(d.to_json_dict()))


def test_event_rows_as_columns_give_the_findings_of_the_same_events_as_objects(
    tmp_path: Path, validator: Path
) -> None:
    root = _case(tmp_path / "small", 3_000)
    view = load_case(root)
    assert view.events.parts and not view.events.objects  # every row a column, no object made
    columnar = diagnose(view)
    quoted = {(r.source, r.line) for f in columnar.findings for r in f.evidence if r.line is not None}
    built = view.events.built()
    assert 0 < len(built) < 50  # the rows the findings quote, of 3,000
    assert {(e.provenance.source, e.provenance.line) for e in built} >= {
        q for q in quoted if q[0] == "inverter/events.csv"
    }
    objects = diagnose(_as_objects(view))
    assert _json(columnar) == _json(objects)
    codes = {f.code.value for f in columnar.findings}
    assert {"inverter_comms_config", "thermal_intermittent"} <= codes  # the rules had rows to read
    assert list(_checker(validator).check(root, _json(columnar))) == []


@pytest.mark.slow
def test_a_large_event_log_is_accepted_and_diagnosed_like_the_small_one(
    tmp_path: Path, validator: Path
) -> None:
    small = diagnose(load_case(_case(tmp_path / "small", 3_000)))
    root = _case(tmp_path / "large", 75_000)  # a row every 7 minutes for a year: 3.6 MB
    view = load_case(root)
    assert [f.used for f in view.files] == [True] and len(view.events) == 75_000
    large = diagnose(view)
    assert len(view.events.built()) < 50  # the rows the findings quote, of 75,000
    assert [(f.code, f.severity, f.module) for f in large.findings] == [
        (f.code, f.severity, f.module) for f in small.findings
    ]
    assert list(_checker(validator).check(root, _json(large))) == []
