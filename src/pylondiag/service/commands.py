"""What ``pylondiag serve`` and ``pylondiag admin create-user`` do (``cli.py`` only wires them up)."""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pylondiag import __version__, resources
from pylondiag.errors import PylondiagError
from pylondiag.extras import MissingExtra
from pylondiag.service.auth import ROLES, hash_password, new_owner_token, token_digest
from pylondiag.service.cases import parse_case_yaml, submit_case
from pylondiag.service.db.models import CaseRecord, User
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings, env_settings
from pylondiag.service.storage import open_store
from pylondiag.service.uploads import IncomingFile, UploadRefused, safe_relpath

DEMO_EMAIL = "demo-engineer@pylondiag.local"


class CommandError(PylondiagError):
    """A command that cannot do what was asked (the CLI prints it and exits 2)."""


def examples_dir() -> Path | None:
    """The example cases: shipped in the wheel or in the source tree, else ``./examples/cases``."""
    found = resources.examples_dir()
    if found is not None:
        return found
    candidate = Path.cwd() / "examples" / "cases"
    return candidate if candidate.is_dir() else None


def create_user(settings: Settings, email: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise CommandError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if "@" not in email or len(email) > 254:
        raise CommandError(f"{email!r} is not an e-mail address")
    if len(password) < 10:
        raise CommandError("the password needs at least 10 characters")
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        with db.session() as session:
            if session.scalars(select(User).where(User.email == email)).first():
                raise CommandError(f"{email} already has an account")
            user = User(email=email, password_hash=hash_password(password), role=role)
            session.add(user)
        return user
    finally:
        db.dispose()


def _case_files(case_dir: Path) -> list[IncomingFile]:
    files = []
    for path in sorted(p for p in case_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(case_dir).as_posix()
        files.append(IncomingFile(safe_relpath(rel), path.read_bytes()))
    return files


def load_demo(settings: Settings, base_url: str) -> tuple[str, list[tuple[str, str]]]:
    """Load ``examples/cases`` (once) and (re)create the demo engineer with a fresh password.

    Returns the password and ``(case name, private link)`` pairs; demo links get a fresh token on every
    start because only their digests are stored.
    """
    db = Database(settings.resolved_database_url)
    store = open_store(settings)
    links: list[tuple[str, str]] = []
    try:
        db.migrate()
        password = secrets.token_urlsafe(12)
        with db.session() as session:
            user = session.scalars(select(User).where(User.email == DEMO_EMAIL)).first()
            if user is None:
                session.add(User(email=DEMO_EMAIL, password_hash=hash_password(password), role="engineer"))
            else:
                user.password_hash = hash_password(password)
        with db.session() as session:
            demo_cases = session.scalars(select(CaseRecord).where(CaseRecord.source == "demo"))
            loaded = {r.case_id: r.id for r in demo_cases}
        examples = examples_dir()
        for case_dir in sorted(p for p in (examples.iterdir() if examples else []) if p.is_dir()):
            if not (case_dir / "case.yaml").is_file():
                continue
            try:
                files = _case_files(case_dir)
                yaml_bytes = next(f.data for f in files if f.path == "case.yaml")
                declared = parse_case_yaml(yaml_bytes).get("case_id")
                name = str(declared) if declared else case_dir.name
                pk = loaded.get(name)
                if pk is None:
                    record, _ = submit_case(db, store, files, source="demo", limits=settings.limits)
                    pk = record.id
            except (UploadRefused, PylondiagError, OSError) as exc:
                print(f"demo: skipped {case_dir.name}: {exc}", file=sys.stderr)
                continue
            token = new_owner_token()
            with db.session() as session:
                fresh = session.get(CaseRecord, pk)
                if fresh is not None:
                    fresh.token_sha256 = token_digest(token)
                    fresh.case_id = name
            links.append((case_dir.name, f"{base_url}/c/{pk}?token={token}"))
        return password, links
    finally:
        db.dispose()


def serve(settings: Settings, host: str, port: int, *, demo: bool = False, workers: int = 1) -> None:
    """Migrate, optionally load the demo, and serve. ``workers`` > 1: that many uvicorn web processes
    (PostgreSQL only), which hand diagnoses to ``pylondiag worker`` processes."""
    check_workers(settings, workers)
    import uvicorn

    base_url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    try:
        store = open_store(settings)
    except (ValueError, MissingExtra) as exc:
        raise CommandError(f"PYLONDIAG_EVIDENCE_STORE: {exc}") from exc
    store.check()  # StoreUnavailable: the CLI says why in one line (exit 3)
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
    finally:
        db.dispose()
    print(f"pylondiag {__version__} service: data in {settings.data_dir.resolve()}", flush=True)
    print(f"evidence in the {store.describe()}", flush=True)
    if demo:
        password, links = load_demo(settings, base_url)
        print("Demo: example cases loaded. Owner links:")
        for name, link in links:
            print(f"  {name}: {link}")
        print(f"Engineer demo account: {DEMO_EMAIL}  password: {password}  (log in at {base_url}/login)")
    print(f"Open {base_url}/ to submit a case; engineers log in at {base_url}/login", flush=True)
    # X-Forwarded-Proto/-For are believed only from Settings.trusted_proxies, by the app itself (so the
    # tests see the same rule): uvicorn's own handling (which trusts 127.0.0.1 by default) is off.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "proxy_headers": False,
        "server_header": False,
    }
    if workers == 1:
        from pylondiag.service.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    print(
        f"{workers} web processes; diagnoses run in `pylondiag worker` processes on the same database",
        flush=True,
    )
    os.environ.update(handed_down(settings))
    # uvicorn's supervisor starts (and restarts, when one dies) the processes from an import string; a
    # busy process (a PDF being rendered) may be slow to answer its health check: 30 s, not 5.
    config = uvicorn.Config(
        "pylondiag.service.app:app_from_env",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=30,
        **options,
    )
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[tcp_listener(config)]).run()


def tcp_listener(config: Any) -> socket.socket:
    """The listening socket of ``serve --workers N``, as uvicorn binds it but marked ``IPPROTO_TCP``.

    uvicorn (0.54) binds it with protocol 0; accepted connections inherit that, and asyncio turns on
    ``TCP_NODELAY`` only for ``IPPROTO_TCP`` sockets, so Nagle stayed on: every small answer on a kept-alive
    connection waited ~40 ms for the client's delayed ACK (measured: one owner's JSON view p50 45 ms with
    2 processes, 2.5 ms with one; uvicorn issue #3149). Same socket, same descriptor, right protocol.
    """
    bound: socket.socket = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


def check_workers(settings: Settings, workers: int) -> None:
    """Several web processes only on a database they can share: PostgreSQL (SQLite: one process)."""
    if workers < 1:
        raise CommandError(f"--workers must be 1 or more, not {workers}")
    if workers > 1 and not settings.resolved_database_url.startswith("postgresql"):
        raise CommandError(
            f"--workers {workers} needs PostgreSQL (--database postgresql+psycopg://user@host/db or "
            "PYLONDIAG_DATABASE_URL): the SQLite default serves from one process; leave --workers out"
        )


def handed_down(settings: Settings) -> dict[str, str]:
    """The environment that carries ``settings`` to the web processes of ``serve --workers N`` (they read
    it through ``EnvSettings``): the command line's choices on top of the variables already set, and
    no diagnosis thread in web processes."""
    return {
        "PYLONDIAG_DATA_DIR": str(settings.data_dir.resolve()),
        "PYLONDIAG_DATABASE_URL": settings.resolved_database_url,
        "PYLONDIAG_RUN_WORKER": "0",
    }


def settings_for(data_dir: Path | None, database: str | None, **changes: object) -> Settings:
    """Settings from the environment (``PYLONDIAG_*``: :class:`~pylondiag.service.settings.EnvSettings`)
    with the command line's ``--data-dir`` / ``--database`` on top when given.

    Raises :class:`~pylondiag.service.settings.SettingsError` (one line) for an invalid variable.
    """
    if data_dir is not None:
        changes["data_dir"] = data_dir
    if database:
        changes["database_url"] = database
    return env_settings().service_settings(**changes)
