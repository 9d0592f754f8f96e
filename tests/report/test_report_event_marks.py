"""The event timeline of an inverter log read as columns is drawn from arrays (no event object, no
citation text, no Python object per row), and is the same drawing as from the event objects."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pylondiag.casedir import load_case
from pylondiag.report import charts
from pylondiag.report.data import EventArrays
from pylondiag.report.view import event_marks

ROWS = (
    "{t},W31,Battery_comm_warn,warning,",
    "{t},F58,BMS_Comm_Fail,fault,",
    "{t},F58,BMS_Comm_Fail cleared,info,",
    "{t},,Cell under temperature,fault,-2.5",
    "{t},F56,BAT1_VoltLow_Fault,fault,6.0",
)


def _case(root: Path, rows: int) -> Path:
    """A Deye case whose log has ``rows`` events, one every 37 minutes, some with a temperature."""
    start = datetime(2026, 1, 1)
    lines = ["time,code,message,severity,temperature"]
    lines += [
        ROWS[i % len(ROWS)].format(t=f"{start + timedelta(minutes=37 * i):%Y-%m-%d %H:%M:%S}")
        for i in range(rows)
    ]
    (root / "inverter").mkdir(parents=True)
    (root / "inverter" / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "case.yaml").write_text(
        "schema: pylondiag.case/1\nsite: {timezone: Europe/London}\ninverter: {brand: deye}\n"
        "stack:\n  - {position: 1, model: US3000C}\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("rows", [200, 3_000])  # markers one by one; counts per bin (over 600 events)
def test_the_timeline_from_marks_is_the_timeline_from_event_objects(tmp_path: Path, rows: int) -> None:
    view = load_case(_case(tmp_path / "case", rows))
    marks = event_marks(view.events)
    assert isinstance(marks, EventArrays) and len(marks) == rows
    assert view.events.built() == []  # no event object was made for the chart
    cited = [("inverter/events.csv", n) for n in (5, 6, 40)]
    temperatures = [charts.TemperaturePoint(t, c) for t, c in view.temperatures.points()]
    from_marks = charts.event_timeline(
        marks, cited=cited, temperatures=temperatures, overlay_temperature=True
    )
    objects = tuple(view.events)
    from_objects = charts.event_timeline(
        objects, cited=cited, temperatures=temperatures, overlay_temperature=True
    )
    assert from_marks is not None and from_objects is not None
    assert from_marks.caption == from_objects.caption
    assert from_marks.svg == from_objects.svg


REPO = Path(__file__).resolve().parents[2]
LOG_CASES = sorted(p.parents[1].name for p in (REPO / "examples" / "cases").glob("*/inverter/*"))


@pytest.mark.parametrize("name", LOG_CASES)
def test_example_timelines_from_arrays_are_those_from_objects(name: str) -> None:
    """BMS events (objects, squares) and inverter-log rows (arrays) in one timeline: the same drawing
    as from every event as an object, ringed citations and the temperature overlay included."""
    view = load_case(REPO / "examples" / "cases" / name)
    cited = [(e.provenance.source, e.provenance.line) for e in list(view.events)[::3]]
    temperatures = [charts.TemperaturePoint(t, c) for t, c in view.temperatures.points()]
    drawn = [
        charts.event_timeline(events, cited=cited, temperatures=temperatures, overlay_temperature=True)
        for events in (event_marks(view.events), tuple(view.events))
    ]
    assert drawn[0] is not None and drawn[1] is not None
    assert (drawn[0].caption, drawn[0].svg) == (drawn[1].caption, drawn[1].svg)
