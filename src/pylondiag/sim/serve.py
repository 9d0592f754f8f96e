"""Serve a simulated stack's console over TCP or a pseudo-terminal, like a real RS232 console.

The scenario is simulated first (same seed → same stack); the served stack then keeps running in
real time (one 1-minute step per minute of wall clock, at rest), so repeated reads change the way
a real stack does. Each TCP connection gets its own session on the master's console. Commands
that would change the battery are answered but not applied, and reported on stderr.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
import tty
from collections.abc import Callable

import numpy as np

from pylondiag.sim.console.session import ConsoleSession, ConsoleView
from pylondiag.sim.scenarios import run_scenario
from pylondiag.sim.scenarios.base import SimResult

BAUD = 115200
"""Console rate (`info` → Console Port rate : 115200 [C]); 10 bits per byte on the wire (8N1)."""


class LiveStack:
    """A simulated stack that keeps ticking while it is served."""

    def __init__(self, result: SimResult, *, speed: float = 1.0) -> None:
        self.result = result
        self.lock = threading.Lock()
        self.speed = speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        st = self.result.stack
        while not self._stop.wait(60.0 / self.speed):
            with self.lock:
                amb = np.full(1, float(st.temp_c.mean()))
                st.advance(np.zeros(1), amb)

    def session(self, on_change: Callable[[str], None], require_wakeup: bool | None) -> ConsoleSession:
        s = self.result.setup
        chain = s.chains[0]
        view = ConsoleView(
            self.result.stack,
            chain,
            plugged=0,
            base_counters=s.base_counters,
            soh_counts=s.soh_counts,
        )
        dialect = s.modules[chain[0]].spec.dialect
        return ConsoleSession(view, dialect, require_wakeup=require_wakeup, on_change=on_change)


def _paced_write(write: Callable[[bytes], object], data: bytes, pace: bool) -> None:
    if not pace:
        write(data)
        return
    for i in range(0, len(data), 64):
        chunk = data[i : i + 64]
        write(chunk)
        time.sleep(len(chunk) * 10 / BAUD)


def _report_change(line: str) -> None:
    print(f"pylondiag sim: a client sent a command that would change the battery: {line!r}", file=sys.stderr)


def serve_tcp(
    live: LiveStack,
    host: str,
    port: int,
    *,
    pace: bool = False,
    require_wakeup: bool | None = None,
    ready: Callable[[int], None] | None = None,
    max_connections: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Accept connections on ``host:port``; each gets a console session. Blocks until ``stop`` is set
    (checked every 0.2 s) or ``max_connections`` have been served."""
    srv = socket.create_server((host, port))
    srv.settimeout(0.2)
    if ready:
        ready(srv.getsockname()[1])
    served = 0
    try:
        while max_connections is None or served < max_connections:
            if stop is not None and stop.is_set():
                return
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            served += 1
            t = threading.Thread(target=_handle_conn, args=(live, conn, pace, require_wakeup), daemon=True)
            t.start()
            if max_connections is not None and served >= max_connections:
                t.join()
    finally:
        srv.close()


def _handle_conn(live: LiveStack, conn: socket.socket, pace: bool, require_wakeup: bool | None) -> None:
    with conn:
        session = live.session(_report_change, require_wakeup)
        _paced_write(conn.sendall, session.banner(), pace)
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            with live.lock:
                out = session.feed(data)
            if out:
                try:
                    _paced_write(conn.sendall, out, pace)
                except OSError:
                    return


def open_pty() -> tuple[int, str]:
    """A raw pseudo-terminal pair: (master fd, slave path) — point a serial tool at the path."""
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, os.ttyname(slave)


def serve_pty(
    live: LiveStack,
    master: int,
    *,
    pace: bool = False,
    require_wakeup: bool | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Answer on the pty ``master`` until ``stop`` is set. Blocks."""
    session = live.session(_report_change, require_wakeup)

    def write(b: bytes) -> None:
        os.write(master, b)

    _paced_write(write, session.banner(), pace)
    while stop is None or not stop.is_set():
        r, _, _ = select.select([master], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:
            return
        with live.lock:
            out = session.feed(data)
        if out:
            _paced_write(write, out, pace)


def live_stack(scenario: str, seed: int, speed: float = 1.0) -> LiveStack:
    return LiveStack(run_scenario(scenario, seed), speed=speed)
