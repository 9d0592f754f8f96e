"""Property tests: the reader never fails but with its own error, and a cut capture never lies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _console_helpers import feed_in_chunks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylondiag.errors import NotAConsoleCapture
from pylondiag.evidence.console import ConsoleReader, looks_like_console, parse_block, read_console
from pylondiag.model.console import ConsoleCapture

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CONSOLE_BITS = [
    b"pylon>", b"pylon_debug>", b"pwr", b"bat", b"stat", b"@", b"$$", b"\r", b"\n", b"\r\r\n", b"\n\r",
    b"Command completed successfully", b"Power Volt   Curr", b"Battery  Volt     Curr", b" : ", b"-",
    b"Absent", b"2026-07-17 01:20:56", b"13.07.26 19:59:48", b"Press [Enter] to be continued", b"\xfe",
    b"\xe2\x96", b"#", b"Unknown command", b"12  3345  0", b"mAH", b"%", b"Y", b"N", b"  ", b"Index   : 3",
    b"0x2000 COULFULL", "²".encode(), "٣".encode(), b"Device address", b"Index : ", b"Power  ",
]  # fmt: skip
console_like = st.lists(st.sampled_from(CONSOLE_BITS) | st.binary(max_size=6), max_size=60).map(b"".join)


def read_or_own_error(data: bytes, source: str = "fuzz") -> ConsoleCapture | None:
    try:
        cap = read_console(data, source)
    except NotAConsoleCapture as exc:
        assert exc.source == source
        return None
    # the parsers' own safety net (a bug caught as a warning) must never be needed
    assert not [w for w in cap.warnings if "could not be read" in w.message], cap.warnings
    return cap


@given(st.binary(max_size=400))
@SETTINGS
def test_arbitrary_bytes(data: bytes) -> None:
    read_or_own_error(data)
    looks_like_console(data)


@given(console_like, st.integers(1, 7))
@SETTINGS
def test_console_shaped_noise_whole_equals_chunked(data: bytes, size: int) -> None:
    cap = read_or_own_error(data)
    whole = feed_in_chunks(data, max(len(data), 1))
    assert feed_in_chunks(data, size) == whole
    assert (cap is None) == (not whole)
    for block in whole:
        parse_block(block, "fuzz")


def capture_files() -> list[str]:
    from shared_paths import CAPTURES

    folder = CAPTURES / "console"
    return sorted(p.name for p in folder.glob("*.txt")) if folder.is_dir() else []


def consistent(cut: Any, full: Any, path: str = "") -> None:
    """Every value read from the cut capture is the value read from the whole one (or missing)."""
    if isinstance(cut, dict):
        for k, v in cut.items():
            if k in ("end_line",):
                continue
            assert k in full, f"{path}.{k} not in the full read"
            if v is None or v in ((), [], {}):
                continue
            consistent(v, full[k], f"{path}.{k}")
    elif isinstance(cut, list | tuple):
        assert len(cut) <= len(full), f"{path}: more items than the full read"
        for i, (a, b) in enumerate(zip(cut, full, strict=False)):
            consistent(a, b, f"{path}[{i}]")
    else:
        assert cut == full, f"{path}: {cut!r} != {full!r}"


def by_line(cap: ConsoleCapture) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r.kind, r.provenance.line): r.model_dump() for r in cap.records}


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_truncated_capture_never_yields_a_wrong_value(
    captures_dir: Path, name: str, data: st.DataObject
) -> None:
    raw = (captures_dir / name).read_bytes()
    full = by_line(read_console(raw, name))
    cut_at = data.draw(st.integers(0, len(raw)), label="cut")
    cap = read_or_own_error(raw[:cut_at], name)
    if cap is None:
        return
    for key, rec in by_line(cap).items():
        assert key in full, f"record {key} does not exist in the full read"
        if rec["kind"] == "help":  # a cut continuation line shortens a description, by design
            assert set(rec["commands"]) <= set(full[key]["commands"])
            continue
        consistent(rec, full[key], f"{key}")


@pytest.mark.parametrize("name", capture_files() or ["<no captures folder>"])
@given(data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_junk_appended_or_interleaved(captures_dir: Path, name: str, data: st.DataObject) -> None:
    raw = (captures_dir / name).read_bytes()
    junk = data.draw(st.binary(min_size=1, max_size=40) | console_like, label="junk")
    at = data.draw(st.integers(0, len(raw)), label="at")
    mixed = raw[:at] + junk + raw[at:]
    cap = read_or_own_error(mixed)
    reader = ConsoleReader(name)
    step = data.draw(st.integers(1, 64), label="step")
    blocks = []
    for i in range(0, len(mixed), step):
        blocks += reader.feed(mixed[i : i + step])
    blocks += reader.close()
    for block in blocks:
        parse_block(block, name)
    assert cap is not None or not blocks
    appended = read_or_own_error(raw + junk)
    assert appended is not None and appended.records


BAT_HEADER = "Battery Volt Curr Tempr Base State Volt. State Curr. State Temp. State SOC Coulomb BAL"
PWR_HEADER = "Power Volt Curr Tempr Tlow Tlow.Id Base.St Coulomb Time B.V.St MosTempr M.T.St SysAlarm.St Frob"
BAT_ROW = ["3", "3316", "-2964", "26400", "Dischg", "Normal", "Normal", "Normal", "96%", "44628", "mAH", "N"]
BAT_ROW_NO_SOC = [
    "3",
    "3316",
    "-2964",
    "26400",
    "Dischg",
    "Normal",
    "Normal",
    "Normal",
    "89%",
    "44628",
    "mAH",
]
PWR_ROW = [
    "1",
    "49726",
    "-3037",
    "29300",
    "26000",
    "12",
    "Dischg",
    "96%",
    "2026-07-17",
    "01:20:56",
    "Normal",
    "27100",
    "Normal",
    "Normal",
    "7",
    "mV",
]
TOKENS = st.sampled_from(
    ["1", "3300", "-5", "-", "--", "96%", "9%", "%", "mAH", "mV", "Y", "N", "Normal", "2026-07-17",
     "01:20:56", "x", "12a", "0x10", "+7", "0", "00", "007", "1234", "٣", "Absent", "2026-02-28",
     "2026-13-01", "0000-01-01", "24:00:00", "1_000", "mAh", "Y%"]
)  # fmt: skip


def mutated(template: list[str]) -> st.SearchStrategy[list[str]]:
    """The template row with a few tokens replaced, dropped or inserted."""

    def apply(edits: list[tuple[int, int, str]]) -> list[str]:
        row = list(template)
        for op, pos, tok in edits:
            pos %= len(row) + 1
            if op == 0 and pos < len(row):
                row[pos] = tok
            elif op == 1 and pos < len(row) and len(row) > 1:
                del row[pos]
            else:
                row.insert(pos, tok)
        return row

    return st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20), TOKENS), max_size=3).map(apply)


@pytest.mark.parametrize(
    ("header", "table", "has_soc", "template"),
    [
        (BAT_HEADER, "bat", True, BAT_ROW),
        (BAT_HEADER.replace(" SOC ", " ").replace(" BAL", ""), "bat", False, BAT_ROW_NO_SOC),
        (PWR_HEADER, "pwr", True, PWR_ROW),
    ],
)
@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_compiled_row_layouts_agree_with_column_by_column(
    header: str, table: str, has_soc: bool, template: list[str], data: st.DataObject
) -> None:
    import pylondiag.evidence.console.bat
    import pylondiag.evidence.console.pwr  # noqa: F401  (registers the column maps)
    from pylondiag.evidence.console._common import BadValue
    from pylondiag.evidence.console._table import KNOWN, TableReader, header_tokens, plan

    columns, model = KNOWN[table]
    cols = plan(header_tokens(header), columns)
    rows = data.draw(st.lists(mutated(template) | st.lists(TOKENS, min_size=1, max_size=16), max_size=12))
    reader = TableReader(cols, has_soc, model)
    for tokens in [template, *rows, template, *rows]:  # the second pass takes the compiled layouts
        try:
            expected: object = reader.record_dict_general(tokens, "src", 7, "raw")[:2]
        except BadValue:
            expected = BadValue
        try:
            got: object = reader.record_dict(tokens, "src", 7, "raw")
        except BadValue:
            got = BadValue
        assert got == expected, tokens
        assert_record_builder_agrees(reader, tokens, expected)


def assert_row_pattern_is_within_check(reader: Any, tokens: list[str]) -> None:
    """A table whose rows all match ``TableReader.body`` skips the row-by-row check: the pattern must take
    only rows some compiled check accepts (with the same tokens), whatever the spacing; and pwr's
    ``Absent`` pattern only rows the careful path keeps as ``Absent`` rows."""
    from pylondiag.evidence.console._common import module_address
    from pylondiag.evidence.console._table import REFUSED
    from pylondiag.evidence.console.pwr import _ABSENT_PATTERN

    body = reader.body()
    if body is None:
        return
    for line in (" ".join(tokens), "  " + "   ".join(tokens) + " ", "\t".join(tokens)):
        if body.fullmatch(line):
            assert line.split() == tokens
            try:
                reader.checks[len(tokens)](tokens)
            except REFUSED:
                raise AssertionError(f"the pattern takes a row the check refuses: {line!r}") from None
        if re.fullmatch(_ABSENT_PATTERN, line):
            assert module_address(tokens[0]) is not None and "Absent" in tokens, line


def assert_record_builder_agrees(reader: Any, tokens: list[str], expected: object) -> None:
    """The one-step builder takes a row only when the careful path would read it without a warning (key
    token valid, nothing left over), and builds the same record; the check the table loops run (they keep
    the line and build the record when the table is read) refuses exactly the rows the builder refuses."""
    from pylondiag.evidence.console._common import small_int
    from pylondiag.evidence.console._table import REFUSED

    assert_row_pattern_is_within_check(reader, tokens)
    build = reader.records.get(len(tokens))
    if build is None:
        return
    check = reader.checks[len(tokens)]  # what the table loops run: must refuse exactly what build refuses
    try:
        check(tokens)
        checked = True
    except REFUSED:
        checked = False
    try:
        record = build(tokens, "src", 7, "raw")
    except REFUSED:
        assert not checked, tokens
        return
    assert checked, tokens
    model = reader.model
    key = small_int(tokens[0], model.key_digits)
    assert key is not None and key >= model.key_min, tokens
    assert isinstance(expected, tuple) and expected[1] == 0, tokens
    fields = dict(expected[0])
    if model.key_field is not None:
        fields[model.key_field] = key
    assert type(record) is model.cls
    assert record.__dict__ == fields, tokens
    assert record.model_fields_set == set(model.fields)
