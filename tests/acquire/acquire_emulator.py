"""Serve the console emulator for a test (over TCP on 127.0.0.1 or a pty; no mocks), and diagnose
the case a test wrote with the spec's own validator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pylondiag.cli import app
from pylondiag.sim import serve as srv


@contextmanager
def serve_live(live: srv.LiveStack, **kw: Any) -> Iterator[str]:
    """Serve an already simulated stack over TCP: yields ``socket://127.0.0.1:PORT``."""
    ready = threading.Event()
    ports: list[int] = []
    stop = threading.Event()

    def on_ready(p: int) -> None:
        ports.append(p)
        ready.set()

    t = threading.Thread(
        target=srv.serve_tcp,
        args=(live, "127.0.0.1", 0),
        kwargs={"ready": on_ready, "stop": stop, **kw},
        daemon=True,
    )
    t.start()
    assert ready.wait(30)
    try:
        yield f"socket://127.0.0.1:{ports[0]}"
    finally:
        stop.set()
        t.join(5)


@contextmanager
def tcp_console(scenario: str = "healthy", seed: int = 0, **kw: Any) -> Iterator[tuple[str, srv.LiveStack]]:
    """``(socket://127.0.0.1:PORT, live stack)`` while the emulator serves; keyword args go to serve_tcp."""
    live = srv.live_stack(scenario, seed, kw.pop("speed", 1.0))
    try:
        with serve_live(live, **kw) as url:
            yield url, live
    finally:
        live.stop()


@contextmanager
def pty_console(scenario: str = "healthy", seed: int = 0, **kw: Any) -> Iterator[tuple[str, srv.LiveStack]]:
    """``(/dev/pts/N, live stack)`` while the emulator answers on a pseudo-terminal."""
    live = srv.live_stack(scenario, seed, kw.pop("speed", 1.0))
    master, path = srv.open_pty()
    stop = threading.Event()
    t = threading.Thread(target=srv.serve_pty, args=(live, master), kwargs={"stop": stop, **kw}, daemon=True)
    t.start()
    try:
        yield path, live
    finally:
        stop.set()
        t.join(5)
        live.stop()


def validated_diagnosis(case: Path, validator: Path) -> dict[str, Any]:
    """`diagnose CASE --format json`, checked by ``shared/tools/validate_diagnosis.py``."""
    res = CliRunner().invoke(app, ["diagnose", str(case), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = case.parent / f"{case.name}.diagnosis.json"
    out.write_text(res.stdout)
    chk = subprocess.run(
        [sys.executable, str(validator), str(case), str(out)], capture_output=True, text=True, check=False
    )
    assert chk.returncode == 0, chk.stdout + chk.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc
