"""`pylondiag capture-bus`: capture the stack ↔ inverter bus into a case folder, read-only.

RS485: polls the master with the read commands only (one request in flight, address discovery, a
timeout on every read) and writes ``CASE/rs485/capture-….txt``. CAN: listens (never transmits) and
writes ``CASE/can/candump-….log`` in the ``candump -l`` shape. Heavy imports happen inside the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass(frozen=True)
class BusOptions:
    """What to record from the bus, for ``capture-bus`` and for ``capture --rs485/--can``.

    Times in seconds, rates in bit/s; ``None`` for a bus means "do not touch it".
    """

    rs485: str | None = None
    baud: int = 115200
    rounds: int = 1
    interval: float = 5.0
    timeout: float = 1.0
    can: str | None = None
    interface: str = "socketcan"
    seconds: float = 60.0
    bitrate: int = 500000


def capture_into(case: Path, opts: BusOptions) -> int:
    """Record the buses ``opts`` names into ``case``; the exit code (0 recorded, 2 unusable port/channel)."""
    case.mkdir(parents=True, exist_ok=True)
    try:
        if opts.rs485 is not None:
            _rs485(case, opts.rs485, opts.baud, opts.rounds, opts.interval, opts.timeout)
        if opts.can is not None:
            _can(case, opts.can, opts.interface, opts.seconds, opts.bitrate)
    except typer.Exit as exc:
        return int(exc.exit_code)
    return 0


def capture_bus_cmd(
    case: Path = typer.Argument(..., help="Case directory to write into (created if missing)."),  # noqa: B008
    rs485: str | None = typer.Option(
        None, "--rs485", help="RS485 port: /dev/ttyUSB0, a pty, or socket://host:port (a gateway)."
    ),
    baud: int = typer.Option(115200, "--baud", help="RS485 rate: 115200 (DIP 1 down) or 9600 (DIP 1 up)."),
    rounds: int = typer.Option(1, "--rounds", min=1, max=10000, help="RS485 poll rounds."),
    interval: float = typer.Option(5.0, "--interval", min=0.0, help="Seconds between RS485 rounds."),
    timeout: float = typer.Option(1.0, "--timeout", min=0.05, max=10.0, help="Seconds to wait for a reply."),
    can_channel: str | None = typer.Option(None, "--can", help="CAN channel to listen on, e.g. can0."),
    interface: str = typer.Option(
        "socketcan", "--interface", help="python-can interface: socketcan, pcan, slcan, kvaser, virtual..."
    ),
    seconds: float = typer.Option(60.0, "--seconds", min=0.1, max=86400.0, help="Seconds of CAN to record."),
    bitrate: int = typer.Option(500000, "--bitrate", help="CAN bit rate (Pylontech: 500000)."),
) -> None:
    """Record the battery bus (RS485 polls and/or CAN traffic) into CASE, read-only.

    Exit 0 = captured; 2 = nothing to do or the port/channel cannot be opened.
    """
    if rs485 is None and can_channel is None:
        typer.echo("error: give --rs485 PORT and/or --can CHANNEL", err=True)
        raise typer.Exit(2)
    opts = BusOptions(rs485, baud, rounds, interval, timeout, can_channel, interface, seconds, bitrate)
    raise typer.Exit(capture_into(case, opts))


def _rs485(case: Path, port: str, baud: int, rounds: int, interval: float, timeout: float) -> None:
    from pylondiag.extras import MissingExtra, require

    try:
        require("bus", "capture-bus --rs485")
    except MissingExtra as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from pylondiag.acquire import rs485

    try:
        p = rs485.open_port(port, baud, timeout)
    except Exception as exc:  # pyserial raises SerialException / OSError / ValueError for a bad port
        typer.echo(f"error: {port}: cannot be opened ({exc}). Fix: check the device path or URL.", err=True)
        raise typer.Exit(2) from None
    try:
        res = rs485.capture(p, case, rounds=rounds, interval_s=interval, timeout_s=timeout)
    finally:
        p.close()
    found = ", ".join(f"0x{a:02X}" for a in res.addresses) or "none"
    typer.echo(f"{res.path}: {res.requests} requests, {res.replies} replies; packs answering at ADR {found}")
    if not res.replies:
        typer.echo(
            "warning: no reply at all — check the port (the RS485 RJ45, pins 7/8 = A/B), and the baud rate "
            "(DIP switch 1 on the master: down = 115200, up = 9600).",
            err=True,
        )


def _can(case: Path, channel: str, interface: str, seconds: float, bitrate: int) -> None:
    from pylondiag.acquire import can as acan

    try:
        bus = acan.open_bus(channel, interface, bitrate)
    except Exception as exc:  # python-can raises CanError / OSError / ImportError per interface
        typer.echo(
            f"error: CAN channel {channel!r} on {interface!r} cannot be opened ({exc}). Fix: bring the "
            "interface up (README, 'Capturing the bus').",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        res = acan.capture(bus, case, seconds=seconds, channel=channel)
    finally:
        bus.shutdown()
    typer.echo(f"{res.path}: {res.frames} frames in {seconds:g} s (listen-only, nothing transmitted)")


def register(app: typer.Typer) -> None:
    app.command("capture-bus")(capture_bus_cmd)
