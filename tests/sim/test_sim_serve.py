"""The emulator served over TCP and a pty, and the `pylondiag sim` commands."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from pylondiag.cli import app
from pylondiag.evidence.console import read_console
from pylondiag.sim import list_scenarios
from pylondiag.sim import serve as srv


def _read_until(recv, marker: bytes, timeout: float = 10.0) -> bytes:  # type: ignore[no-untyped-def]
    buf = b""
    end = time.monotonic() + timeout
    while marker not in buf and time.monotonic() < end:
        buf += recv()
    return buf


def test_tcp_session_answers_like_a_console_and_parses_cleanly() -> None:
    live = srv.live_stack("healthy", 2)
    ports: list[int] = []
    ready = threading.Event()

    def on_ready(p: int) -> None:
        ports.append(p)
        ready.set()

    t = threading.Thread(
        target=srv.serve_tcp,
        args=(live, "127.0.0.1", 0),
        kwargs={"ready": on_ready, "max_connections": 1, "require_wakeup": False},
        daemon=True,
    )
    t.start()
    assert ready.wait(10)
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=10) as c:
        banner = _read_until(lambda: c.recv(4096), b">")
        c.sendall(b"pwr\r")
        out = _read_until(lambda: c.recv(65536), b"$$")
        while not out.endswith(b">"):
            out += c.recv(4096)
    cap = read_console(banner + out, "tcp.txt")
    assert cap.warnings == ()
    assert cap.records[0].kind == "pwr"
    n = len(live.result.setup.modules)
    assert sum(not r.absent for r in cap.records[0].rows) == n


def test_pty_session_answers() -> None:
    live = srv.live_stack("healthy", 3)
    master, path = srv.open_pty()
    stop = threading.Event()
    t = threading.Thread(
        target=srv.serve_pty, args=(live, master), kwargs={"stop": stop, "require_wakeup": False}, daemon=True
    )
    t.start()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:

        def recv() -> bytes:
            r, _, _ = select.select([fd], [], [], 0.5)
            return os.read(fd, 4096) if r else b""

        _read_until(recv, b">")
        os.write(fd, b"info\r")
        out = _read_until(recv, b"$$")
        assert b"Device name" in out and b"Manufacturer        : Pylon" in out
    finally:
        stop.set()
        t.join(5)
        os.close(fd)
        os.close(master)


def test_cli_list_case_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["sim", "list"])
    assert res.exit_code == 0 and res.output.split() == list_scenarios()
    res = runner.invoke(app, ["sim", "case", "mixed_models", "--seed", "5", "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "case.yaml").exists() and (tmp_path / "c" / "label.json").exists()
    res = runner.invoke(app, ["sim", "case", "nope", "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and "unknown scenario" in res.output
    res = runner.invoke(app, ["sim", "serve", "--scenario", "healthy"])
    assert res.exit_code == 2 and "exactly one" in res.output
