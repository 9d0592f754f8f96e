"""``pylondiag worker``: diagnosis worker processes for a service on PostgreSQL (light module: the
service is imported when the command runs)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)


def worker_cmd(
    database: str | None = typer.Option(None, "--database", help="SQLAlchemy URL (default: SQLite)."),
    data_dir: Path = typer.Option(  # noqa: B008
        Path("pylondiag-data"), "--data-dir", help="The service's data directory (the evidence store)."
    ),
    lease: float | None = typer.Option(
        None, "--lease", min=0.5, help="Seconds a claim lasts without a heartbeat (default 30)."
    ),
    poll: float | None = typer.Option(
        None, "--poll", min=0.05, help="Seconds between looks for queued cases when idle (default 1)."
    ),
    once: bool = typer.Option(False, "--once", help="Diagnose what is queued now, then exit."),
) -> None:
    """Diagnose queued cases from the service's database (run one or more, on any machine that reaches
    the database and the evidence store)."""
    import logging
    from dataclasses import replace

    from pylondiag.cli_service import database_errors
    from pylondiag.extras import MissingExtra, require

    try:
        require("service", "pylondiag worker")
    except MissingExtra as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from pylondiag.service.commands import settings_for
    from pylondiag.service.worker_main import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_for(data_dir, database)
    if lease is not None:
        settings = replace(settings, diagnosis_lease_s=lease)
    if poll is not None:
        settings = replace(settings, worker_poll_s=poll)
    with database_errors(settings.resolved_database_url):
        raise typer.Exit(run_worker(settings, once=once))
