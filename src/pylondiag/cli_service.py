"""What ``serve`` and ``admin`` need around the service: one clear line and a distinct exit status
when the database cannot be reached (3) or the port is taken (4), instead of a traceback.

Codes: :mod:`pylondiag.cli_output`.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from pylondiag.cli_output import EXIT_ADDRESS_IN_USE, EXIT_UNAVAILABLE, EXIT_UNUSABLE, say


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
