"""What the case loader keeps and when it lets go (issue 17: whole-file reading within 2x the streamed peak;
the figures are in ``bench/parse.py``): a console capture's bytes are parsed from pieces each dropped once
fed, placed readings are slotted dataclasses, and stat-rise events share their field sets — each the same
data as before."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from pylondiag.casedir import bms_events, load_case
from pylondiag.casedir.files import MAX_CONSOLE_BYTES, ConsoleBytes
from pylondiag.evidence.console import FEED_BYTES, read_console
from pylondiag.model.console import Provenance, StatCounters
from pylondiag.model.event import BatteryEvent

CAPTURE = b"pylon>stat\r\n@\r\nDevice address      1\r\nBat OV Times    :    3\r\n$$\r\npylon>"


def test_console_bytes_are_given_in_order_and_let_go() -> None:
    data = bytes(range(256)) * (FEED_BYTES // 100)
    c = ConsoleBytes.split("console/a.txt", data, None)
    assert (c.size, c.head) == (len(data), data[:2048])
    pieces = []
    for piece in c.taken():
        pieces.append(piece)
        assert sum(map(len, c.pieces)) == len(data) - sum(map(len, pieces))  # given pieces are not kept
    assert b"".join(pieces) == data
    assert max(map(len, pieces)) == FEED_BYTES
    assert not c.pieces


def test_a_console_over_its_limit_is_not_split() -> None:
    c = ConsoleBytes.split("big.txt", b"x" * (MAX_CONSOLE_BYTES + 1), None)
    assert c.size == MAX_CONSOLE_BYTES + 1 and not c.pieces


def test_a_capture_read_by_the_loader_is_the_capture_read_whole(captures_dir: Path, tmp_path: Path) -> None:
    path = sorted(captures_dir.glob("*.txt"))[0]
    case = tmp_path / "case"
    (case / "console").mkdir(parents=True)
    data = path.read_bytes() * 100  # several pieces
    assert len(data) > 2 * FEED_BYTES
    (case / "console" / "c.txt").write_bytes(data)
    view = load_case(case)
    whole = read_console(data, "console/c.txt")
    assert [b.table for b in view.bat] == [r for r in whole.records if type(r).__name__ == "BatTable"]
    assert len(view.bat) >= 100


def _stat(line0: int, **counters: int) -> StatCounters:
    lines = {label: line0 + i for i, label in enumerate(counters)}
    return StatCounters(
        address=1,
        counters=counters,
        lines=lines,
        provenance=Provenance(source="c.txt", line=line0 - 1, raw="Device address 1"),
    )


def test_stat_rise_events_equal_validated_ones_and_share_their_field_sets() -> None:
    before = _stat(10, **{"Bat OV Times": 1, "COC Times": 4, "SC Times": 9})
    after = _stat(50, **{"Bat OV Times": 3, "COC Times": 4, "SC Times": 12})
    since, until = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC)
    got = bms_events.from_stat_rise(before, after, "c.txt", since, until, 1)
    assert [e.code for e in got] == ["stat Bat OV Times +2", "stat SC Times +3"]
    for e in got:
        validated = BatteryEvent(
            **{k: getattr(e, k) for k in e.model_fields_set if k != "provenance"},
            provenance=Provenance(**{k: getattr(e.provenance, k) for k in e.provenance.model_fields_set}),
        )
        assert e == validated
        assert e.model_dump_json() == validated.model_dump_json()
        assert e.model_fields_set == validated.model_fields_set
        assert e.provenance.model_fields_set == validated.provenance.model_fields_set
        assert e.model_fields_set is bms_events.STAT_RISE_FIELDS
    copied = got[0].model_copy(update={"brand": "x"})  # pydantic copies the shared set before changing it
    assert "brand" in copied.model_fields_set and "brand" not in bms_events.STAT_RISE_FIELDS


def test_a_placed_reading_is_small(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_bytes(CAPTURE)
    view = load_case(tmp_path / "c.txt")
    assert view.stats
    assert sys.getsizeof(view.stats[0]) < 200  # no per-object dict or field set
