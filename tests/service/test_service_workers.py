"""Issue 15 items 12/14 (worker side): ``pylondiag worker`` processes share the job queue in PostgreSQL.

Real processes on a real PostgreSQL started by the tests: cases are submitted through the service (the
app in this process, its own worker thread off), two ``pylondiag worker`` subprocesses diagnose them.
The diagnoses are slow enough to be caught mid-way because the evidence is big and real (50 000
inverter events: ~1.5 s of CPU to read and diagnose), not because of a test-only delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _service_helpers import (
    BIG_LIMITS,
    FOUR_MODULE_CASE,
    INVERTER_CASE,
    assert_valid_diagnosis,
    submit,
    wait_for,
    year_of_events,
)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pylondiag.service.app import create_app
from pylondiag.service.db.models import CaseRecord, DiagnosisVersion
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LEASE_S = 1.5


@pytest.fixture
def web(tmp_path: Path, pg_url: str) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url, limits=BIG_LIMITS, run_worker=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


class Workers:
    """``pylondiag worker`` subprocesses, each logging to a file and named in PostgreSQL (``PGAPPNAME``)."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.tmp_path, self.url = tmp_path, url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "pylondiag.cli", "worker", "--database", self.url]
        cmd += ["--data-dir", str(self.tmp_path / "data"), "--lease", str(LEASE_S), "--poll", "0.2"]
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "PGAPPNAME": name, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        """SIGKILL: a worker asked to stop (SIGTERM) first finishes what it holds, which may be
        pre-rendering a report (~10 s here); the tests are about what a kill leaves behind anyway."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


@pytest.fixture
def workers(tmp_path: Path, pg_url: str) -> Iterator[Workers]:
    w = Workers(tmp_path, pg_url)
    try:
        yield w
    finally:
        w.stop_all()


def running_on(db: Database, proc: subprocess.Popen[bytes]) -> str | None:
    """The case the worker process is diagnosing now, if any."""
    with db.session() as s:
        return s.scalars(
            select(CaseRecord.id).where(
                CaseRecord.diagnosis_state == "running", CaseRecord.claimed_by.like(f"%:{proc.pid}")
            )
        ).first()


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    """Live (non-zombie) processes below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def versions(db: Database) -> dict[str, list[tuple[int, str]]]:
    with db.session() as s:
        rows = s.execute(
            select(DiagnosisVersion.case_pk, DiagnosisVersion.version, DiagnosisVersion.kind)
        ).all()
    out: dict[str, list[tuple[int, str]]] = {}
    for pk, version, kind in rows:
        out.setdefault(pk, []).append((version, kind))
    return out


def all_done(db: Database, pks: list[str]) -> bool:
    with db.session() as s:
        done = s.scalar(
            select(func.count()).where(
                CaseRecord.id.in_(pks), CaseRecord.diagnosis_state.in_(["done", "failed"])
            )
        )
    return done == len(pks)


def test_a_worker_killed_mid_diagnosis_loses_nothing_and_duplicates_nothing(
    web: TestClient, workers: Workers, pg_url: str, imbalance_capture: bytes, validator: Path
) -> None:
    db = Database(pg_url)
    try:
        events = year_of_events(50_000)
        heavy = [submit(web, INVERTER_CASE, {"inverter/events.csv": events})["id"] for _ in range(2)]
        created = [
            submit(web, FOUR_MODULE_CASE, {"console/session.txt": imbalance_capture}) for _ in range(2)
        ]
        pks = heavy + [c["id"] for c in created]
        seen: list[str] = []

        def a_is_diagnosing_a_big_case() -> bool:  # ~1.5 s of CPU: the kill lands mid-way
            pk = running_on(db, a)
            if pk in heavy:
                seen.append(pk)
            return pk in heavy

        a = workers.start("worker-a")
        wait_for(a_is_diagnosing_a_big_case, timeout=60)
        workers.start("worker-b")
        below = descendants(a.pid)  # its forkserver and the diagnosis child
        a.kill()  # kill -9 in the middle of a diagnosis
        a.wait(10)
        killed_case = seen[-1]
        wait_for(lambda: all_done(db, pks), timeout=120)
        found = versions(db)
        with db.session() as s:
            rows = {r.id: r for r in s.scalars(select(CaseRecord).where(CaseRecord.id.in_(pks)))}
            documents = {pk: [d.document for d in rows[pk].diagnoses] for pk in pks}
        for pk in pks:  # every acknowledged submission diagnosed exactly once
            assert rows[pk].diagnosis_state == "done", (pk, rows[pk].diagnosis_error, workers.log("worker-b"))
            assert rows[pk].status == "diagnosed"
            assert found.get(pk) == [(1, "automatic")], found.get(pk)
            assert rows[pk].claim_token is None and rows[pk].lease_until is None
            stored = web.app.state.ctx.store.case_dir(pk)  # type: ignore[attr-defined]
            assert_valid_diagnosis(stored, documents[pk][0], validator)
        assert rows[killed_case].diagnosis_attempts == 2  # claimed by a, then again by b
        assert "expired" in workers.log("worker-b")
        assert below, "the worker had a forkserver and a diagnosis child"
        wait_for(lambda: not any(map(alive, below)), timeout=10)  # they died with it (PR_SET_PDEATHSIG)
    finally:
        db.dispose()


def stop_outside_a_transaction(proc: subprocess.Popen[bytes], name: str, pg_url: str) -> None:
    """SIGSTOP the worker while its database connection holds no transaction (a stopped process inside
    one would keep the case's row locked: a real outage that PostgreSQL's idle-in-transaction timeout
    handles, not the case under test)."""
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(100):
            proc.send_signal(signal.SIGSTOP)
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND state LIKE 'idle in transaction%%'",
                (name,),
            ).fetchone()
            if busy and busy[0] == 0:
                return
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
    raise AssertionError("the worker was always inside a transaction")


def test_a_worker_presumed_dead_that_finishes_late_adds_no_second_version(
    web: TestClient, workers: Workers, pg_url: str
) -> None:
    created = submit(web, INVERTER_CASE, {"inverter/events.csv": year_of_events(50_000)})
    db = Database(pg_url)
    try:
        a = workers.start("worker-a")
        wait_for(lambda: running_on(db, a) is not None, timeout=60)
        stop_outside_a_transaction(a, "worker-a", pg_url)  # frozen: no heartbeat, its child keeps going
        workers.start("worker-b")  # takes the case over once a's lease has expired
        wait_for(lambda: all_done(db, [created["id"]]), timeout=120)
        a.send_signal(signal.SIGCONT)  # a wakes up with its finished result and tries to store it
        wait_for(lambda: "late result discarded" in workers.log("worker-a"), timeout=60)
        assert versions(db)[created["id"]] == [(1, "automatic")]
        with db.session() as s:
            row = s.get(CaseRecord, created["id"])
            assert row is not None and row.diagnosis_state == "done" and row.diagnosis_attempts == 2
    finally:
        db.dispose()
