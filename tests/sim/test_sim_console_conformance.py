"""The emulator answers like the real firmware: same framing bytes, headers, columns, as the captures.

For each dialect and command, the real capture's answer and the emulator's answer are reduced to a
*shape* — the exact line-end bytes of every line, header lines verbatim, the start column of every
token in table rows, the label of every ``key : value`` line — and compared. Then the project's own
console reader reads the emulator's output with zero warnings and the values it reads are the
simulator's state.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from pylondiag.evidence.console import read_console
from pylondiag.sim.console import ConsoleSession, ConsoleView
from pylondiag.sim.console.dialects import WAKEUP
from pylondiag.sim.module import ModuleSpec
from pylondiag.sim.stack import Stack

LINE = re.compile(rb"([^\r\n]*)(\r\n|\n\r|\r|\n|$)")


def _lines(data: bytes) -> list[tuple[str, bytes]]:
    out = []
    pos = 0
    while pos < len(data):
        m = LINE.match(data, pos)
        assert m is not None
        if m.end() == pos:
            break
        out.append((m.group(1).decode("latin-1"), m.group(2)))
        pos = m.end()
    return out


def _shape(text: str) -> object:
    if ":" in text and not re.match(r"^\d+\s", text) and "Time" not in text.split(":")[0][:6]:
        return ("kv", text.split(":")[0])
    if re.match(r"^\s*(Power|Battery|Local|Remote|\*)", text) or not text.strip():
        return ("text", text)
    return ("cols", tuple(m.start() for m in re.finditer(r"\S+", text)))


def _answer(data: bytes, command: str) -> bytes:
    """The bytes from the echoed command to the end (the prompt after it)."""
    m = re.search(rb"(?m)(?:^|>)(" + re.escape(command.encode()) + rb")[\r\n]", data)
    assert m is not None, command
    return data[m.start(1) :]


def _stack(models: list[str], soc: float = 0.55, current: float = -12.0) -> Stack:
    mods = [
        ModuleSpec(i + 1, m, f"PPTBP0{i:09d}", date(2021, 3, 1), cycles=500) for i, m in enumerate(models)
    ]
    st = Stack(mods, seed=5, start=datetime(2026, 7, 17, 1, 20), ambient_c=24.0, soc=soc)
    st.advance(np.full(3, current), np.full(3, 24.0))
    return st


def _emulate(models: list[str], dialect: str, command: str, **kw: float) -> bytes:
    st = _stack(models, **kw)
    s = ConsoleSession(ConsoleView(st, list(range(len(models)))), dialect, require_wakeup=False)
    s.banner()
    return s.run(command)


CASES = [
    # (capture file, command, models, dialect)
    (
        "pwr__US2000C-B67.5.0-mixed-US2000__Hrabovszki1023_pylontech-console.txt",
        "pwr",
        ["US2000C", "US2000C", "US2000", "US2000", "US2000C"],
        "us2000c_b67",
    ),
    ("bat_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "bat 1", ["US2000C"] * 2, "us2000c_b67"),
    ("pwr_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "pwr 1", ["US2000C"] * 2, "us2000c_b67"),
    ("stat__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "stat", ["US2000C"] * 2, "us2000c_b67"),
    ("info__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "info", ["US2000C"] * 2, "us2000c_b67"),
    ("time__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "time", ["US2000C"] * 2, "us2000c_b67"),
    ("ci__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt", "ci", ["US2000C"] * 5, "us2000c_b67"),
    (
        "getpwr__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt",
        "getpwr",
        ["US2000C"] * 2,
        "us2000c_b67",
    ),
    ("pwr__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "pwr", ["US2000"] * 2, "us2kbpl_b66"),
    ("bat__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "bat", ["US2000"] * 2, "us2kbpl_b66"),
    ("soh__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "soh", ["US2000"] * 2, "us2kbpl_b66"),
    ("stat__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "stat", ["US2000"] * 2, "us2kbpl_b66"),
    ("info__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "info", ["US2000"] * 2, "us2kbpl_b66"),
    ("time__US2KBPL-B66.6__donverduyn_ha-pylontech-mqtt.txt", "time", ["US2000"] * 2, "us2kbpl_b66"),
]


@pytest.mark.parametrize(
    ("fname", "command", "models", "dialect"), CASES, ids=[f"{c[3]}:{c[1]}" for c in CASES]
)
def test_answer_has_the_real_framing_headers_and_columns(
    captures_dir: Path, fname: str, command: str, models: list[str], dialect: str
) -> None:
    real = _lines(_answer((captures_dir / fname).read_bytes(), command))
    emu = _lines(_emulate(models, dialect, command))
    assert len(emu) == len(real), (fname, [t for t, _ in emu])
    for k, ((rt, rsep), (et, esep)) in enumerate(zip(real, emu, strict=True)):
        if k < len(real) - 1:  # the capture files add a newline after the final prompt
            assert esep == rsep, (fname, rt, et)
        if rt.startswith(command) or rt.startswith(("RTC", "Ds3231", "Barcode", "Device address")):
            continue  # the echo and values that name this stack (barcode, clock)
        assert _shape(et) == _shape(rt), (fname, rt, et)


def test_b67_user_mode_unknown_command_and_login_errors_match_the_capture(captures_dir: Path) -> None:
    real = (
        captures_dir / "login_logout_errors__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt"
    ).read_bytes()
    st = _stack(["US2000C"] * 2)
    view = ConsoleView(st, [0, 1], password="pw")
    s = ConsoleSession(view, "us2000c_b67")
    assert s.run("login pw").endswith(
        b"\nQuit current mode\nInvalid command or fail to excute.\nUsage:\n"
        b"Login Admin mode - login [password]\n$$\npylon_debug>"
    )
    assert (
        b"Quit current mode\nInvalid command or fail to excute.\nUsage:\n"
        b"Login Admin mode - login [password]\n$$\npylon_debug>" in real
    )
    out = s.run("logout")
    assert out == b"logout\n@\nCommand completed successfully\n$$\npylon>"
    assert b"logout\n@\nCommand completed successfully\n$$\npylon>" in real
    out = s.run("pwrsys")
    assert out == b"pwrsys\n@\nUnknown command 'pwrsys' - try 'help'\n$$\npylon>"
    assert out in real
    assert s.run("login pw") == b"login pw\n@\nCommand completed successfully\n$$\npylon_debug>"
    assert s.run("pwrsys").startswith(b"pwrsys\n@\n Power System Information\n")


def test_v2_pwr_has_the_newer_firmware_columns(captures_dir: Path) -> None:
    excerpt = (
        captures_dir
        / "excerpts"
        / "pwr__US2000B-and-US5000-V2.3__irekzielinski_Pylontech-Battery-Monitoring.txt"
    )
    real_header = next(
        ln for ln in excerpt.read_text().splitlines() if ln.startswith("Power Volt") and "Tlow.Id" in ln
    )
    real_row = next(ln for ln in excerpt.read_text().splitlines() if ln.startswith("1     49435"))
    real_absent = next(ln for ln in excerpt.read_text().splitlines() if ln.startswith("2     -"))
    lines = [t for t, _ in _lines(_emulate(["US5000"], "us5000_v2", "pwr"))]
    assert lines[2] == real_header
    assert _shape(lines[3]) == _shape(real_row)
    assert lines[3].endswith("  ") and real_row.endswith("  ")
    assert lines[4][1:] == real_absent[1:]  # address 2 absent in both: same bytes after the address


def test_v2_stat_n_prints_the_histogram_rows(captures_dir: Path) -> None:
    text = (
        captures_dir
        / "excerpts"
        / "stat_N_and_pwr_newfw__US5000-class__BolverBlitz_Pylontech-Battery-Exporter.txt"
    ).read_text()
    labels = re.findall(r'"((?:ChgCurr|DsgCurr|Soc)[^:"]*?)\s*:', text)
    out = _emulate(["US5000"] * 3, "us5000_v2", "stat 2").decode()
    assert "Device address           2" in out
    for label in labels:
        assert re.search(rf"^{re.escape(label)}\s*:\s+\d+\r$", out, re.M), label


def test_b66_needs_the_wakeup_and_pages_help() -> None:
    st = _stack(["US2000"] * 2)
    s = ConsoleSession(ConsoleView(st, [0, 1]), "us2kbpl_b66")
    assert s.banner() == b""
    assert s.feed(b"pwr\r") == b""
    assert s.feed(WAKEUP).endswith(b"pylon>")
    first = s.feed(b"help\r")
    assert first.endswith(b"Remote command:\r\n\rPress [Enter] to be continued,other key to exit\r")
    rest = s.feed(b"\r")
    assert rest.endswith(b"\n\r$$\r\n\rpylon>")


def test_commands_that_change_the_battery_are_answered_and_logged_not_applied() -> None:
    st = _stack(["US2000C"] * 2)
    s = ConsoleSession(ConsoleView(st, [0, 1]), "us2000c_b67")
    before = st.soc.copy()
    for cmd in ("config bov 3800", "shut", "statc", "time 2026 1 1 0 0 0"):
        assert s.run(cmd).endswith(b"pylon_debug>")
    assert s.changes == ["config bov 3800", "shut", "statc", "time 2026 1 1 0 0 0"]
    assert np.array_equal(st.soc, before)
    assert b"Unknown command 'frobnicate'" in s.run("frobnicate")


@pytest.mark.parametrize(
    "dialect,model", [("us2000c_b67", "US2000C"), ("us2kbpl_b66", "US2000"), ("us5000_v2", "US5000")]
)
def test_the_project_reader_reads_the_emulator_with_zero_warnings_and_the_simulator_values(
    dialect: str, model: str
) -> None:
    st = _stack([model] * 3, soc=0.97, current=20.0)
    st.records[0].log.extend(st.records[0].log * 3)
    s = ConsoleSession(ConsoleView(st, [0, 1, 2]), dialect, require_wakeup=False)
    data = s.banner()
    for cmd in ("pwr", "pwr 2", "bat 2", "soh 1", "stat", "info", "time", "log", "help", "nonsense"):
        data += s.run(cmd)
    cap = read_console(data, "emulated.txt")
    assert cap.warnings == ()
    kinds = [r.kind for r in cap.records]
    assert kinds[:9] == ["pwr", "pwr_detail", "bat", "soh", "stat", "info", "time", "log", "help"]
    pwr = cap.records[0]
    assert pwr.kind == "pwr"
    for row, i in zip(pwr.rows[:3], range(3), strict=True):
        r = st.reading(i)
        assert (row.voltage_mv, row.current_ma, row.soc_pct) == (r.voltage_mv, r.current_ma, r.soc_pct)
        assert (row.cell_voltage_low_mv, row.cell_voltage_high_mv) == (
            int(r.cell_mv.min()),
            int(r.cell_mv.max()),
        )
        assert row.base_state == r.base_state
    assert all(row.absent for row in pwr.rows[3:])
    bat = cap.records[2]
    assert bat.kind == "bat"
    r2 = st.reading(1)
    assert [c.voltage_mv for c in bat.cells] == [int(v) for v in r2.cell_mv]
    if dialect != "us2kbpl_b66":
        assert [c.balancing for c in bat.cells] == [bool(b) for b in r2.balancing]
    stat = cap.records[4]
    assert stat.kind == "stat" and stat.cycle_count == st.total_cycles(0)
    info = cap.records[5]
    assert info.kind == "info" and info.device_name == st.modules[0].spec.device_name
