"""The session splitter and line counter on hand-made sessions (framing variants of real consoles)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from _console_helpers import feed_in_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from pylondiag.evidence.console import ConsoleReader, read_console
from pylondiag.evidence.console._lines import LineSplitter
from pylondiag.model.console import BatTable, CommandError, GenericRecord, TimeRecord

TIME_ANSWER = "RTC 2026-07-17 01:40:48"


def session(eol: str, prompt: str = "pylon>") -> bytes:
    text = eol.join([f"{prompt}time", "@", TIME_ANSWER, "Command completed successfully", "$$", f"{prompt}"])
    return text.encode()


def all_lines(data: bytes, size: int) -> list[tuple[int, str]]:
    s = LineSplitter()
    out: list[tuple[int, str]] = []
    for i in range(0, len(data), size):
        out += s.feed(data[i : i + size])
    done, tail = s.close()
    out += done
    if tail:
        out.append(tail)
    return out


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r\r\n", "\n\r", "\r"])
def test_every_line_end_style(eol: str) -> None:
    data = session(eol)
    for size in (1, 5, len(data)):
        blocks = feed_in_chunks(data, size)
        assert [b.command for b in blocks] == ["time"]
        assert blocks[0].status == "ok"
        (rec,) = read_console(data, "x").records
        assert isinstance(rec, TimeRecord) and rec.time == datetime(2026, 7, 17, 1, 40, 48)
        lines = re.split(r"\r\n|\r|\n", data.decode())
        assert lines[rec.provenance.line - 1] == TIME_ANSWER


PIECES = [b"a", b"b", b"\r", b"\n", b"\r\n", "é".encode(), b"\xfe", b"\xe2\x96", "▒".encode()]


@given(st.lists(st.sampled_from(PIECES), max_size=40), st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_line_splitter_counts_like_the_spec(parts: list[bytes], size: int) -> None:
    data = b"".join(parts)
    expected = re.split(r"\r\n|\r|\n", data.decode("utf-8", "replace"))
    got = all_lines(data, size)
    assert [n for n, _ in got] == list(range(1, len(got) + 1))
    # the spec's list ends with the (possibly empty) unterminated tail; the splitter omits it when empty
    exp = expected if expected[-1] else expected[:-1]
    assert [t for _, t in got] == exp


def test_noise_bytes_and_repeated_prompt_before_the_echo() -> None:
    data = b"13.07.26 19:59:48\r\n\xfepylon>bat\r\n@\r\nBattery  Volt  BAL\r\n0  3300  Y\r\n"
    data += (
        b"Command completed successfully\r\n$$\r\npylon>\xe2\x96\x92pylon>bat\r\n@\r\nBattery  Volt  BAL\r\n"
    )
    data += b"0  3301  N\r\nCommand completed successfully\r\n$$\r\npylon>"
    cap = read_console(data, "x")
    assert cap.warnings == ()
    t1, t2 = cap.records
    assert isinstance(t1, BatTable) and isinstance(t2, BatTable)
    assert (t1.cells[0].voltage_mv, t1.cells[0].balancing) == (3300, True)
    assert (t2.cells[0].voltage_mv, t2.cells[0].balancing) == (3301, False)
    assert cap.captured_at == datetime(2026, 7, 13, 19, 59, 48)
    blocks = feed_in_chunks(data, 3)
    assert blocks[0].logged_at == datetime(2026, 7, 13, 19, 59, 48) and blocks[1].logged_at is None
    assert blocks[0].provenance.raw == "\ufffdpylon>bat"


@pytest.mark.parametrize(
    "stamp",
    ["2026-07-13 19:59:48", "[2026-07-13 19:59:48]", "2026-07-13T19:59:48.123", "13.07.2026 19:59:48"],
)
def test_logger_timestamp_forms(stamp: str) -> None:
    data = f"{stamp}\npylon>time\n@\n{TIME_ANSWER}\nCommand completed successfully\n$$\npylon>".encode()
    cap = read_console(data, "x")
    assert cap.warnings == ()
    assert cap.captured_at == datetime(2026, 7, 13, 19, 59, 48)  # the logger's stamp wins over `time`


def test_other_prompt_names_comments_and_echo_without_prompt() -> None:
    data = (
        b"# logged by hand\n# Command: time\n\nPYTES>\nPYTES>time\n@\n" + TIME_ANSWER.encode() + b"\n"
        b"Command completed successfully\n$$\nPYTES>\n## next file\nlogout\n@\n"
        b"Command completed successfully\n$$\npylon>"
    )
    blocks = feed_in_chunks(data, 1)
    assert [(b.command, b.prompt, b.status) for b in blocks] == [
        ("time", "PYTES>", "ok"),
        ("logout", "PYTES>", "ok"),
    ]
    cap = read_console(data, "x")
    assert cap.warnings == ()
    assert isinstance(cap.records[1], GenericRecord) and cap.records[1].command == "logout"


def test_paging_prompt_is_not_payload() -> None:
    data = (
        b"pylon>help\r\n@\r\nLocal command:\r\nbat      Battery data show\r\n"
        b"Press [Enter] to be continued,other key to exit          \r\n"
        b"pwr      Power data show\r\nCommand completed successfully\r\n$$\r\npylon>"
    )
    (block,) = feed_in_chunks(data, 2)
    assert all("Press" not in line for line in block.lines)
    assert read_console(data, "x").records[0].model_dump()["commands"] == {
        "bat": "Battery data show",
        "pwr": "Power data show",
    }


def test_error_answers() -> None:
    data = (
        b"pylon>pwrsys\n@\nUnknown command 'pwrsys' - try 'help'\n$$\npylon>login x\n@\n"
        b"Invalid command or fail to excute.\nUsage:\n$$\npylon>"
    )
    blocks = feed_in_chunks(data, 1)
    assert [b.status for b in blocks] == ["unknown_command", "error"]
    cap = read_console(data, "x")
    assert [type(r) for r in cap.records] == [CommandError, CommandError]
    assert [r.provenance.line for r in cap.records] == [3, 7]
    assert cap.warnings == ()


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_trailer_with_an_exclamation_mark_ends_the_answer(size: int) -> None:
    """US3000D firmware B1.4.0.0 ends ``stat`` with "Command completed successfully!" (real capture:
    mman/node-red-contrib-pylontech-health test/fixtures/stat-us3000d.txt); it was read as a stat line and
    reported unreadable."""
    data = (
        b"pylon>stat\n@\nDevice address           1\nCYCLE Times     :     4547\nSOH             :      100\n"
        b"Command completed successfully!\n$$\npylon>"
    )
    (block,) = feed_in_chunks(data, size)
    assert block.status == "ok" and all("completed" not in line for line in block.lines)
    cap = read_console(data, "x")
    assert cap.warnings == ()
    (rec,) = cap.records
    assert rec.model_dump()["cycle_count"] == 4547


def test_block_ends_at_next_prompt_without_trailer() -> None:
    data = b"pylon>time\n@\n" + TIME_ANSWER.encode() + b"\npylon>time\n@\n" + TIME_ANSWER.encode() + b"\n"
    blocks = feed_in_chunks(data, 1)
    assert [b.status for b in blocks] == ["incomplete", "incomplete"]
    assert len(read_console(data, "x").records) == 2


def test_garbled_line_is_a_warning_and_the_rest_is_read() -> None:
    data = (
        b"pylon>bat\n@\nBattery  Volt     Curr     BAL\n0        3300     10       Y\n"
        b"1        33#0     10       Y\n2        3302     10       N\n"
        b"Command completed successfully\n$$\npylon>"
    )
    cap = read_console(data, "capture.txt")
    (t,) = cap.records
    assert isinstance(t, BatTable)
    assert [c.cell for c in t.cells] == [0, 2]
    (w,) = cap.warnings
    assert (w.source, w.line, w.raw) == ("capture.txt", 5, "1        33#0     10       Y")
    assert "33#0" in w.message


def test_stray_text_outside_answers_is_a_warning() -> None:
    data = (
        b"pylon>time\n@\n"
        + TIME_ANSWER.encode()
        + b"\nCommand completed successfully\n$$\npylon>\n%%%% ???\n"
    )
    cap = read_console(data, "x")
    assert len(cap.records) == 1
    (w,) = cap.warnings
    assert w.line == 7 and "outside" in w.message


def test_reader_is_closed_after_close() -> None:
    r = ConsoleReader("x")
    blocks = r.feed(session("\n")) + r.close()
    assert [b.command for b in blocks] == ["time"]
    assert r.feed(b"pylon>pwr\n@\n") == [] and r.close() == []


@pytest.mark.parametrize(
    "data",
    [
        "pylon>pwr\n@\nPower Volt Curr\n² 1 2\n$$\npylon>",
        "pylon>pwr 3\n@\nPower  ²\n$$\npylon>",
        "pylon>stat\n@\nDevice address  ²\nX : 1\n$$\npylon>",
        "pylon>log\n@\nIndex : ²\n$$\npylon>",
        "pylon>soh\n@\nPower ²\nBattery Voltage\n² 3\n$$\npylon>",
        "pylon>bat\n@\nBattery Volt Curr\n٣ 5 1\n² 5 1\n$$\npylon>",
    ],
)
def test_unicode_digits_are_warnings_not_crashes(data: str) -> None:
    cap = read_console(data.encode(), "x")
    assert cap.records
    assert not [w for w in cap.warnings if "could not be read" in w.message]
