"""Inverter-log rows read twice (overlapping exports, the same file added twice) are counted once
(``casedir/repeats.py``); rows that only share an instant are different events and all stay."""

from __future__ import annotations

from pathlib import Path

from pylondiag.casedir import load_case
from pylondiag.casedir.repeats import may_repeat
from pylondiag.model.event import EventKind
from pylondiag.model.timeline import EventQuery
from pylondiag.report.plain import owner_text

CASE = "schema: pylondiag.case/1\nsite: {timezone: Europe/London}\ninverter: {brand: deye}\n"
HEADER = "time,code,message,severity\n"
ROWS = [
    "2026-11-01 06:41:00,W31,Battery_comm_warn,warning\n",
    "2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault\n",
    "2026-11-01 07:06:00,F58,BMS_Comm_Fail cleared,info\n",
    "2026-11-03 06:19:00,W31,Battery_comm_warn,warning\n",
    "2026-11-03 06:22:00,F58,BMS_Comm_Fail,fault\n",
]
COMMS = EventQuery(origin="inverter", kinds=frozenset({EventKind.BMS_COMMS_LOST}), not_info=True)


def _case(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "case"
    (root / "inverter").mkdir(parents=True)
    (root / "case.yaml").write_text(CASE, encoding="utf-8")
    for name, text in files.items():
        (root / "inverter" / name).write_text(text, encoding="utf-8")
    return root


def test_the_same_file_twice_is_counted_once_and_cited_where_first_read(tmp_path: Path) -> None:
    log = HEADER + "".join(ROWS)
    view = load_case(_case(tmp_path, {"a.csv": log, "b.csv": log}))
    comms = view.events.where(COMMS)
    assert len(comms) == 4
    assert {e.provenance.source for e in comms} == {"inverter/a.csv"}
    [gap] = [g for g in view.gaps if "repeat" in g.text]
    assert gap.source == "inverter/b.csv"
    assert "5 rows repeat events already read" in gap.text
    assert "line 2, the same as inverter/a.csv line 2" in gap.text
    said = owner_text(gap.text)
    assert "inverter/" not in said and "line 2" not in said and "5 rows repeat events" in said


def test_overlapping_exports_keep_each_event_once(tmp_path: Path) -> None:
    """Export 1 holds rows 1-4, export 2 rows 3-5 (one written with CRLF line ends): 5 events."""
    first = HEADER + "".join(ROWS[:4])
    second = (HEADER + "".join(ROWS[2:])).replace("\n", "\r\n")
    view = load_case(_case(tmp_path, {"export-1.csv": first, "export-2.csv": second}))
    assert len(view.events) == 5
    assert len(view.events.where(COMMS)) == 4
    [gap] = [g for g in view.gaps if "repeat" in g.text]
    assert gap.source == "inverter/export-2.csv" and "2 rows repeat" in gap.text


def test_an_overlap_inside_one_file_out_of_order(tmp_path: Path) -> None:
    """One file holding two pasted exports (the second starting earlier than the first ended)."""
    log = HEADER + "".join(ROWS[2:]) + "".join(ROWS)
    view = load_case(_case(tmp_path, {"events.csv": log}))
    assert len(view.events) == 5
    assert [e.provenance.line for e in view.events] == [5, 6, 2, 3, 4]
    [gap] = [g for g in view.gaps if "repeat" in g.text]
    assert "3 rows repeat" in gap.text and "line 7, the same as line 2" in gap.text


def test_rows_that_only_share_an_instant_are_all_kept(tmp_path: Path) -> None:
    """Same second, different code, message, severity, temperature or another column: different events."""
    log = (
        "time,code,message,severity,temperature,soc\n"
        "2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault,2,40\n"
        "2026-11-01 06:44:00,W31,Battery_comm_warn,warning,2,40\n"
        "2026-11-01 06:44:00,F58,BMS_Comm_Fail,warning,2,40\n"
        "2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault,3,40\n"
        "2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault,2,41\n"
        "2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault,2,40\n"
    )
    view = load_case(_case(tmp_path, {"events.csv": log}))
    assert [e.provenance.line for e in view.events] == [2, 3, 4, 5, 6]
    [gap] = [g for g in view.gaps if "repeat" in g.text]
    assert "1 row repeats an event" in gap.text and "line 7, the same as line 2" in gap.text


def test_a_row_wise_shape_is_checked_too(tmp_path: Path) -> None:
    """A log the column path cannot take (one time with an offset among local times) is read row by
    row and keeps its event objects; repeats still go."""
    log = HEADER + "".join(ROWS).replace("2026-11-01 06:41:00", "2026-11-01T06:41:00+00:00")
    view = load_case(_case(tmp_path, {"a.csv": log, "b.csv": log}))
    assert all(c.objects is not None for c in view.events.parts)
    assert len(view.events.where(COMMS)) == 4


def test_logs_as_written_are_passed_by_one_look_at_their_times(tmp_path: Path) -> None:
    one = load_case(_case(tmp_path / "1", {"a.csv": HEADER + "".join(ROWS[:2])})).events.parts
    two = load_case(_case(tmp_path / "2", {"b.csv": HEADER + "".join(ROWS[3:])})).events.parts
    assert not may_repeat([*one, *two])
    assert may_repeat([*one, *one])


def test_the_same_rows_written_another_way_are_repeats(tmp_path: Path) -> None:
    """The second export writes the same instants in UTC with an offset (another platform), the third
    re-saved day-first with quoted fields (a spreadsheet): the same events, counted once."""
    first = HEADER + "".join(ROWS)
    utc = HEADER + "2026-11-01T06:41:00+00:00,W31,Battery_comm_warn,warning\n"
    resaved = HEADER + '01/11/2026 06:44:00,"F58","BMS_Comm_Fail","fault"\n'
    view = load_case(_case(tmp_path, {"a.csv": first, "b.csv": utc, "c.csv": resaved}))
    assert len(view.events.where(COMMS)) == 4
    assert {e.provenance.source for e in view.events} == {"inverter/a.csv"}
    assert sum("repeats an event" in g.text for g in view.gaps) == 2


def test_the_hour_the_spring_change_skips_is_not_a_repeat_of_the_next(tmp_path: Path) -> None:
    """A log whose clock did not move on 29 March 2026 writes 01:30 and then 02:30 (an hour apart); the
    reader takes the skipped 01:30 as the same instant as 02:30 BST, but the rows are not the same."""
    log = HEADER + (
        "2026-03-29 01:30:00,F58,BMS_Comm_Fail,fault\n2026-03-29 02:30:00,F58,BMS_Comm_Fail,fault\n"
    )
    view = load_case(_case(tmp_path, {"events.csv": log}))
    assert len(view.events) == 2
    assert not [g for g in view.gaps if "repeat" in g.text]
