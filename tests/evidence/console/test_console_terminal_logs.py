"""What terminal programs add to a console log: a timestamp on every line (Tera Term's log option,
minicom, the Arduino serial monitor) and the backspaces of a corrected command. The capture reads as
without them, at the same line numbers, and each record's raw text is still a part of its line."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from pylondiag.evidence.console import read_console
from pylondiag.evidence.console._line_stamps import strip_line_stamps
from pylondiag.evidence.console._read import read_console_pieces
from pylondiag.evidence.console._splitter import typed

BAT_1 = "bat_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt"
STAMPS = {
    "tera-iso": lambda i: f"[2026-11-20 09:12:{i % 60:02d}.123] ",
    "tera-ctime": lambda i: f"[Fri Nov 20 09:12:{i % 60:02d}.123 2026] ",
    "elapsed": lambda i: f"[00:00:{i % 60:02d}.{i % 1000:03d}] ",
    "arduino": lambda i: f"09:12:{i % 60:02d}.123 -> ",
}
WHEN = {"tera-iso": datetime(2026, 11, 20, 9, 12, 0), "tera-ctime": datetime(2026, 11, 20, 9, 12, 0, 123000)}


def _stamped(data: bytes, stamp) -> bytes:  # type: ignore[no-untyped-def]
    lines = data.split(b"\n")
    return b"\n".join((stamp(i).encode() + line) if line.strip() else line for i, line in enumerate(lines))


def _plain(cap):  # type: ignore[no-untyped-def]
    return [(r.kind, r.model_dump(exclude={"provenance"}, mode="json")) for r in cap.records]


@pytest.mark.parametrize("shape", sorted(STAMPS))
def test_a_capture_stamped_on_every_line_reads_as_without(captures_dir: Path, shape: str) -> None:
    data = (captures_dir / BAT_1).read_bytes()
    plain = read_console(data, "c.txt")
    stamped_data = _stamped(data, STAMPS[shape])
    stamped = read_console(stamped_data, "c.txt")
    assert stamped.warnings == plain.warnings == ()
    assert _plain(stamped) == _plain(plain)
    lines = re.split(rb"\r\n|\r|\n", stamped_data)
    for rec in stamped.records:  # the same lines, and the raw text a part of the stamped line
        assert rec.provenance.line == next(r.provenance.line for r in plain.records if r.kind == rec.kind)
        assert rec.provenance.raw.strip().encode() in lines[rec.provenance.line - 1]
    if shape in WHEN:
        assert stamped.captured_at == WHEN[shape]


def test_an_ordinary_capture_is_not_touched(captures_dir: Path) -> None:
    for path in sorted(captures_dir.rglob("*.txt")):
        data = path.read_bytes()
        assert strip_line_stamps(data) == (data, None), path.name


def test_a_few_bracketed_lines_do_not_make_a_stamped_capture() -> None:
    data = b"pylon>pwr\n@\n[12:00:00] note\nPower Volt\n1 50000\n2 50010\n3 50020\n$$\n"
    assert strip_line_stamps(data) == (data, None)


def test_stamp_search_is_linear_on_hostile_lines() -> None:
    def cost(n: int) -> float:
        data = (b"[" + b"1" * 39 + b"0:0:0" * 5 + b"\n") * n
        t0 = time.process_time()
        strip_line_stamps(data)
        return time.process_time() - t0

    small, big = min(cost(2_000) for _ in range(3)), min(cost(20_000) for _ in range(3))
    assert big < 30 * max(small, 1e-4)  # 10x the lines: ~10x the time, not 100x


@pytest.mark.parametrize(
    ("echo", "command"),
    [
        ("bat 4\x08 \x083", "bat 3"),  # BS, space, BS: the console's echo of a correction
        ("stat 2\x7f5", "stat 5"),
        ("pwrr\x08", "pwr"),
        ("\x08\x08pwr", "pwr"),  # more backspaces than characters: nothing to take back
        ("bat 3", "bat 3"),
    ],
)
def test_a_corrected_command_is_read_as_typed(echo: str, command: str) -> None:
    assert typed(echo) == command


def test_a_corrected_echo_names_its_module(captures_dir: Path) -> None:
    data = (captures_dir / BAT_1).read_bytes()
    echo = re.search(rb"pylon\w*>bat 1", data)
    assert echo is not None
    corrected = data.replace(echo.group(0), echo.group(0)[:-1] + b"4\x08 \x081", 1)
    cap = read_console(corrected, "c.txt")
    (table,) = [r for r in cap.records if r.kind == "bat"]
    assert table.address == 1
    (before,) = [r for r in read_console(data, "c.txt").records if r.kind == "bat"]
    assert table == before  # same cells, lines and raw text


@pytest.mark.parametrize("size", [7, 1000, 65_536])
def test_a_stamped_capture_in_pieces_reads_as_whole(captures_dir: Path, size: int) -> None:
    """The case loader gives a capture in pieces: a stamp or line cut between two pieces is not lost."""
    data = _stamped((captures_dir / BAT_1).read_bytes() * 40, STAMPS["tera-iso"])
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    assert read_console_pieces(pieces, "c.txt") == read_console(data, "c.txt")
    assert read_console(data, "c.txt").warnings == ()
