"""`pylondiag sim …`: list scenarios, write a simulated case, serve a simulated console."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path

import typer

sim_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Simulated Pylontech stacks: labelled cases and a console emulator.",
)


@sim_app.command("list")
def list_cmd() -> None:
    """Print the scenario names, one per line."""
    from pylondiag.sim import list_scenarios

    for name in list_scenarios():
        typer.echo(name)


@sim_app.command("case")
def case_cmd(
    scenario: str = typer.Argument(..., help="Scenario name (see `pylondiag sim list`)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same case."),
    out: Path = typer.Option(..., "--out", help="Directory to write the case into."),  # noqa: B008
    force: bool = typer.Option(False, "--force", help="Write into --out even if it is not empty."),
    evidence: str = typer.Option(
        "console", "--evidence", help="console (console + inverter log) or bus (can/ + rs485/ only)."
    ),
) -> None:
    """Simulate SCENARIO and write a full case directory plus its label.json."""
    from pylondiag.cli_output import spinner
    from pylondiag.sim import list_scenarios, write_case

    if scenario not in list_scenarios():
        typer.echo(f"error: unknown scenario {scenario!r}; `pylondiag sim list` prints the names", err=True)
        raise typer.Exit(2)
    if evidence not in ("console", "bus"):
        typer.echo(f"error: --evidence is console or bus, not {evidence!r}", err=True)
        raise typer.Exit(2)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        what = "is not a directory" if not out.is_dir() else "is not empty (use --force to write into it)"
        typer.echo(f"error: {out} {what}", err=True)
        raise typer.Exit(2)
    with spinner(f"simulating {scenario} (seed {seed})"):
        path = write_case(scenario, seed, out, evidence=evidence)
    typer.echo(str(path))


@sim_app.command("serve")
def serve_cmd(
    scenario: str = typer.Option("healthy", "--scenario", help="Scenario to simulate."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    tcp: str | None = typer.Option(None, "--tcp", help="HOST:PORT to listen on, e.g. 127.0.0.1:2323."),
    pty: bool = typer.Option(False, "--pty", help="Open a pseudo-terminal and print its path."),
    baud_pace: bool = typer.Option(False, "--baud-pace", help="Send output at the real 115200 baud rate."),
    baud: int = typer.Option(115200, "--baud", help="Rate for --baud-pace (bits/s, 8N1)."),
    wakeup: bool | None = typer.Option(
        None,
        "--wakeup/--no-wakeup",
        help="Require the 1200-baud wake-up frame (default: as the firmware does).",
    ),
    speed: float = typer.Option(
        1.0, "--speed", "--time-scale", help="Simulated minutes per wall-clock minute while serving."
    ),
    hold: bool = typer.Option(
        False,
        "--hold",
        help="Hold the stack at 100 % (charging at the BMS voltage), as in a rebalancing cycle.",
    ),
    fault: str = typer.Option(
        "",
        "--fault",
        help="Faults to inject, e.g. drop=0.1,garble=0.05,slow=0.5,vanish=2@10,disconnect=20,hang=30,"
        "wrong_baud (see pylondiag.sim.faults).",
    ),
    dialect: str | None = typer.Option(
        None, "--dialect", help="Console firmware dialect: us2000c_b67, us2kbpl_b66 or us5000_v2."
    ),
    plugged: int = typer.Option(1, "--plugged", help="Serve the console of the module at this address."),
) -> None:
    """Serve the console of a simulated stack over TCP or a pty until interrupted."""
    from pylondiag.sim import list_scenarios
    from pylondiag.sim import serve as srv

    if scenario not in list_scenarios():
        typer.echo(f"error: unknown scenario {scenario!r}; `pylondiag sim list` prints the names", err=True)
        raise typer.Exit(2)
    if (tcp is None) == (not pty):
        typer.echo("error: give exactly one of --tcp HOST:PORT or --pty", err=True)
        raise typer.Exit(2)
    from pylondiag.sim.console.dialects import DIALECTS
    from pylondiag.sim.faults import Faults

    try:
        faults = Faults.parse(fault)
    except ValueError as exc:
        typer.echo(f"error: --fault: {exc}", err=True)
        raise typer.Exit(2) from None
    if dialect is not None and dialect not in DIALECTS:
        typer.echo(f"error: --dialect must be one of {', '.join(DIALECTS)}", err=True)
        raise typer.Exit(2)
    pace = baud if baud_pace else False
    live = srv.live_stack(scenario, seed, speed, hold=hold)
    live.start()
    try:
        if tcp is not None:
            host, _, port_s = tcp.rpartition(":")
            if not host or not port_s.isdigit():
                typer.echo(f"error: --tcp wants HOST:PORT, got {tcp!r}", err=True)
                raise typer.Exit(2)
            srv.serve_tcp(
                live,
                host,
                int(port_s),
                pace=pace,
                require_wakeup=wakeup,
                faults=faults,
                dialect=dialect,
                plugged=plugged,
                ready=lambda p: typer.echo(f"serving {scenario} (seed {seed}) on {host}:{p}", err=True),
            )
        else:
            master, path = srv.open_pty()
            typer.echo(path)
            typer.echo(f"serving {scenario} (seed {seed}) on {path}", err=True)
            srv.serve_pty(
                live,
                master,
                pace=pace,
                require_wakeup=wakeup,
                faults=faults,
                dialect=dialect,
                plugged=plugged,
            )
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # listening failed: one line, exit 4 when the port is taken (see --help)
        busy = exc.errno == errno.EADDRINUSE
        why = "is already in use; choose another port" if busy else f"cannot be used: {exc.strerror or exc}"
        typer.echo(f"error: {tcp or 'the pty'} {why}", err=True)
        raise typer.Exit(4 if busy else 2) from None
    finally:
        live.stop()


@sim_app.command("serve-bus")
def serve_bus_cmd(
    scenario: str = typer.Option("healthy", "--scenario", help="Scenario to simulate."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    tcp: str = typer.Option("127.0.0.1:0", "--tcp", help="HOST:PORT for RS485 requests (0 = any free port)."),
) -> None:
    """Answer RS485 protocol requests as the simulated stack's master, over TCP, until interrupted.

    Point `pylondiag capture-bus CASE --rs485 socket://HOST:PORT` at it.
    """
    from pylondiag.sim import list_scenarios
    from pylondiag.sim.bus import Rs485Responder
    from pylondiag.sim.bus_serve import serve_rs485_tcp
    from pylondiag.sim.console.session import ConsoleView
    from pylondiag.sim.scenarios import run_scenario

    if scenario not in list_scenarios():
        typer.echo(f"error: unknown scenario {scenario!r}; `pylondiag sim list` prints the names", err=True)
        raise typer.Exit(2)
    host, _, port_s = tcp.rpartition(":")
    if not host or not port_s.isdigit():
        typer.echo(f"error: --tcp wants HOST:PORT, got {tcp!r}", err=True)
        raise typer.Exit(2)
    res = run_scenario(scenario, seed)
    responder = Rs485Responder(ConsoleView(res.stack, res.setup.chains[0]))
    with contextlib.suppress(KeyboardInterrupt):
        serve_rs485_tcp(
            responder,
            host,
            int(port_s),
            ready=lambda p: typer.echo(f"RS485 of {scenario} (seed {seed}) on socket://{host}:{p}", err=True),
        )
