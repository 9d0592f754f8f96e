"""The ``serve`` and ``admin create-user`` commands, and what they need around the service: one clear
line and a distinct exit status when a setting is invalid (2), the database cannot be reached (3) or the
port is taken (4), instead of a traceback.

Light at import time (typer only): the service stack is imported when a command runs.
Codes: :mod:`pylondiag.cli_output`.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from pylondiag.cli_output import EXIT_ADDRESS_IN_USE, EXIT_UNAVAILABLE, EXIT_UNUSABLE, say

ENV_HELP = (
    "Settings from the environment (PYLONDIAG_DATABASE_URL, PYLONDIAG_DATA_DIR, PYLONDIAG_SECRET_KEY, "
    "PYLONDIAG_SECURE_COOKIES, PYLONDIAG_TRUSTED_PROXIES, PYLONDIAG_SMTP_*: docs/service.md); "
    "an invalid one is one line and exit 2."
)


DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="SQLAlchemy URL (default: PYLONDIAG_DATABASE_URL, else SQLite)."),
]
"""``--database``, the same for every command that reaches the service's database."""
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The service's data directory: evidence files, and the SQLite database when no --database is "
        "given (default: PYLONDIAG_DATA_DIR, else pylondiag-data).",
    ),
]
"""``--data-dir``, the same for every service command."""


def _shown_url(url: str) -> str:
    """The database URL with its password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database URL"


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn "cannot connect to / open the database" into one line and exit 3."""
    from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        reason = (
            str(exc.orig or exc).strip().splitlines()[0]
            if str(exc.orig or exc).strip()
            else "no reason given"
        )
        say(f"error: cannot reach the database {_shown_url(url)}: {reason}")
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    except ArgumentError as exc:
        say(
            f"error: --database {url!r} is not a database URL ({exc}); e.g. postgresql+psycopg://user@host/db"
        )
        raise typer.Exit(EXIT_UNUSABLE) from None


@contextmanager
def store_errors(url: str | None) -> Iterator[None]:
    """Turn "cannot reach the evidence store" (object store down, no such bucket, refused) into one line
    and exit 3."""
    from pylondiag.service.storage import StoreUnavailable

    try:
        yield
    except StoreUnavailable as exc:
        say(f"error: cannot use the evidence store {url or 'in the data directory'}: {exc.detail}")
        raise typer.Exit(EXIT_UNAVAILABLE) from None


def ensure_port_free(host: str, port: int) -> None:
    """Exit 4 with one line when ``host:port`` cannot be listened on because something else holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            say(f"error: {host}:{port} is already in use; choose another --port (or stop what listens there)")
            raise typer.Exit(EXIT_ADDRESS_IN_USE) from None
        say(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port")
        raise typer.Exit(EXIT_UNUSABLE) from None


def _require_service(what: str) -> None:
    from pylondiag.extras import MissingExtra, require

    try:
        require("service", what)
    except MissingExtra as exc:
        say(f"error: {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None


@contextmanager
def command_errors() -> Iterator[None]:
    """Invalid settings and refused commands: one line, exit 2."""
    from pylondiag.service.commands import CommandError
    from pylondiag.service.settings import SettingsError

    try:
        yield
    except (CommandError, SettingsError) as exc:
        say(f"error: {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    database: DatabaseOption = None,
    data_dir: DataDirOption = None,
    demo: bool = typer.Option(False, "--demo", help="Load examples/cases; print an engineer demo account."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Web processes (PostgreSQL only; with more than 1, diagnoses run in `pylondiag worker`).",
    ),
) -> None:
    """Run the remote-diagnostic web service (migrates the database on start)."""
    _require_service("pylondiag serve")
    from pylondiag.service.commands import check_workers, serve, settings_for

    with command_errors():
        settings = settings_for(data_dir, database)
        check_workers(settings, workers)
        ensure_port_free(host, port)
        with database_errors(settings.resolved_database_url), store_errors(settings.evidence_store):
            serve(settings, host, port, demo=demo, workers=workers)


def create_user_cmd(
    email: str = typer.Argument(..., help="The account's e-mail address (its login)."),
    role: str = typer.Option("engineer", "--role", help="engineer or admin."),
    password: str | None = typer.Option(
        None, "--password", envvar="PYLONDIAG_PASSWORD", help="Password (else prompted)."
    ),
    database: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an engineer or admin account for the web service."""
    _require_service("pylondiag admin")
    from pylondiag.service.commands import create_user, settings_for

    with command_errors():
        settings = settings_for(data_dir, database)
        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        with database_errors(settings.resolved_database_url):
            user = create_user(settings, email, role, password)
    typer.echo(f"created {user.role} {user.email}")


def register(app: typer.Typer, admin_app: typer.Typer) -> None:
    """Add ``serve`` to ``app`` and ``create-user`` to ``admin_app``."""
    app.command("serve", epilog=ENV_HELP)(serve_cmd)
    admin_app.command("create-user", epilog=ENV_HELP)(create_user_cmd)
