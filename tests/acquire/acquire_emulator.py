"""Serve the console emulator for a test: over TCP on 127.0.0.1 or over a pty (no mocks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
        yield f"socket://127.0.0.1:{ports[0]}", live
    finally:
        stop.set()
        live.stop()
        t.join(5)


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
