"""A capture that ends inside a command's answer says so (``ParseWarning.kind == "cut_short"``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence.console import read_console

STAT = (
    "pylon>stat 2\r\n@\r\nDevice address           2\r\nCharge Cnt.     :      610\r\n"
    "Discharge Cnt.  :      598\r\n"
)


def test_an_answer_the_capture_stops_inside_is_read_and_told() -> None:
    cap = read_console(STAT.encode(), "s.txt")
    (rec,) = cap.records
    assert rec.kind == "stat"
    (w,) = cap.warnings
    assert w.kind == "cut_short" and w.line == 5 and "'stat 2'" in w.message
    assert w.raw.strip().startswith("Discharge Cnt.")


@pytest.mark.parametrize(
    "ending",
    ["Command completed successfully\r\n$$\r\npylon>", "$$\r\npylon>", "Command completed successfully\r\n"],
    ids=["trailer-and-prompt", "end-mark-only", "trailer-at-end-of-file"],
)
def test_an_answer_that_ended_is_not_cut_short(ending: str) -> None:
    cap = read_console((STAT + ending).encode(), "s.txt")
    assert [w.kind for w in cap.warnings] == []


def test_a_cut_short_help_is_not_told() -> None:
    cap = read_console(b"pylon>help\r\n@\r\npwr   show power\r\nbat   show cells\r\n", "h.txt")
    assert all(w.kind != "cut_short" for w in cap.warnings)


def test_no_real_capture_is_cut_short(captures_dir: Path) -> None:
    files = sorted(captures_dir.rglob("*.txt"))
    assert files, captures_dir
    for path in files:
        try:
            cap = read_console(path.read_bytes(), path.name)
        except NotAConsoleCapture:  # an exporter's output, not a console session: tested elsewhere
            continue
        assert [w for w in cap.warnings if w.kind == "cut_short"] == [], path.name
