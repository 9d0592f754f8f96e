"""``pylondiag capture PORT --out CASE_DIR [--diagnose]``: read a live stack's console into a case.

PORT is any pyserial URL: ``/dev/ttyUSB0``, ``socket://host:port`` (serial-over-TCP bridges, the
emulator), ``rfc2217://host:port``. Only whitelisted read-only commands are sent
(:mod:`pylondiag.acquire.whitelist`).

Exit codes: 0 = the whole capture was read; 2 = unusable input (no console on the port, CASE_DIR
not usable); 3 = a partial case was written (the stack stopped answering, or some commands never
answered); 130 = interrupted with Ctrl-C (a partial case was written).

The transport is one table (:data:`TRANSPORTS`) so that other buses (RS485, CAN) can be added as one
entry each.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pylondiag.cli_output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE,
    note,
    say,
    show_progress,
    stderr_bar,
)

if TYPE_CHECKING:
    from pylondiag.acquire.capture import CaptureResult
    from pylondiag.cli_bus import BusOptions

EXIT_PARTIAL = EXIT_UNAVAILABLE
"""A partial case: the battery stopped answering (or never did) — the shared code for "the battery is
unreachable" (``cli_output``), with what was read kept."""


def capture_cmd(
    port: str = typer.Argument(
        ..., help="Serial port or URL: /dev/ttyUSB0, socket://HOST:PORT, rfc2217://HOST:PORT."
    ),
    out: Path = typer.Option(..., "--out", help="Case directory to write (a new one, unless --own)."),  # noqa: B008
    diagnose: bool = typer.Option(False, "--diagnose", help="Diagnose the captured case and print it."),
    timeout: float = typer.Option(3.0, "--timeout", help="Seconds of silence before an answer is retried."),
    own: bool = typer.Option(
        False,
        "--own",
        help="The cable is on one module's own console: read its own info, stat, soh and log, and add "
        "them to CASE_DIR (which may already hold the case).",
    ),
    rs485: str | None = typer.Option(
        None, "--rs485", help="Also poll the stack's RS485 port (read commands only) into CASE_DIR/rs485/."
    ),
    rs485_baud: int = typer.Option(
        115200, "--rs485-baud", help="RS485 rate: 115200 (DIP 1 down) or 9600 (DIP 1 up)."
    ),
    can: str | None = typer.Option(
        None, "--can", help="Also listen (never transmit) on this CAN channel into CASE_DIR/can/."
    ),
    interface: str = typer.Option(
        "socketcan", "--interface", help="python-can interface for --can: socketcan, pcan, slcan, virtual..."
    ),
    can_seconds: float = typer.Option(
        60.0, "--can-seconds", min=0.1, max=86400.0, help="Seconds of CAN traffic to record."
    ),
) -> None:
    """Read a live stack's console (read-only commands only) into a case directory; with --rs485 and/or
    --can also the bus between the stack and the inverter (read-only; docs/bus.md).

    Exit 0 = complete; 2 = no console / unusable directory or bus port; 3 = partial case;
    130 = Ctrl-C (partial case).
    """
    bus = None
    if rs485 is not None or can is not None:
        from pylondiag.cli_bus import BusOptions

        bus = BusOptions(rs485=rs485, baud=rs485_baud, can=can, interface=interface, seconds=can_seconds)
    raise typer.Exit(run_capture_cli(port, out, diagnose, timeout, own=own, bus=bus))


def register(app: typer.Typer) -> None:
    """Add ``capture`` and ``watch`` to the main CLI."""
    from pylondiag.cli_watch import watch_cmd

    app.command("capture")(capture_cmd)
    app.command("watch")(watch_cmd)


def _progress_bar() -> tuple[Any, Callable[[str, int, int], None] | None]:
    """A progress bar over the commands of the capture, on a terminal and without ``--quiet``; else none."""
    if not show_progress():
        return None, None
    bar = stderr_bar("steps", label="[bold]{task.description:<14}", transient=False)
    task = bar.add_task("pwr", total=1)

    def update(what: str, done: int, total: int) -> None:
        word, _, arg = what.partition(" ")
        label = f"module {arg}: {word}" if arg.isdigit() else what
        bar.update(task, description=label, completed=done, total=total)

    return bar, update


def check_out_dir(out: Path, *, own: bool = False) -> str | None:
    """Why ``out`` cannot take a new capture (None when it can)."""
    if out.exists() and not out.is_dir():
        return f"{out} exists and is not a directory"
    if not own and (out / "case.yaml").exists():
        return (
            f"{out} already holds a case (case.yaml); give a new directory "
            "(or --own to add one module's own console to it)"
        )
    return None


def run_capture_cli(
    port: str, out: Path, diagnose: bool, timeout: float, *, own: bool = False, bus: BusOptions | None = None
) -> int:
    """The console capture, then the bus capture ``bus`` (a ``cli_bus.BusOptions``) when given, then the
    diagnosis of everything captured when asked; the exit code of the first step that did not finish."""
    code, captured = _capture_console(port, out, timeout, own=own)
    if bus is not None and code in (EXIT_OK, EXIT_PARTIAL):
        from pylondiag.cli_bus import capture_into

        bus_code = capture_into(out, bus)
        captured = captured or bus_code == EXIT_OK
        code = code if bus_code == EXIT_OK else bus_code
    if diagnose and captured:
        from pylondiag.cli_diagnose import run_diagnose

        dcode = run_diagnose([out], "text", None)
        code = code if code != EXIT_OK else dcode
    return code


def _capture_console(port: str, out: Path, timeout: float, *, own: bool) -> tuple[int, bool]:
    """The console capture: its exit code, and whether the console was read at all."""
    from pylondiag.extras import MissingExtra, require

    try:
        require("bus", "pylondiag capture")
    except MissingExtra as exc:
        say(f"error: {exc}")
        return EXIT_UNUSABLE, False
    from pylondiag.acquire import ConsoleSession, NoConsole, PortUnavailable
    from pylondiag.acquire.capture import write_empty_case

    problem = check_out_dir(out, own=own)
    if problem:
        say(f"error: {problem}.")
        return EXIT_UNUSABLE, False
    try:
        session = ConsoleSession.open(port, timeout_s=timeout)
    except PortUnavailable as exc:
        say(f"error: {exc.message}. Nothing was written.")
        return EXIT_UNUSABLE, False
    except NoConsole as exc:
        write_empty_case(out, port, f"no console answered on {port}: {exc.message}")
        say(f"error: {port}: {exc.message}. {out} holds an empty case noting this.")
        return EXIT_PARTIAL, False
    except KeyboardInterrupt:
        say("interrupted before the console answered; nothing written.")
        return EXIT_INTERRUPTED, False
    from pylondiag.acquire.capture import run_capture

    bar, update = _progress_bar()
    try:
        if bar is not None:
            bar.start()
        result = run_capture(session, out, port=port, progress=update, own=own)
    finally:
        if bar is not None:
            bar.stop()
        session.close()
    return _summary(result), True


def _summary(result: CaptureResult) -> int:
    n = len(result.addresses)
    note(
        f"captured {result.answered} answer(s) from {n} module(s) into {result.case_dir} "
        f"(transcript {result.transcript.name})."
    )
    if result.interrupted:
        say("stopped by Ctrl-C: the case holds what was read so far; case.yaml notes what is missing.")
        return EXIT_INTERRUPTED
    if result.stopped:
        say(
            f"capture incomplete: {result.stopped}. "
            "The partial case is valid; case.yaml notes what is missing."
        )
        return EXIT_PARTIAL
    if result.gaps:
        say("some commands were not answered: " + "; ".join(result.gaps))
        return EXIT_PARTIAL
    return EXIT_OK
