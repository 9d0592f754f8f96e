"""Inverter-log exports as owners make them: two exports pasted into one file (the header repeated
mid-file), an export with only its header. Found by perturbing the cold-mornings example (session 7)."""

from __future__ import annotations

from pathlib import Path

from pylondiag.casedir import load_case

CASE = "schema: pylondiag.case/1\nsite: {timezone: Europe/London}\ninverter: {brand: deye}\n"
HEADER = "time,code,message,severity\n"
FIRST = "2026-11-01 06:41:00,W31,Battery_comm_warn,warning\n2026-11-01 06:44:00,F58,BMS_Comm_Fail,fault\n"
SECOND = "2026-11-03 06:19:00,W31,Battery_comm_warn,warning\n2026-11-03 06:22:00,F58,BMS_Comm_Fail,fault\n"


def _case(tmp_path: Path, log: str) -> Path:
    root = tmp_path / "case"
    (root / "inverter").mkdir(parents=True)
    (root / "case.yaml").write_text(CASE, encoding="utf-8")
    (root / "inverter" / "events.csv").write_text(log, encoding="utf-8")
    return root


def test_a_header_repeated_mid_file_is_not_a_row_that_could_not_be_read(tmp_path: Path) -> None:
    view = load_case(_case(tmp_path, HEADER + FIRST + HEADER + SECOND))
    assert len(view.events) == 4
    assert view.gaps == []


def test_a_real_unreadable_row_beside_a_repeated_header_is_still_said(tmp_path: Path) -> None:
    view = load_case(
        _case(tmp_path, HEADER + FIRST + HEADER + "yesterday,F58,BMS_Comm_Fail,fault\n" + SECOND)
    )
    assert len(view.events) == 4
    [gap] = view.gaps
    assert "1 row(s) could not be read" in gap.text and "line 5" in gap.text


def test_an_export_with_only_its_header_is_not_taken_for_a_log(tmp_path: Path) -> None:
    """Read as an event log it said nothing: the owner was told no log was readable, never why, and not
    asked for another export."""
    view = load_case(_case(tmp_path, HEADER + "\n\n"))
    [f] = view.files
    assert f.kind == "inverter_log" and not f.used
    [gap] = view.gaps
    assert "without any rows" in gap.text and "export the events again" in gap.text
