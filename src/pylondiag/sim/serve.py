"""Serve a simulated stack's console over TCP or a pseudo-terminal, like a real RS232 console.

The scenario is simulated first (same seed → same stack); the served stack then keeps running in
real time (one 1-minute step per minute of wall clock, at rest; ``speed`` = the time-scale factor,
simulated minutes per wall-clock minute), so repeated reads change the way a real stack does. With
``hold=True`` the stack is held at the top of charge as in a controlled rebalancing cycle (the
inverter charging at the BMS's recommended voltage). Each TCP connection gets its own session on
the master's console. Commands that would change the battery are answered but not applied, and
reported on stderr. Output can be paced at the real baud rate, in a chosen firmware dialect, with
faults injected (:mod:`pylondiag.sim.faults`).
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator

import numpy as np

from pylondiag.sim.console.dialects import DIALECTS
from pylondiag.sim.console.session import ConsoleSession, ConsoleView
from pylondiag.sim.faults import FaultLine, Faults
from pylondiag.sim.scenarios import run_scenario
from pylondiag.sim.scenarios.base import SimResult

BAUD = 115200
"""Console rate (`info` → Console Port rate : 115200 [C]); 10 bits per byte on the wire (8N1)."""


class LiveStack:
    """A simulated stack that keeps ticking while it is served."""

    def __init__(self, result: SimResult, *, speed: float = 1.0, hold: bool = False) -> None:
        self.result = result
        self.lock = threading.Lock()
        self.speed = speed
        self.hold = hold
        """Hold the stack at the top of charge (a rebalancing cycle) instead of at rest."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        st = self.result.stack
        step_s = 60.0 / self.speed
        due = time.monotonic()
        while True:
            due += step_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            with self.lock:
                amb = np.full(1, float(st.temp_c.mean()))
                amps = st.charge_current_limit(st.charge_voltage_v(), 1 / 60) if self.hold else 0.0
                st.advance(np.full(1, amps), amb)

    def session(
        self,
        on_change: Callable[[str], None],
        require_wakeup: bool | None,
        dialect: str | None = None,
        plugged: int = 1,
    ) -> ConsoleSession:
        """A console session on the module at address ``plugged`` (1 = the master)."""
        s = self.result.setup
        chain = s.chains[0]
        view = ConsoleView(
            self.result.stack,
            chain,
            plugged=max(0, min(plugged, len(s.chains[0])) - 1),
            base_counters=s.base_counters,
            soh_counts=s.soh_counts,
        )
        dialect = dialect or s.modules[chain[view.plugged]].spec.dialect
        return ConsoleSession(view, dialect, require_wakeup=require_wakeup, on_change=on_change)

    def fault_line(self, faults: Faults | None) -> FaultLine | None:
        if faults is None or not faults.any:
            return None
        return FaultLine(faults, self.result.stack, self.result.setup.chains[0])


def _paced_write(write: Callable[[bytes], object], data: bytes, pace: bool | int) -> None:
    """Write ``data``; paced at ``pace`` baud (True = 115200), 10 bits a byte (8N1). The schedule is
    kept against the clock, so a late wake-up is made up by the next chunk instead of adding up."""
    if not pace:
        write(data)
        return
    baud = BAUD if pace is True else int(pace)
    start = time.monotonic()
    for i in range(0, len(data), 64):
        chunk = data[i : i + 64]
        write(chunk)
        due = start + (i + len(chunk)) * 10 / baud
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class _Disconnect(Exception):
    pass


def _answer(session: ConsoleSession, live: LiveStack, line: FaultLine | None, data: bytes) -> bytes:
    """The console's bytes for what the client typed, with the faults applied."""
    if line is not None:
        line.typed(data)
        if line.should_disconnect():
            raise _Disconnect
    with live.lock:
        out = session.feed(data)
    if line is not None:
        if line.f.slow and out:
            time.sleep(line.f.slow)
        out = line.mangle(out)
    return out


def _report_change(line: str) -> None:
    print(f"pylondiag sim: a client sent a command that would change the battery: {line!r}", file=sys.stderr)


def serve_tcp(
    live: LiveStack,
    host: str,
    port: int,
    *,
    pace: bool | int = False,
    require_wakeup: bool | None = None,
    ready: Callable[[int], None] | None = None,
    max_connections: int | None = None,
    stop: threading.Event | None = None,
    faults: Faults | None = None,
    dialect: str | None = None,
    plugged: int = 1,
) -> None:
    """Accept connections on ``host:port``; each gets a console session. Blocks until ``stop`` is set
    (checked every 0.2 s) or ``max_connections`` have been served."""
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    line = live.fault_line(faults)
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
            t = threading.Thread(
                target=_handle_conn,
                args=(live, conn, pace, require_wakeup, line, dialect, plugged),
                daemon=True,
            )
            t.start()
            if max_connections is not None and served >= max_connections:
                t.join()
    finally:
        srv.close()


def _handle_conn(
    live: LiveStack,
    conn: socket.socket,
    pace: bool | int,
    require_wakeup: bool | None,
    line: FaultLine | None = None,
    dialect: str | None = None,
    plugged: int = 1,
) -> None:
    with conn:
        session = live.session(_report_change, require_wakeup, dialect, plugged)
        banner = session.banner()
        _paced_write(conn.sendall, line.mangle(banner) if line else banner, pace)
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            try:
                out = _answer(session, live, line, data)
            except _Disconnect:
                return
            if out:
                try:
                    _paced_write(conn.sendall, out, pace)
                except OSError:
                    return


def pty_reads(master: int, stop: threading.Event | None) -> Iterator[bytes]:
    """What arrives on the pty ``master``, chunk by chunk, until ``stop`` is set (checked every 0.2 s)
    or the pty is gone."""
    while stop is None or not stop.is_set():
        r, _, _ = select.select([master], [], [], 0.2)
        if not r:
            continue
        try:
            yield os.read(master, 4096)
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
    pace: bool | int = False,
    require_wakeup: bool | None = None,
    stop: threading.Event | None = None,
    faults: Faults | None = None,
    dialect: str | None = None,
    plugged: int = 1,
) -> None:
    """Answer on the pty ``master`` until ``stop`` is set. Blocks. A ``disconnect`` fault closes the
    pty (as a USB adapter that resets: the device path is gone)."""
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    session = live.session(_report_change, require_wakeup, dialect, plugged)
    line = live.fault_line(faults)

    def write(b: bytes) -> None:
        os.write(master, b)

    banner = session.banner()
    _paced_write(write, line.mangle(banner) if line else banner, pace)
    for data in pty_reads(master, stop):
        try:
            out = _answer(session, live, line, data)
        except _Disconnect:
            os.close(master)
            return
        if out:
            _paced_write(write, out, pace)


def live_stack(scenario: str, seed: int, speed: float = 1.0, *, hold: bool = False) -> LiveStack:
    return LiveStack(run_scenario(scenario, seed), speed=speed, hold=hold)
