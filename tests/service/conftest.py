"""Service fixtures: an app on SQLite or on a throwaway PostgreSQL cluster, engineers, and real evidence.

The PostgreSQL cluster is started once per session with Debian's ``initdb`` / ``pg_ctl`` (as the
``postgres`` user when the tests run as root), on a free port on 127.0.0.1 with its socket in a temporary
directory, and stopped afterwards; each test gets its own database. When ``CI=true`` and the binaries are
missing, the PostgreSQL tests fail instead of skipping.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import (
    ENGINEER_EMAIL,
    ENGINEER_PASSWORD,
    IMBALANCE_CAPTURE,
    TEST_LIMITS,
    PgCluster,
    S3Bucket,
    free_port,
)
from fastapi.testclient import TestClient

from pylondiag.service.app import create_app
from pylondiag.service.commands import create_user
from pylondiag.service.settings import Settings


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        msg = "no PostgreSQL binaries in /usr/lib/postgresql/*/bin (PYLONDIAG_WITH_POSTGRES=1 setup.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    bindir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="pylondiag-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    base.chmod(0o755)
    data, log = base / "data", base / "server.log"
    port = free_port()
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "pylondiag",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PgCluster(port)
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """``None`` (the SQLite default in the data dir) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    yield from _fresh_database(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh PostgreSQL database on the session's cluster (the tests that need several processes)."""
    yield from _fresh_database(pg_cluster)


def _fresh_database(cluster: PgCluster) -> Iterator[str]:
    name = cluster.create_db()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_db(name)


# -- the app -------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, limits=TEST_LIMITS, run_worker=False
    )


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        s = replace(settings, **{k: v for k, v in changes.items() if k != "runner"})
        kwargs = {"runner": changes["runner"]} if "runner" in changes else {}
        client = TestClient(create_app(s, **kwargs), base_url="http://127.0.0.1")
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def engineer(settings: Settings, client: TestClient) -> tuple[str, str]:
    create_user(settings, ENGINEER_EMAIL, "engineer", ENGINEER_PASSWORD)
    return ENGINEER_EMAIL, ENGINEER_PASSWORD


@pytest.fixture
def imbalance_capture(captures_dir: Path) -> bytes:
    return (captures_dir / IMBALANCE_CAPTURE).read_bytes()


# -- an S3-compatible object store ----------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto's server mode: real HTTP) on a free port of 127.0.0.1, started
    for the session and stopped afterwards."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh, empty bucket on the local server, with throwaway credentials in boto3's usual variables."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "pylondiag-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "pylondiag-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = S3Bucket(s3_endpoint, f"t-{secrets.token_hex(6)}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
