"""A console capture with lines the reader could not place still gives a diagnosis, and the diagnosis
says so: the skipped lines are an evidence gap naming the file, the first line and why (as inverter
logs and bus captures already did)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pylondiag.casedir import load_case
from pylondiag.pipeline import run_case
from shared_paths import SpecCheck

BAT_1 = "bat_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt"


def _case(tmp_path: Path, text: str) -> Path:
    case = tmp_path / "case"
    (case / "console").mkdir(parents=True)
    (case / "console" / "bat1.txt").write_text(text, encoding="utf-8")
    return case


def test_a_garbled_cell_row_is_a_gap_naming_file_and_line(
    captures_dir: Path, tmp_path: Path, spec_check: SpecCheck
) -> None:
    lines = (captures_dir / BAT_1).read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("7 "))
    lines[number - 1] = "7        33#6     -2964    26600    Dischg"  # a cell row cut and garbled on the wire
    case = _case(tmp_path, "\n".join(lines) + "\n")
    result = run_case(case)
    gaps = [g for g in result.diagnosis.evidence_gaps if "console/bat1.txt" in g]
    assert len(gaps) == 1, result.diagnosis.evidence_gaps
    assert f"1 line of the console output could not be read and was skipped (first: line {number}," in gaps[0]
    assert spec_check(case, result.diagnosis) == []
    cells = [c.cell for reading in result.view.bat for c in reading.table.cells]
    assert 7 not in cells and len(cells) == 14  # the rest of the table was read


def test_a_clean_real_capture_has_no_such_gap(captures_dir: Path, tmp_path: Path) -> None:
    case = _case(tmp_path, (captures_dir / BAT_1).read_text(encoding="utf-8"))
    assert not [g for g in run_case(case).diagnosis.evidence_gaps if "could not be read" in g]


def test_running_out_of_memory_in_a_reader_is_not_turned_into_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError is not a reader bug: it goes up (the service's limited child then exits with its
    memory status) instead of building gap objects with the memory exhausted."""
    from pylondiag.casedir import files

    def exhausted(pieces: object, source: str) -> None:
        raise MemoryError

    monkeypatch.delenv("PYLONDIAG_STRICT_RULES", raising=False)
    monkeypatch.setattr(files, "read_console_pieces", exhausted)
    case = _case(tmp_path, "pylon>pwr\n@\n$$\npylon>\n")
    with pytest.raises(MemoryError):
        load_case(case)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_console_capture_saved_as_utf16_says_how_to_save_it_again(
    captures_dir: Path, tmp_path: Path, spec_check: SpecCheck, codec: str
) -> None:
    """PowerShell 5's ``>`` writes UTF-16 with a byte-order mark: not 'binary data', but what to do."""
    text = (captures_dir / BAT_1).read_text(encoding="utf-8")
    case = tmp_path / "case"
    (case / "console").mkdir(parents=True)
    data = text.encode(codec)
    (case / "console" / "bat1.txt").write_bytes(data if codec == "utf-16" else b"\xfe\xff" + data)
    result = run_case(case)
    (gap,) = [g for g in result.diagnosis.evidence_gaps if "console/bat1.txt" in g]
    assert "saved as UTF-16" in gap and "save it again as UTF-8" in gap and "binary" not in gap
    assert spec_check(case, result.diagnosis) == []
