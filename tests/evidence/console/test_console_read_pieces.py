"""``read_console`` feeds the splitter in pieces and parses each block as it completes (issue 17: the
decoded text and the blocks never exist for the whole capture at once); what it returns is what reading
the capture in one piece gives — records, warnings (file, line, message) and capture time."""

from __future__ import annotations

from pathlib import Path

import pytest
from _console_helpers import records_of

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence.console import ConsoleReader, _read, read_console, read_console_pieces
from pylondiag.model.console import ConsoleCapture

HOSTILE = (
    b"# header\r\n13.07.26 19:59:48\r\npylon>pwr\r\n@\r\nPower Volt   Curr   Tempr\r\n1     50000  100  x\r\n"
    b"junk outside\r\nCommand completed successfully\r\n$$\r\n\xfe\xffpylon>bat 2\r\n@\r\n"
    b"Battery  Volt     Curr\r\n0        3300     -\r\nzz\r\nCommand completed successfully\r\n$$\r\n"
    b"stray echo\r\npylon>stat\r\n@\r\nCYCLE Times     :   12\r\n"
)


def _in_one_piece(data: bytes, source: str) -> ConsoleCapture:
    reader = ConsoleReader(source)
    fed = reader.feed(data)
    last = reader.close()  # the blocks flushed at the end of the data: the last may be cut short
    blocks = fed + last
    records, warnings = records_of(blocks, source)
    warnings += _read.end_of_data(last[-1:], len(records_of(last[-1:], source)[0]), source)
    warnings = sorted([*reader.warnings, *warnings], key=lambda w: w.line)
    return ConsoleCapture.model_construct(
        source=source,
        records=tuple(records),
        warnings=tuple(warnings),
        captured_at=_read.captured_at(reader.first_logged_at, records),
    )


@pytest.mark.parametrize("piece", [_read.FEED_BYTES, 7, 1])
def test_pieces_read_like_one_piece_hostile(piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_read, "FEED_BYTES", piece)
    data = HOSTILE * 3
    got = read_console(data, "h.txt")
    assert got == _in_one_piece(data, "h.txt")
    assert len(got.warnings) >= 4  # the test means something: warnings from the splitter and parsers


def test_pieces_read_like_one_piece_real_captures(
    captures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_read, "FEED_BYTES", 97)
    paths = sorted(captures_dir.glob("*.txt"))
    assert paths
    for path in paths:
        data = path.read_bytes()
        assert read_console(data, path.name) == _in_one_piece(data, path.name), path.name


@pytest.mark.parametrize("piece", [_read.FEED_BYTES, 4096, 13])
def test_read_console_pieces_is_read_console_of_the_joined_bytes(captures_dir: Path, piece: int) -> None:
    """The case loader hands the parser a capture's bytes in pieces it lets go of (issue 17, memory): any cut
    of the bytes reads as the whole, on every real capture and the hostile one."""
    paths = sorted(captures_dir.glob("*.txt"))
    assert paths
    for name, data in [("h.txt", HOSTILE * 3), *((p.name, p.read_bytes()) for p in paths)]:
        pieces = (data[i : i + piece] for i in range(0, len(data), piece))
        got = read_console_pieces(pieces, name)
        assert got == read_console(data, name), name
        assert got.model_dump_json() == read_console(data, name).model_dump_json(), name


def test_read_console_pieces_of_nothing_is_not_a_capture() -> None:
    with pytest.raises(NotAConsoleCapture):
        read_console_pieces(iter(()), "empty.txt")
