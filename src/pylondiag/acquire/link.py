"""The lowest layer that touches a console port: the only code in pylondiag that writes to it.

:class:`ConsoleLink` wraps a pyserial port (``serial_for_url``: ``/dev/ttyUSB0``, ``socket://``,
``rfc2217://``, ``loop://``). It writes exactly three kinds of byte strings, each checked again
just before the write:

* a whitelisted read-only command (:func:`pylondiag.acquire.whitelist.encode`) plus CR,
* a bare Enter (fresh prompt, next page),
* the fixed 1200-baud wake-up frame.

Anything else raises :class:`~pylondiag.acquire.whitelist.CommandRefused` before a byte leaves.
One command is in flight at a time (a second :meth:`send` before :meth:`answered` raises), and
commands are at least ``pause_s`` apart: a polling script that hammered a master module once put it
into protection (``shared/domain/peers-and-user-asks.md`` §2 item 10).
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from typing import Any

import serial

from pylondiag.acquire.whitelist import ENTER, WAKEUP_FRAME, CommandRefused, canonical, encode

CONSOLE_BAUD = 115200
"""Console Port rate (``info`` → ``Console Port rate : 115200`` [C])."""
WAKEUP_BAUD = 1200
"""Rate of the wake-up frame older firmware needs (panel_dip.md §1 [T])."""
POLL_S = 0.01
"""How long one :meth:`ConsoleLink.read_some` may wait for the first byte (s)."""
READ_CHUNK = 65536
CONNECT_WAIT_S = 20.0
"""How long a ``socket://`` / ``rfc2217://`` port that refuses the connection is tried again (s)."""


class LinkLost(ConnectionError):
    """The port went away (cable pulled, TCP bridge closed, pty closed)."""


class CommandInFlight(RuntimeError):
    """A command was sent before the previous one's answer ended (one command in flight at a time)."""


def _check_outgoing(data: bytes) -> None:
    """Last check before a write: the bytes must be Enter, the wake-up frame, or a whitelisted command."""
    if data in (ENTER, WAKEUP_FRAME):
        return
    if not data.endswith(ENTER):
        raise CommandRefused(f"refused to write {data!r}: not a console command line")
    try:
        text = data[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise CommandRefused(f"refused to write {data!r}: not ASCII") from None
    if canonical(text) != text:
        raise CommandRefused(f"refused to write {data!r}: not in canonical form")


class ConsoleLink:
    """A console port that can only be asked read-only questions."""

    def __init__(self, port: Any, *, pause_s: float = 0.005) -> None:
        self._port = port
        self.pause_s = pause_s
        """Minimum gap between the end of one answer and the next command (s)."""
        self._lock = threading.Lock()
        self._in_flight: str | None = None
        self._last_done = 0.0
        self.bytes_out = 0
        self.bytes_in = 0
        self.idle_s = 0.0
        """Time between the end of one answer and the next command (the pause and this side's work)."""
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError, NotImplementedError):
            self._fd = int(port.fileno())

    @classmethod
    def open(cls, url: str, *, baud: int = CONSOLE_BAUD, pause_s: float = 0.005) -> ConsoleLink:
        """Open ``url`` with pyserial (8N1). Raises :class:`LinkLost` with the reason when it cannot."""
        network = url.startswith(("socket://", "rfc2217://"))
        deadline = time.monotonic() + (CONNECT_WAIT_S if network else 0.0)
        while True:
            try:
                port = serial.serial_for_url(url, baudrate=baud, timeout=0, write_timeout=5.0)
                return cls(port, pause_s=pause_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                if time.monotonic() >= deadline or "refused" not in str(exc).lower():
                    raise LinkLost(f"cannot open {url}: {exc}") from None
                time.sleep(0.25)  # a serial-over-TCP bridge (or the emulator) still starting

    # ------------------------------------------------------------------ writing (the only writers)
    def send(self, command: str) -> str:
        """Type a whitelisted command; returns its canonical text. Raises before any write when the
        command is refused or another command's answer has not ended."""
        data = encode(command)
        with self._lock:
            if self._in_flight is not None:
                raise CommandInFlight(f"{command!r} sent while {self._in_flight!r} is still answering")
            wait = self._last_done + self.pause_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self._last_done:
                self.idle_s += time.monotonic() - self._last_done
            self._write(data)
            self._in_flight = data[:-1].decode("ascii")
            return self._in_flight

    def enter(self) -> None:
        """Press Enter: the console prints a fresh prompt, or the next page of a paged answer."""
        with self._lock:
            self._write(ENTER)

    def wake(self) -> None:
        """Send the wake-up frame at 1200 baud, then return to 115200 (older firmware, panel_dip.md)."""
        with self._lock:
            if self._in_flight is not None:
                raise CommandInFlight("wake-up sent while a command is answering")
            baud = self._port.baudrate
            try:
                self._port.baudrate = WAKEUP_BAUD
                self._write(WAKEUP_FRAME)
                self._port.flush()
                time.sleep(len(WAKEUP_FRAME) * 10 / WAKEUP_BAUD)
            finally:
                self._port.baudrate = baud

    def answered(self) -> None:
        """The answer to the command in flight has ended (or was given up): the next may be sent."""
        with self._lock:
            self._in_flight = None
            self._last_done = time.monotonic()

    def _write(self, data: bytes) -> None:
        _check_outgoing(data)
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"write failed: {exc}") from None
        self.bytes_out += len(data)

    # ------------------------------------------------------------------ reading
    def read_some(self) -> bytes:
        """What has arrived, waiting at most one poll (:data:`POLL_S`) for the first byte; ``b""`` when
        nothing came. The port is read non-blocking (``timeout=0``: everything already received in one
        call), and the wait is a ``select`` on the port's descriptor where it has one."""
        try:
            data: bytes = self._port.read(READ_CHUNK)
            if not data:
                self._wait_readable()
                data = self._port.read(READ_CHUNK)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"read failed: {exc}") from None
        self.bytes_in += len(data)
        return data

    def _wait_readable(self) -> None:
        if self._fd is None:
            time.sleep(0.002)  # ports without a descriptor (rfc2217://, loop://): short poll
            return
        select.select([self._fd], [], [], POLL_S)

    @property
    def baudrate(self) -> int:
        return int(self._port.baudrate)

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()
