"""The `pylondiag` command line (typer + rich)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def _root() -> None:
    """Diagnose faults in Pylontech US2000C / US3000C / US5000 battery stacks."""


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
