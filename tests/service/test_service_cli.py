"""``admin create-user``, the ``serve --demo`` loading, and the migrations matching the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from pylondiag.service.auth import verify_password
from pylondiag.service.commands import DEMO_EMAIL, examples_dir, load_demo
from pylondiag.service.db.models import Base, CaseRecord, User
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings


def _cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pylondiag.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
    )


def test_admin_create_user_from_option_env_and_prompt(tmp_path: Path) -> None:
    database_url = None
    where = ["--data-dir", str(tmp_path)]
    r = _cli(
        "admin",
        "create-user",
        "Admin@Example.com",
        "--role",
        "admin",
        "--password",
        "a very long secret",
        *where,
    )
    assert r.returncode == 0, r.stderr
    assert "created admin admin@example.com" in r.stdout
    r = _cli(
        "admin", "create-user", "eng@example.com", *where, env={"PYLONDIAG_PASSWORD": "another long secret"}
    )
    assert r.returncode == 0, r.stderr
    r = _cli(
        "admin", "create-user", "eng2@example.com", *where, stdin="prompted password\nprompted password\n"
    )
    assert r.returncode == 0, r.stderr
    # refusals: exit 2 with a message, never a traceback
    for args, message in (
        (["admin@example.com", "--password", "a very long secret"], "already has an account"),
        (["x@example.com", "--role", "owner", "--password", "a very long secret"], "role must be one of"),
        (["x@example.com", "--password", "short"], "at least 10 characters"),
    ):
        r = _cli("admin", "create-user", *args, *where)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    db = Database(Settings(data_dir=tmp_path, database_url=database_url).resolved_database_url)
    with db.session() as s:
        users = {u.email: u for u in s.scalars(select(User))}
    db.dispose()
    assert {e: u.role for e, u in users.items()} == {
        "admin@example.com": "admin",
        "eng@example.com": "engineer",
        "eng2@example.com": "engineer",
    }
    assert users["eng@example.com"].password_hash.startswith("$argon2id$")
    assert verify_password(users["eng2@example.com"].password_hash, "prompted password")


def test_demo_loads_the_example_cases_once_and_prints_a_working_account(tmp_path: Path) -> None:
    examples = examples_dir()
    assert examples is not None
    expected = sorted(p.name for p in examples.iterdir() if (p / "case.yaml").is_file())
    assert expected, "examples/cases holds example cases"
    settings = Settings(data_dir=tmp_path)
    password, links = load_demo(settings, "http://127.0.0.1:8000")
    assert [name for name, _ in links] == expected
    assert all(link.startswith("http://127.0.0.1:8000/c/") and "?token=" in link for _, link in links)
    again, links2 = load_demo(settings, "http://127.0.0.1:8000")  # a second start loads nothing twice
    assert len(links2) == len(expected) and again != password
    db = Database(settings.resolved_database_url)
    with db.session() as s:
        cases = list(s.scalars(select(CaseRecord)))
        demo = s.scalars(select(User).where(User.email == DEMO_EMAIL)).one()
    db.dispose()
    assert len(cases) == len(expected) and {c.source for c in cases} == {"demo"}
    assert verify_password(demo.password_hash, again) and not verify_password(demo.password_hash, password)


def test_migrations_create_exactly_the_models(tmp_path: Path, database_url: str | None) -> None:
    db = Database(database_url or f"sqlite:///{tmp_path / 'm.sqlite3'}")
    db.migrate()
    db.migrate()  # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        if database_url is None:
            from sqlalchemy import text

            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()
    assert diff == []
