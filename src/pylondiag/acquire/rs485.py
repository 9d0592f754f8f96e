"""Live RS485 capture from a Pylontech master, read-only (the only RS485 I/O of the project).

Safety, enforced here and tested:

* only the read commands of :data:`~pylondiag.evidence.rs485.frame.READ_COMMANDS` are ever sent: a
  request for anything else (0x94 set limits, 0x95 turn off, unknown codes) is refused before a byte
  leaves (:class:`RefusedCommand`);
* one request in flight: each request waits for its reply (to ``\\r``) or its timeout before the next;
* a timeout on every read, and a deadline on the whole capture.

The port is anything pyserial opens: a device (``/dev/ttyUSB0``), a pty, or ``socket://host:port``
(an RS485-to-TCP gateway, or the simulator). The capture is written in the ``rs485/`` shape the case
reader accepts (``ISO-time > request`` / ``ISO-time < reply``, ``docs/bus.md``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from pylondiag.evidence.rs485 import READ_COMMANDS, Frame, decode_frame, encode_frame
from pylondiag.evidence.rs485.frame import CID1_BATTERY, MAX_INFO_BYTES

DEFAULT_BAUD: Final = 115200
"""The master's default RS485 rate (DIP 1 down; rs485.md §1). Inverter links often run at 9600."""
DEFAULT_TIMEOUT_S: Final = 1.0
"""Seconds to wait for a reply (callers use 0.5-2 s, rs485.md §1)."""
MAX_REPLY_BYTES: Final = 2 + 16 + 2 * MAX_INFO_BYTES + 4
"""The longest frame there can be; more bytes without ``\\r`` is line noise."""
MAX_ADDRESSES: Final = 16
"""Packs per group at most (rs485.md §5: 8 or 12 slaves + master)."""
FIRST_ADR: Final = 2
"""The master's address (rs485.md §5)."""


class RefusedCommand(ValueError):
    """A request that is not one of the whitelisted read commands: nothing was sent."""


class Port(Protocol):
    """What the poller needs of a pyserial port."""

    timeout: float | None

    def write(self, data: bytes, /) -> int | None: ...
    def read(self, size: int = 1, /) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


def open_port(port: str, baud: int = DEFAULT_BAUD, timeout: float = DEFAULT_TIMEOUT_S) -> Port:
    """A device path, pty or ``socket://host:port`` URL, 8N1."""
    import serial

    p: Port = serial.serial_for_url(port, baudrate=baud, timeout=timeout, bytesize=8, parity="N", stopbits=1)
    return p


@dataclass
class Exchange:
    request: bytes
    sent_at: datetime
    reply: bytes | None
    replied_at: datetime | None


@dataclass
class Poller:
    """Sends whitelisted requests one at a time and collects every exchange."""

    port: Port
    timeout_s: float = DEFAULT_TIMEOUT_S
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    exchanges: list[Exchange] = field(default_factory=list)

    def request(self, adr: int, command: int, info: bytes = b"", ver: int = 0x20) -> Frame | None:
        """One request, its reply (a valid frame) or None on timeout / garbage. Refuses non-read commands."""
        if command not in READ_COMMANDS:
            raise RefusedCommand(f"command 0x{command:02X} is not a read command; nothing was sent")
        wire = encode_frame(Frame(ver, adr, CID1_BATTERY, command, info))
        self.port.reset_input_buffer()
        sent = self.clock()
        self.port.write(wire)
        reply = self._read_frame()
        got = self.clock() if reply is not None else None
        self.exchanges.append(Exchange(wire, sent, reply, got))
        if reply is None:
            return None
        f = decode_frame(reply)
        return f if isinstance(f, Frame) and f.is_reply else None

    def _read_frame(self) -> bytes | None:
        """Bytes up to and including ``\\r`` that start at ``~``, within the timeout."""
        deadline = time.monotonic() + self.timeout_s
        buf = bytearray()
        self.port.timeout = min(self.timeout_s, 0.1)
        while time.monotonic() < deadline:
            chunk = self.port.read(1)
            if not chunk:
                continue
            if not buf and chunk != b"~":
                continue  # noise before the start of frame
            buf += chunk
            if chunk == b"\r":
                return bytes(buf)
            if len(buf) > MAX_REPLY_BYTES:
                return None
        return None

    def discover(self, group: int = 0, limit: int = MAX_ADDRESSES) -> list[int]:
        """ADRs that answer 0x42 in ``group``: from the master up, until the first that does not."""
        found: list[int] = []
        for n in range(limit):
            adr = (group << 4) | (FIRST_ADR + n)
            f = self.request(adr, 0x42, bytes([adr]))
            if f is None or f.cid2 != 0:
                break
            found.append(adr)
        return found

    def poll_round(self, addresses: list[int], group: int = 0) -> None:
        """The master's identity and limits, FF analog and alarms, then per address 0x42/0x44/0x92/0x93,
        one past the last to see the end of the stack, and the V3.5 system queries."""
        master = (group << 4) | FIRST_ADR
        self.request(master, 0x4F, ver=0x20)
        self.request(master, 0x51)
        self.request(master, 0x47)
        self.request(master, 0x42, b"\xff")
        self.request(master, 0x44, b"\xff")
        probe = [*addresses, (addresses[-1] + 1) if addresses else master]
        for adr in probe:
            for cmd in (0x42, 0x44, 0x92, 0x93):
                self.request(adr, cmd, bytes([adr]))
        self.request(master, 0x61)
        self.request(master, 0x63)

    def lines(self) -> Iterator[str]:
        """The capture in the case reader's ``rs485/`` shape."""
        for ex in self.exchanges:
            yield f"{_stamp(ex.sent_at)} > {ex.request.decode('ascii').strip()}"
            if ex.reply is not None and ex.replied_at is not None:
                text = ex.reply.decode("ascii", "replace").strip()
                yield f"{_stamp(ex.replied_at)} < {text}"


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


@dataclass
class CaptureResult:
    path: Path
    addresses: list[int]
    requests: int
    replies: int


def capture(
    port: Port,
    out_dir: Path,
    *,
    rounds: int = 1,
    interval_s: float = 5.0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    deadline_s: float = 600.0,
    group: int = 0,
    name: str | None = None,
) -> CaptureResult:
    """Discover the stack's addresses, poll ``rounds`` rounds, write ``out_dir/rs485/<name>.txt``."""
    poller = Poller(port, timeout_s)
    start = time.monotonic()
    addresses = poller.discover(group)
    for k in range(rounds):
        if time.monotonic() - start > deadline_s:
            break
        if k:
            time.sleep(interval_s)
        poller.poll_round(addresses, group)
    folder = out_dir / "rs485"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / (name or f"capture-{stamp}.txt")
    path.write_text("\n".join(poller.lines()) + "\n", encoding="ascii")
    replies = sum(1 for e in poller.exchanges if e.reply is not None)
    return CaptureResult(path, addresses, len(poller.exchanges), replies)
