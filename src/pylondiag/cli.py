"""The `pylondiag` command line (typer + rich)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

EXIT_CODES = (
    "Exit status: 0 done; 1 failed; 2 usage error, unusable input or missing extra; "
    "3 database, MQTT broker or battery unreachable (capture: a partial case was written); "
    "4 address already in use; 70 internal error (a bug); 130 interrupted."
)
"""The codes of ``cli_output`` (EXIT_*), in words for ``--help`` (a test keeps them in step)."""

app = typer.Typer(no_args_is_help=True, add_completion=True, help=__doc__, epilog=EXIT_CODES)


def _print_version(value: bool) -> None:
    if value:
        from pylondiag import __version__

        typer.echo(f"pylondiag {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail on stderr (-vv: debug)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr; no progress bars."),
) -> None:
    """Diagnose faults in Pylontech US2000C / US3000C / US5000 battery stacks."""
    from pylondiag.verbosity import set_verbosity

    set_verbosity(verbose, quiet)


def _require(extra: str, what: str) -> None:
    """Exit 2 with one line naming the extra to install when ``extra`` is missing."""
    from pylondiag.extras import MissingExtra, require

    try:
        require(extra, what)
    except MissingExtra as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("parse")
def parse_cmd(
    files: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Console capture file(s) saved from the RS232 console; `-` reads stdin."
    ),
    fmt: str = typer.Option(
        "text", "--format", help="text (summary) or json (records + provenance; JSON Lines for several)."
    ),
) -> None:
    """Read console captures and print what was read."""
    from pylondiag.cli_parse import run_parse

    raise typer.Exit(run_parse(files, fmt))


@app.command("diagnose")
def diagnose_cmd(
    cases: list[Path] = typer.Argument(  # noqa: B008
        ...,
        metavar="CASE",
        help="Case directories (case.yaml, console/, inverter/ ...) or evidence files; `-` reads stdin.",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="text (terminal report), json (the spec's document), html or pdf. Default: from --output's "
        "extension, else text (JSON Lines for several cases).",
    ),
    output: Path | None = typer.Option(  # noqa: B008
        None, "--output", help="Write the report to this file instead of stdout."
    ),
) -> None:
    """Diagnose a case: which module is at fault, why, and what to do.

    Exit 0 = a diagnosis; 2 = unusable input (several cases: the others are still printed).
    """
    from pylondiag.cli_diagnose import run_diagnose

    raise typer.Exit(run_diagnose(cases, fmt, output))


@app.command("report")
def report_cmd(
    diagnosis: Path = typer.Argument(  # noqa: B008
        ..., help="A diagnosis JSON file (from `diagnose CASE --format json`)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="html (self-contained file) or pdf (A4); default: from --output, else html."
    ),
    output: Path | None = typer.Option(None, "--output", help="Write the report here instead of stdout."),  # noqa: B008
    case: Path | None = typer.Option(None, "--case", help="The case directory: adds charts and raw facts."),  # noqa: B008
) -> None:
    """Re-render a saved diagnosis as an HTML or PDF report. Exit 0 = written; 2 = unusable input."""
    _require("report", "pylondiag report")
    from pylondiag.cli_report import run_report

    raise typer.Exit(run_report(diagnosis, fmt, output, case))


from pylondiag.cli_mqtt import register as _register_mqtt  # noqa: E402  (publish, monitor)

_register_mqtt(app)

admin_app = typer.Typer(no_args_is_help=True, help="Manage engineer and admin accounts of the web service.")
app.add_typer(admin_app, name="admin")

from pylondiag.cli_sim import sim_app  # noqa: E402  (list, case, serve; the simulator is imported when they run)

app.add_typer(sim_app, name="sim")

from pylondiag.cli_capture import register as _register_capture  # noqa: E402  (capture, watch)

_register_capture(app)

from pylondiag import cli_bus  # noqa: E402  (capture-bus: light module, heavy imports inside the command)

cli_bus.register(app)
from pylondiag import cli_worker  # noqa: E402  (worker: light module, the service is imported when it runs)

cli_worker.register(app)


from pylondiag import cli_service  # noqa: E402  (serve, admin create-user: service imported when they run)

cli_service.register(app, admin_app)


def main() -> None:
    if not sys.stderr.isatty():
        # Typer draws usage errors in a Rich box as wide as a terminal, which wraps long paths when the
        # output goes to a pipe or a log: plain Click messages there.
        import typer.core

        typer.core.HAS_RICH = False
    app(prog_name="pylondiag")  # also under `python -m pylondiag`: help and completion name the command


if __name__ == "__main__":  # pragma: no cover
    main()
