"""What several web processes share through the database (``service.shared``): the cookie-signing key
and the rate limits; and what ``serve --workers N`` refuses.

Two apps on one database with *different* data directories stand for two machines here; the real
multi-process runs (``serve --workers 2``, kill -9) are in ``test_service_scaleout.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, TEST_LIMITS
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_service_web import csrf, login

from pylondiag.service.db.models import RateLimitBucket
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings
from pylondiag.service.shared import SharedRateLimiter, signing_key
from pylondiag.service.storage import LocalStore


def _database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


def test_two_machines_share_the_signing_key_sessions_and_csrf(
    settings: Settings, make_client: Callable[..., TestClient], engineer: tuple[str, str], tmp_path: Path
) -> None:
    one = make_client()
    other = make_client(data_dir=tmp_path / "other-machine", database_url=settings.resolved_database_url)
    assert one.app.state.ctx.signer.csrf_token("seed") == other.app.state.ctx.signer.csrf_token("seed")  # type: ignore[attr-defined]
    assert login(one) == 303
    other.cookies.update(one.cookies)  # the browser's next request lands on the other machine
    assert other.get("/queue").status_code == 200
    # a form made by one machine is accepted by the other (CSRF token from the shared key)
    page = one.get("/login")
    r = other.post(
        "/login",
        data={"csrf_token": csrf(page.text), "email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert not (tmp_path / "other-machine" / "secret_key").exists(), "the key lives in the database"


def test_the_key_comes_from_the_variable_or_an_earlier_file(settings: Settings, tmp_path: Path) -> None:
    given = "g" * 40
    db = _database(settings)
    try:
        assert signing_key(db, settings.data_dir, given) == given
        legacy = tmp_path / "old-data"
        legacy.mkdir()
        (legacy / "secret_key").write_text("an-older-versions-key-of-enough-length\n", encoding="ascii")
        first = signing_key(db, legacy)
        assert first == "an-older-versions-key-of-enough-length"  # engineers stay logged in on upgrade
        assert signing_key(db, tmp_path / "elsewhere") == first  # and every other machine gets it
    finally:
        db.dispose()


def test_many_threads_through_two_engines_never_exceed_the_limit(settings: Settings) -> None:
    """20 concurrent attempts on one key through two engines (two "processes"): exactly the limit pass."""
    dbs = [_database(settings), _database(settings)]
    limiters = [SharedRateLimiter(db, "login", 7, 60.0) for db in dbs]
    barrier = threading.Barrier(20)
    results: list[float | None] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        wait = limiters[i % 2].acquire("ip:203.0.113.9", "email:x@example.com")
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert len(results) == 20
        assert sum(r is None for r in results) == 7
        assert all(r is None or 0 < r <= 60 for r in results)
        with dbs[0].session() as s:
            rows = {r.key: r.events for r in s.scalars(select(RateLimitBucket))}
        assert sorted(rows) == ["login:email:x@example.com", "login:ip:203.0.113.9"]
        assert all(len(events) == 7 for events in rows.values())
    finally:
        for db in dbs:
            db.dispose()


def test_the_window_slides_and_release_takes_an_attempt_back(settings: Settings) -> None:
    db = _database(settings)
    now = [1000.0]
    limiter = SharedRateLimiter(db, "submit", 2, 10.0, clock=lambda: now[0])
    try:
        assert limiter.acquire("a") is None and limiter.acquire("a") is None
        assert limiter.acquire("a") == pytest.approx(10.0)
        assert limiter.acquire("b") is None  # keys are apart
        limiter.release("a")
        assert limiter.acquire("a") is None
        now[0] += 10.5
        assert limiter.acquire("a") is None and limiter.acquire("a") is None
        assert limiter.acquire("a") is not None
        now[0] += 100  # the next acquire sweeps rows untouched for a window
        assert limiter.acquire("c") is None
        with db.session() as s:
            assert sorted(s.scalars(select(RateLimitBucket.key))) == ["submit:c"]
        long = "x" * 500  # a key longer than the column is kept as its digest
        assert limiter.acquire(long) is None and limiter.acquire(long) is None and limiter.acquire(long)
    finally:
        db.dispose()


def test_a_login_limit_reached_on_one_machine_holds_on_the_other(
    settings: Settings, make_client: Callable[..., TestClient], engineer: tuple[str, str], tmp_path: Path
) -> None:
    limits = replace(TEST_LIMITS, logins_per_window=3)
    one = make_client(limits=limits)
    other = make_client(
        limits=limits, data_dir=tmp_path / "other-machine", database_url=settings.resolved_database_url
    )
    assert [login(one, password="wrong wrong") for _ in range(2)] == [401, 401]
    assert login(other, password="wrong wrong") == 401
    assert login(other) == 429 and login(one) == 429  # even the right password waits, everywhere
    assert other.get("/api/queue", auth=(ENGINEER_EMAIL, ENGINEER_PASSWORD)).status_code == 429


def test_right_passwords_do_not_use_up_the_limit(
    make_client: Callable[..., TestClient], engineer: tuple[str, str]
) -> None:
    client = make_client(limits=replace(TEST_LIMITS, logins_per_window=2))
    assert [login(client) for _ in range(5)] == [303] * 5
    r = [
        client.post("/api/login", json={"email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD})
        for _ in range(4)
    ]
    assert [x.status_code for x in r] == [200] * 4


def test_staging_keeps_what_another_process_is_writing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (store.staging / "in-flight").mkdir()
    (store.staging / "crashed").mkdir()
    old = time.time() - 3600
    os.utime(store.staging / "crashed", (old, old))
    assert store.clean_staging() == 1
    assert [p.name for p in store.staging.iterdir()] == ["in-flight"]


def test_serve_refuses_several_processes_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYLONDIAG_DATABASE_URL"}
    r = subprocess.run(
        [sys.executable, "-m", "pylondiag", "serve", "--workers", "2", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --workers 2 needs PostgreSQL"), r.stderr
    assert not (tmp_path / "d").exists()


def test_the_web_processes_listen_with_tcp_nodelay_on_accepted_connections() -> None:
    """``serve --workers N`` binds the socket the processes share: accepted connections must get
    TCP_NODELAY from asyncio (uvicorn's own bind left Nagle on: ~40 ms per small kept-alive answer)."""
    import asyncio
    import socket

    import uvicorn

    from pylondiag.service.commands import tcp_listener

    config = uvicorn.Config("pylondiag.service.app:app_from_env", factory=True, host="127.0.0.1", port=0)
    listener = tcp_listener(config)
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        host, port = listener.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(accept_one())
    assert seen and seen[0] != 0
