"""Several web processes on one PostgreSQL database, as real processes (issue 15 items 12 and 14).

``pylondiag serve --workers 2`` runs as a subprocess: uvicorn's supervisor and two web processes sharing
the listening socket. To send a request to one chosen process, the test stops the other (SIGSTOP, for a
moment: the kernel hands every new connection to the process still accepting), and every request uses a
fresh connection.

- sessions, CSRF and the login limit hold across the processes;
- kill -9 of a web process while submissions are in flight: every acknowledged submission (201 from the
  API, 303 from the intake form) is stored once, with its files; the other process answers meanwhile and
  the supervisor starts a replacement;
- with 2 ``pylondiag worker`` processes as well, kill -9 of a web process and then of the worker the
  database shows diagnosing a case: every acknowledged case is diagnosed exactly once (one automatic
  version, valid by the shared validator), the killed worker's case by the other worker.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _service_helpers import (
    ENGINEER_EMAIL,
    ENGINEER_PASSWORD,
    FOUR_MODULE_CASE,
    free_port,
    wait_for,
)
from sqlalchemy import select

from pylondiag.service.commands import create_user
from pylondiag.service.db.models import CaseRecord, DiagnosisVersion
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _ppid(int(entry.name)) == pid:
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return sorted(found)


@dataclass
class WebService:
    """``pylondiag serve --workers N`` and its web processes."""

    proc: subprocess.Popen[bytes]
    base: str
    database_url: str
    data_dir: Path
    log: Path

    def web_pids(self) -> list[int]:
        return _children(self.proc.pid)

    def client(self) -> httpx.Client:
        # no keep-alive: each request is a new connection, taken by whichever process accepts it
        return httpx.Client(base_url=self.base, timeout=60, limits=httpx.Limits(max_keepalive_connections=0))

    @contextmanager
    def only(self, pid: int) -> Iterator[None]:
        """Every new connection goes to web process ``pid``: the others are stopped meanwhile."""
        others = [p for p in self.web_pids() if p != pid]
        for p in others:
            os.kill(p, signal.SIGSTOP)
        try:
            yield
        finally:
            for p in others:
                os.kill(p, signal.SIGCONT)

    def wait_serving(self, n: int, timeout: float = 120) -> list[int]:
        """Wait until ``n`` web processes run and each answers on its own; returns their pids."""

        def ready() -> bool:
            assert self.proc.poll() is None, self.log.read_text()
            return len(self.web_pids()) == n

        wait_for(ready, timeout=timeout)
        pids = self.web_pids()
        for pid in pids:
            with self.only(pid), self.client() as http:
                wait_for(lambda: _healthy(http), timeout=timeout)
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                for pid in self.web_pids():
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(10)


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve(tmp_path: Path, database_url: str, workers: int = 2, **env: str) -> Iterator[WebService]:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "pylondiag", "serve", "--workers", str(workers), "--port", str(port)]
    cmd += ["--data-dir", str(data_dir), "--database", database_url]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **{f"PYLONDIAG_{k}": v for k, v in env.items()}}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environment)
    service = WebService(proc, f"http://127.0.0.1:{port}", database_url, data_dir, log)
    try:
        service.wait_serving(workers)
        yield service
    finally:
        service.stop()


def test_sessions_csrf_and_the_login_limit_hold_across_web_processes(tmp_path: Path, pg_url: str) -> None:
    create_user(
        Settings(data_dir=tmp_path / "data", database_url=pg_url),
        ENGINEER_EMAIL,
        "engineer",
        ENGINEER_PASSWORD,
    )
    with serve(tmp_path, pg_url, LOGINS_PER_WINDOW="3") as service:
        a, b = service.web_pids()
        with service.client() as http:
            with service.only(a):
                page = http.get("/login")
            token = _csrf(page.text)
            with service.only(b):  # a form from process a, sent to process b
                r = http.post(
                    "/login",
                    data={"csrf_token": token, "email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD},
                    follow_redirects=False,
                )
            assert r.status_code == 303, r.text
            with service.only(a):  # the session made by b, on a
                assert http.get("/queue", follow_redirects=False).status_code == 200
        with service.client() as http:
            wrong = {"email": ENGINEER_EMAIL, "password": "not the password"}
            with service.only(a):
                assert [http.post("/api/login", json=wrong).status_code for _ in range(3)] == [401] * 3
            right = {"email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD}
            with service.only(b):
                assert http.post("/api/login", json=right).status_code == 429
                assert http.get("/api/queue", auth=(ENGINEER_EMAIL, ENGINEER_PASSWORD)).status_code == 429


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


@dataclass
class Attempt:
    name: str
    started: float
    ended: float = 0.0
    status: int | None = None
    error: str | None = None
    case_pk: str | None = None
    token: str | None = None


def _submit_api(http: httpx.Client, name: str, console: bytes) -> tuple[int, str | None, str | None]:
    case_yaml = FOUR_MODULE_CASE.replace('case_id: "test-four"', f'case_id: "{name}"')
    r = http.post(
        "/api/cases",
        data={"case_yaml": case_yaml},
        files={"console/session.txt": ("session.txt", console, "text/plain")},
    )
    if r.status_code != 201:
        return r.status_code, None, None
    body = r.json()
    return 201, body["id"], body["access_token"]


def _submit_form(http: httpx.Client, name: str, console: bytes) -> tuple[int, str | None, str | None]:
    page = http.get("/new?modules=1")
    idem = re.search(r'name="idem" value="([^"]+)"', page.text)
    assert idem and page.status_code == 200, page.text[:300]
    form = {
        "csrf_token": _csrf(page.text),
        "modules": "1",
        "idem": idem.group(1),
        "site_location": name,
        "m1_model": "US3000C",
        "m1_led": "green_flashing",
    }
    r = http.post(
        "/new",
        data=form,
        files=[("up_console", ("session.txt", console, "text/plain"))],
        follow_redirects=False,
    )
    if r.status_code != 303:
        return r.status_code, None, None
    found = re.search(r"/c/([A-Za-z0-9_-]+)\?token=([A-Za-z0-9_-]+)", r.headers["location"])
    assert found, r.headers["location"]
    return 303, found.group(1), found.group(2)


class Load:
    """``clients`` threads submitting cases (every third through the intake form) until stopped."""

    def __init__(self, service: WebService, console: bytes, clients: int, pause_s: float = 0.0) -> None:
        self.service, self.console, self.pause_s = service, console, pause_s
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._submitter, args=(k,)) for k in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(120)

    def _submitter(self, k: int) -> None:
        send = _submit_form if k % 3 == 2 else _submit_api
        n = 0
        with self.service.client() as http:
            while not self._stop.is_set():
                n += 1
                attempt = Attempt(f"scale-{k}-{n}", time.monotonic())
                try:
                    attempt.status, attempt.case_pk, attempt.token = send(http, attempt.name, self.console)
                except httpx.HTTPError as exc:
                    attempt.error = type(exc).__name__
                attempt.ended = time.monotonic()
                with self._lock:
                    self.attempts.append(attempt)
                self._stop.wait(self.pause_s)

    def done(self) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.ended]

    def acknowledged(self) -> list[Attempt]:
        return [a for a in self.done() if a.status in (201, 303)]

    def started_after(self, t: float) -> list[Attempt]:
        return [a for a in self.done() if a.started > t]


def _kill_web_process_under_load(service: WebService, load: Load) -> tuple[int, float]:
    """kill -9 one web process once submissions flow; the other must take every later request."""
    victim = service.web_pids()[0]
    wait_for(lambda: len(load.acknowledged()) >= 6, timeout=120)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(load.started_after(killed_at + 0.5)) >= 6, timeout=120)
    return victim, killed_at


def _check_submissions(
    service: WebService, load: Load, killed_at: float, victim: int, console: bytes
) -> None:
    attempts = load.done()
    after_kill = load.started_after(killed_at + 0.5)
    assert after_kill and all(a.status in (201, 303) for a in after_kill), [
        (a.name, a.status, a.error) for a in after_kill if a.status not in (201, 303)
    ]
    assert {a.status for a in attempts} <= {201, 303, None}, [(a.name, a.status) for a in attempts]
    # the supervisor replaced the killed process, and the replacement serves
    wait_for(lambda: len(service.web_pids()) == 2 and victim not in service.web_pids(), timeout=120)
    service.wait_serving(2)
    digest = hashlib.sha256(console).hexdigest()
    acknowledged = load.acknowledged()
    with service.client() as http:
        for a in acknowledged:
            got = http.get(f"/api/cases/{a.case_pk}", params={"token": a.token})
            assert got.status_code == 200, (a.name, got.text)
            assert digest in {f["sha256"] for f in got.json()["files"]}, a.name
    db = Database(service.database_url)
    try:
        with db.session() as s:
            stored = set(s.scalars(select(CaseRecord.id)))
            per_name = _cases_per_name(s)
    finally:
        db.dispose()
    assert {a.case_pk for a in acknowledged} <= stored
    duplicated = {name: n for name, n in per_name.items() if n > 1}
    assert not duplicated, duplicated
    cut = [a for a in attempts if a.status is None]
    print(
        f"\n{len(attempts)} submissions, {len(acknowledged)} acknowledged, {len(cut)} cut by the kill "
        f"({sum(a.name in per_name for a in cut)} of those stored anyway)"
    )


def test_kill_9_of_a_web_process_loses_no_acknowledged_submission(
    tmp_path: Path, pg_url: str, imbalance_capture: bytes
) -> None:
    with serve(tmp_path, pg_url, SUBMISSIONS_PER_WINDOW="100000") as service:
        with Load(service, imbalance_capture, clients=6) as load:
            victim, killed_at = _kill_web_process_under_load(service, load)
        _check_submissions(service, load, killed_at, victim, imbalance_capture)


def _cases_per_name(session: Any) -> dict[str, int]:
    """How many stored cases each submission made (its name is the case_id, or the form's site)."""
    counts: dict[str, int] = {}
    for case_id, observations in session.execute(select(CaseRecord.case_id, CaseRecord.observations)):
        site = ((observations or {}).get("site") or {}).get("location")
        name = case_id if str(case_id).startswith("scale-") else site
        counts[str(name)] = counts.get(str(name), 0) + 1
    return counts


def _workers(service: WebService, n: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """``n`` ``pylondiag worker`` processes on the service's database and data directory (3 s leases, so a
    killed worker's case is taken again within seconds)."""
    cmd = [sys.executable, "-m", "pylondiag", "worker", "--database", service.database_url]
    cmd += ["--data-dir", str(service.data_dir), "--lease", "3", "--poll", "0.2"]
    procs = []
    for i in range(n):
        with open(log_dir / f"worker{i}.log", "wb") as out:
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))
    return procs


def _running_claims(database_url: str) -> dict[str, str]:
    """``case id -> claimed_by`` (``host:pid``) of the diagnoses running now."""
    db = Database(database_url)
    try:
        with db.session() as s:
            rows = s.execute(
                select(CaseRecord.id, CaseRecord.claimed_by).where(CaseRecord.diagnosis_state == "running")
            )
            return {pk: str(by) for pk, by in rows}
    finally:
        db.dispose()


def _kill_worker_mid_diagnosis(service: WebService, workers: list[subprocess.Popen[bytes]]) -> str:
    """kill -9 a worker while the database shows it diagnosing a case; returns that case's id."""
    pids = {str(w.pid): w for w in workers}
    found: dict[str, str] = {}

    def diagnosing() -> bool:
        found.clear()
        found.update(
            {
                pk: by
                for pk, by in _running_claims(service.database_url).items()
                if by.rsplit(":", 1)[-1] in pids
            }
        )
        return bool(found)

    wait_for(diagnosing, timeout=120)
    pk, by = next(iter(found.items()))
    pids[by.rsplit(":", 1)[-1]].kill()
    return pk


def test_kill_9_of_a_web_process_and_of_a_worker_mid_diagnosis(
    tmp_path: Path, pg_url: str, imbalance_capture: bytes, validator: Path
) -> None:
    """2 web processes + 2 workers: every acknowledged case is stored once and diagnosed exactly once."""
    with serve(tmp_path, pg_url, SUBMISSIONS_PER_WINDOW="100000") as service:
        workers = _workers(service, 2, tmp_path)
        try:
            with Load(service, imbalance_capture, clients=4, pause_s=0.5) as load:
                victim, killed_at = _kill_web_process_under_load(service, load)
                interrupted = _kill_worker_mid_diagnosis(service, workers)
            _check_submissions(service, load, killed_at, victim, imbalance_capture)
            acknowledged = {a.case_pk for a in load.acknowledged()}
            assert interrupted in acknowledged

            def all_diagnosed() -> bool:
                db = Database(service.database_url)
                try:
                    with db.session() as s:
                        states = dict(s.execute(select(CaseRecord.id, CaseRecord.diagnosis_state)).all())
                finally:
                    db.dispose()
                assert not {pk: st for pk, st in states.items() if st == "failed"}, states
                return all(states.get(pk) == "done" for pk in acknowledged)

            wait_for(all_diagnosed, timeout=300)
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(60)
        _check_diagnosed_once(service, acknowledged, interrupted, validator)


def _check_diagnosed_once(
    service: WebService, cases: set[str | None], interrupted: str, validator: Path
) -> None:
    """One automatic diagnosis version per case, each valid by the spec's own checker."""
    spec = importlib.util.spec_from_file_location("validate_diagnosis", validator)
    assert spec and spec.loader
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    db = Database(service.database_url)
    try:
        with db.session() as s:
            versions = s.execute(
                select(
                    DiagnosisVersion.case_pk,
                    DiagnosisVersion.version,
                    DiagnosisVersion.kind,
                    DiagnosisVersion.document,
                )
            ).all()
            attempts = dict(s.execute(select(CaseRecord.id, CaseRecord.diagnosis_attempts)).all())
    finally:
        db.dispose()
    per_case: dict[str, list[int]] = {}
    for pk, version, kind, document in versions:
        assert kind == "automatic"
        per_case.setdefault(pk, []).append(version)
        problems = checker.check(service.data_dir / "cases" / pk, document)
        assert not problems, (pk, problems)
    assert {pk: v for pk, v in per_case.items() if v != [1]} == {}
    assert cases <= set(per_case)
    assert attempts[interrupted] >= 2, "the killed worker's case was taken again by the other worker"
