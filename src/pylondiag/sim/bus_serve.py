"""Serve the simulated stack on the bus: RS485 over TCP or a pty, CAN on a python-can bus.

The RS485 side answers each ``~…\\r`` request with :class:`~pylondiag.sim.bus.Rs485Responder` (what a
master on an RS485-to-TCP gateway or a USB adapter does); the CAN side broadcasts the battery's frame
set once a second (faster with ``speed``) and, when the simulated inverter talks to the battery,
its 0x305 keep-alive. Used by the live-reader tests and by ``pylondiag sim serve-bus``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from pylondiag.sim.bus import Generation, Rs485Responder, can_round, figures
from pylondiag.sim.console.session import ConsoleView

if TYPE_CHECKING:
    import can

MAX_REQUEST: Final = 8192
"""Bytes without ``\\r`` after which the buffer is dropped (no request is that long)."""


class _FrameBuffer:
    """Bytes in, complete ``~…\\r`` requests out."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        while b"\r" in self.buf:
            i = self.buf.index(b"\r")
            chunk, self.buf = bytes(self.buf[: i + 1]), self.buf[i + 1 :]
            start = chunk.find(b"~")
            if start >= 0:
                out.append(chunk[start:])
        if len(self.buf) > MAX_REQUEST:
            self.buf.clear()
        return out


def serve_rs485_tcp(
    responder: Rs485Responder,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    lock: threading.Lock | None = None,
) -> None:
    """Accept connections and answer their requests until ``stop`` is set. Blocks."""
    srv = socket.create_server((host, port))
    srv.settimeout(0.2)
    if ready:
        ready(srv.getsockname()[1])
    guard = lock or threading.Lock()
    try:
        while stop is None or not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_tcp_conn, args=(responder, conn, stop, guard), daemon=True).start()
    finally:
        srv.close()


def _tcp_conn(
    responder: Rs485Responder, conn: socket.socket, stop: threading.Event | None, lock: threading.Lock
) -> None:
    fb = _FrameBuffer()
    conn.settimeout(0.2)
    with conn:
        while stop is None or not stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            for req in fb.feed(data):
                with lock:
                    reply = responder.answer(req)
                if reply is not None:
                    conn.sendall(reply)


def serve_rs485_pty(responder: Rs485Responder, master: int, *, stop: threading.Event | None = None) -> None:
    """Answer on the pty ``master`` (see :func:`pylondiag.sim.serve.open_pty`) until ``stop``. Blocks."""
    from pylondiag.sim.serve import pty_reads

    fb = _FrameBuffer()
    for data in pty_reads(master, stop):
        for req in fb.feed(data):
            reply = responder.answer(req)
            if reply is not None:
                os.write(master, reply)


def broadcast_can(
    view: ConsoleView,
    bus: can.BusABC,
    *,
    seconds: float,
    generation: Generation = "v1.2",
    inverter_answers: bool = True,
    period_s: float = 1.0,
    stop: threading.Event | None = None,
) -> int:
    """Send the battery's set every ``period_s`` (and the inverter's 0x305) for ``seconds``; frames sent."""
    import can

    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and (stop is None or not stop.is_set()):
        for arb, data in can_round(figures(view), generation):
            bus.send(can.Message(arbitration_id=arb, data=data, is_extended_id=False))
            sent += 1
        if inverter_answers:
            bus.send(can.Message(arbitration_id=0x305, data=bytes(8), is_extended_id=False))
            sent += 1
        time.sleep(period_s)
    return sent
