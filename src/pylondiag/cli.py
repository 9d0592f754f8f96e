"""The `pylondiag` command line (typer + rich)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def _root() -> None:
    """Diagnose faults in Pylontech US2000C / US3000C / US5000 battery stacks."""


@app.command("parse")
def parse_cmd(
    files: list[Path] = typer.Argument(..., help="Console capture file(s) saved from the RS232 console."),  # noqa: B008
    fmt: str = typer.Option("text", "--format", help="text (summary) or json (records + provenance)."),
) -> None:
    """Read console captures and print what was read."""
    from pylondiag.cli_parse import run_parse

    raise typer.Exit(run_parse(files, fmt))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
