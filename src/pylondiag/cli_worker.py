"""``pylondiag worker``: diagnosis worker processes for a service on PostgreSQL (light module: the
service is imported when the command runs)."""

from __future__ import annotations

import typer

from pylondiag.cli_service import DatabaseOption, DataDirOption


def register(app: typer.Typer) -> None:
    from pylondiag.cli_service import ENV_HELP

    app.command("worker", epilog=ENV_HELP)(worker_cmd)


def worker_cmd(
    database: DatabaseOption = None,
    data_dir: DataDirOption = None,
    lease: float | None = typer.Option(
        None, "--lease", min=0.5, help="Seconds a claim lasts without a heartbeat (default 30)."
    ),
    poll: float | None = typer.Option(
        None, "--poll", min=0.05, help="Seconds between looks for queued cases when idle (default 1)."
    ),
    once: bool = typer.Option(False, "--once", help="Diagnose what is queued now, then exit."),
) -> None:
    """Diagnose queued cases from the service's database (run one or more, on any machine that reaches
    the database and the evidence store); SIGTERM stops it after the case in hand."""
    import logging

    from pylondiag.cli_service import _require_service, command_errors, database_errors

    _require_service("pylondiag worker")
    from pylondiag.service.commands import settings_for
    from pylondiag.service.worker_main import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    changes: dict[str, object] = {}
    if lease is not None:
        changes["diagnosis_lease_s"] = lease
    if poll is not None:
        changes["worker_poll_s"] = poll
    with command_errors():
        settings = settings_for(data_dir, database, **changes)
        with database_errors(settings.resolved_database_url):
            raise typer.Exit(run_worker(settings, once=once))
