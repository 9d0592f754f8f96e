"""Live CAN capture of the battery ↔ inverter bus, listen-only (the only CAN I/O of the project).

The tool never transmits a CAN frame: the python-can bus is wrapped in :class:`ListenOnlyBus`, which
has no ``send`` at all, and where the interface can do it the controller itself is put in
listen-only mode (``state=BusState.PASSIVE``). On SocketCAN the kernel interface should also be set
listen-only (``ip link set can0 type can bitrate 500000 listen-only on``, README) — a sniffer must
not acknowledge frames either (can.md §1).

The capture is written with python-can's own ``CanutilsLogWriter``: the ``candump -l`` shape the case
reader accepts (``docs/bus.md``).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import can

BITRATE: Final = 500_000
"""Pylontech CAN runs at 500 kbit/s (can.md §1)."""
RECV_TIMEOUT_S: Final = 0.5
"""Seconds each receive waits: the capture checks its deadline at least this often."""
MAX_FRAMES: Final = 2_000_000
"""Frames per capture at most (a day at 6 frames/s is about 520 000)."""


class ListenOnlyBus:
    """A python-can bus that can only receive: there is no method that transmits."""

    def __init__(self, bus: can.BusABC) -> None:
        self._bus = bus

    def recv(self, timeout: float | None = None) -> can.Message | None:
        return self._bus.recv(timeout)

    def shutdown(self) -> None:
        self._bus.shutdown()

    def __getattr__(self, name: str) -> object:
        if name in ("send", "send_periodic", "_send_periodic_internal", "flush_tx_buffer"):
            raise AttributeError(f"{name}: this capture is listen-only and never transmits")
        raise AttributeError(name)


def open_bus(channel: str, interface: str, bitrate: int = BITRATE) -> ListenOnlyBus:
    """Open ``channel`` on ``interface`` (socketcan, virtual, pcan, slcan...) for receiving only."""
    import can

    kwargs: dict[str, object] = {"channel": channel, "interface": interface, "receive_own_messages": False}
    if interface not in ("socketcan", "virtual"):
        kwargs["bitrate"] = bitrate
    bus = can.Bus(**kwargs)  # type: ignore[arg-type]
    with contextlib.suppress(NotImplementedError, AttributeError, can.CanError):
        bus.state = can.BusState.PASSIVE  # controller listen-only where the interface supports it
    return ListenOnlyBus(bus)


@dataclass
class CanCaptureResult:
    path: Path
    frames: int


def capture(
    bus: ListenOnlyBus,
    out_dir: Path,
    *,
    seconds: float,
    channel: str = "can0",
    name: str | None = None,
    max_frames: int = MAX_FRAMES,
) -> CanCaptureResult:
    """Receive for ``seconds`` and write ``out_dir/can/<name>.log`` in the ``candump -l`` shape."""
    import can

    folder = out_dir / "can"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / (name or f"candump-{stamp}.log")
    frames = 0
    deadline = time.monotonic() + seconds
    with can.CanutilsLogWriter(path, channel=channel) as writer:
        while frames < max_frames:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            msg = bus.recv(timeout=min(RECV_TIMEOUT_S, left))
            if msg is None:
                continue
            writer.on_message_received(msg)
            frames += 1
    return CanCaptureResult(path, frames)
