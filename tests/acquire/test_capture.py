"""`pylondiag capture` and ConsoleSession against the emulator over TCP and a pty."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pexpect
import pytest
from acquire_emulator import pty_console, tcp_console, validated_diagnosis
from typer.testing import CliRunner

from pylondiag.acquire import ConsoleSession, NoConsole
from pylondiag.cli import app
from pylondiag.evidence.console import read_console
from pylondiag.model.console import BatTable, EventLog, PwrTable


def test_session_reads_typed_records_and_pages_through_the_log() -> None:
    with tcp_console("healthy", 1) as (url, live), ConsoleSession.open(url) as s:
        assert s.info is not None and s.info.prompt.endswith(">")
        pwr = s.read("pwr")
        table = next(r for r in pwr.records if isinstance(r, PwrTable))
        present = [r.address for r in table.rows if not r.absent]
        assert present == list(range(1, len(live.result.setup.modules) + 1))
        bat = s.read("bat 2")
        assert any(isinstance(r, BatTable) and len(r.cells) == 15 for r in bat.records)
        log = s.read("log")
        entries = next(r for r in log.records if isinstance(r, EventLog)).entries
        assert len(entries) == len(live.result.stack.records[0].log)


def test_old_firmware_needs_the_1200_baud_wakeup_and_gets_it() -> None:
    with tcp_console("healthy", 0, require_wakeup=True) as (url, _live), ConsoleSession.open(url) as s:
        assert s.info is not None and s.info.woke
        assert s.read("time").status == "ok"


def test_nothing_listening_is_a_clear_error() -> None:
    with pytest.raises(NoConsole, match="cannot open"):
        ConsoleSession.open("/dev/ttyUSB-no-such-adapter")


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_capture_writes_a_case_that_diagnose_reads_unchanged(
    tmp_path: Path, validator: Path, transport: str
) -> None:
    serve = tcp_console if transport == "tcp" else pty_console
    with serve("weak_cell", 0) as (url, live):
        res = CliRunner().invoke(app, ["capture", url, "--out", str(tmp_path / "case")])
    assert res.exit_code == 0, res.output
    case = tmp_path / "case"
    transcripts = list((case / "console").iterdir())
    assert len(transcripts) == 1
    cap = read_console(transcripts[0].read_bytes(), transcripts[0].name)
    assert cap.warnings == ()
    assert cap.captured_at is not None
    n = len(live.result.setup.modules)
    kinds = [r.kind for r in cap.records]
    assert kinds.count("bat") == n and kinds.count("pwr_detail") == n and kinds.count("info") == n
    assert "log" in kinds and "time" in kinds
    text = (case / "case.yaml").read_text()
    for m in live.result.setup.modules:
        assert m.serial in text
    doc = validated_diagnosis(case, validator)
    assert doc["case_id"] == "case"


def test_capture_refuses_a_directory_that_already_holds_a_case(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").write_text("schema: pylondiag.case/1\n")
    res = CliRunner().invoke(app, ["capture", "socket://127.0.0.1:9", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "already holds a case" in res.output


def test_own_console_capture_adds_that_modules_own_readings_to_the_case(
    tmp_path: Path, validator: Path
) -> None:
    case = tmp_path / "case"
    with tcp_console("healthy", 1) as (url, _live):
        assert CliRunner().invoke(app, ["capture", url, "--out", str(case)]).exit_code == 0
    before = (case / "case.yaml").read_text()
    with tcp_console("healthy", 1, plugged=2) as (url, _live):
        res = CliRunner().invoke(app, ["capture", url, "--out", str(case), "--own"])
    assert res.exit_code == 0, res.output
    assert (case / "case.yaml").read_text() == before
    (own,) = (case / "console").glob("own-*.txt")
    cap = read_console(own.read_bytes(), own.name)
    stats = [r for r in cap.records if r.kind == "stat"]
    assert [s.address for s in stats] == [2]  # type: ignore[attr-defined]
    validated_diagnosis(case, validator)


def test_a_port_that_never_stops_sending_is_cut_and_refused_in_bounded_time() -> None:
    """Noise that never pauses (a chatty device, a wrong rate) must not hold a read forever."""
    import socket
    import threading
    import time

    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def stream() -> None:
        conn, _ = srv.accept()
        with conn:
            while not stop.is_set():
                try:
                    conn.sendall(b"\xfe\x80" * 64)
                except OSError:
                    return
                time.sleep(0.005)

    t = threading.Thread(target=stream, daemon=True)
    t.start()
    from pylondiag.acquire import ConsoleLink

    link = ConsoleLink.open(f"socket://127.0.0.1:{srv.getsockname()[1]}")
    session = ConsoleSession(link, timeout_s=0.5)
    session.answer_limit_s = 0.5
    t0 = time.monotonic()
    with pytest.raises(NoConsole, match="no console prompt"):
        session.detect()
    assert time.monotonic() - t0 < 10
    stop.set()
    link.close()
    srv.close()


@pytest.mark.parametrize("quiet", [False, True])
def test_capture_bar_on_a_terminal_and_none_with_quiet(tmp_path: Path, quiet: bool) -> None:
    """On a terminal the capture draws its bar over the commands and says what it captured; ``--quiet``
    leaves only errors on stderr: no bar, no summary (the case is written all the same)."""
    out = tmp_path / "case"
    with tcp_console("healthy", 0) as (url, _live):
        flags = "--quiet " if quiet else ""
        cmd = f"{sys.executable} -m pylondiag {flags}capture {url} --out {out}"
        child = pexpect.spawn("/bin/sh", ["-c", cmd], timeout=120, dimensions=(24, 120), encoding="utf-8")
        child.expect(pexpect.EOF)
        child.close()
    drawn = child.before or ""
    assert child.exitstatus == 0, drawn
    assert (out / "case.yaml").is_file()
    if quiet:
        assert drawn.strip() == ""
    else:
        assert re.search(r"\d+/\d+", drawn) and "done" in drawn, drawn[-500:]  # steps done / commands
        assert "captured " in drawn
