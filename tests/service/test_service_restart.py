"""Restarts: cases and files survive; a diagnosis interrupted by a crash is retried, not lost."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _service_helpers import free_port, submit_api, wait_for, worker_of
from fastapi.testclient import TestClient
from sqlalchemy import update

from pylondiag.service.db.models import CaseRecord
from pylondiag.service.db.session import Database
from pylondiag.service.worker import run_pipeline


class _Killed(BaseException):
    """Ends the worker thread without letting it record anything, as a crash would."""


def _state(client: TestClient, created: dict[str, str]) -> dict[str, Any]:
    return client.get(f"/api/cases/{created['id']}?token={created['access_token']}").json()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_interrupted_diagnosis_is_retried_after_restart(
    make_client: Callable[..., TestClient], imbalance_capture: bytes
) -> None:
    started, release = threading.Event(), threading.Event()

    def dies(case_dir: Path) -> dict[str, Any]:
        started.set()
        release.wait(60)
        raise _Killed

    first = make_client(run_worker=True, runner=dies, diagnosis_lease_s=1.0)
    created = submit_api(first, imbalance_capture)
    assert started.wait(30), "the worker picked the case up"
    assert _state(first, created)["diagnosis"]["state"] == "running"
    # the worker "dies" here: its thread ends without recording anything (no more heartbeats either).
    # A new process starts on the same data: on SQLite (one process) it requeues at once, on PostgreSQL
    # once the dead worker's 1 s lease has expired.
    release.set()
    second = make_client(run_worker=True, runner=run_pipeline, diagnosis_lease_s=1.0, worker_poll_s=0.2)
    wait_for(lambda: _state(second, created)["status"] == "diagnosed", timeout=60)
    state = _state(second, created)["diagnosis"]
    assert state["state"] == "done" and state["attempts"] == 2 and state["version"] == 1
    doc = second.get(f"/api/cases/{created['id']}/diagnosis?token={created['access_token']}").json()
    assert doc["case_id"] == "test-four"


def test_a_case_that_keeps_crashing_ends_failed_and_can_be_rerun(
    make_client: Callable[..., TestClient], imbalance_capture: bytes
) -> None:
    calls: list[Path] = []

    def broken(case_dir: Path) -> dict[str, Any]:
        calls.append(case_dir)
        raise RuntimeError("simulated crash in a rule")

    client = make_client(runner=broken)
    created = submit_api(client, imbalance_capture)
    assert worker_of(client).drain(timeout=30)
    state = _state(client, created)
    assert len(calls) == 3  # Settings.max_diagnosis_attempts
    assert state["status"] == "submitted"
    assert state["diagnosis"]["state"] == "failed"
    assert "simulated crash in a rule" in state["diagnosis"]["error"]
    # after a fix, an engineer reruns it
    worker = worker_of(client)
    worker.runner = run_pipeline
    assert worker.rerun(created["id"]) is True
    assert worker.drain(timeout=60)
    assert _state(client, created)["status"] == "diagnosed"
    assert worker.rerun(created["id"]) is False  # only failed diagnoses are rerun


def test_a_case_interrupted_too_often_is_not_retried_forever(
    make_client: Callable[..., TestClient], imbalance_capture: bytes
) -> None:
    client = make_client()
    created = submit_api(client, imbalance_capture)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.db.session() as s:
        s.execute(update(CaseRecord).values(diagnosis_state="running", diagnosis_attempts=3))
    assert worker_of(client).recover() == 0
    state = _state(client, created)["diagnosis"]
    assert state["state"] == "failed" and "interrupted 3 times" in state["error"]


def _serve(data_dir: Path, port: int, database: str | None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "pylondiag.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if database:
        cmd += ["--database", database]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            return False

    wait_for(up, timeout=60)
    return proc


@pytest.mark.slow
def test_cases_and_files_survive_a_killed_server(
    tmp_path: Path, database_url: str | None, imbalance_capture: bytes
) -> None:
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port, database_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            done = submit_api(http, imbalance_capture)
            waiting = submit_api(http, imbalance_capture)

            def diagnosed() -> bool:
                return (
                    http.get(
                        f"/api/cases/{done['id']}",
                        headers={"Authorization": f"Bearer {done['access_token']}"},
                    ).json()["status"]
                    == "diagnosed"
                )

            wait_for(diagnosed, timeout=60)
            before = http.get(f"/api/cases/{done['id']}?token={done['access_token']}").json()
            doc_before = http.get(f"/api/cases/{done['id']}/diagnosis?token={done['access_token']}").json()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # as the crash left things: the second case's diagnosis was running, and a submission was half-written
    url = database_url or f"sqlite:///{(data_dir / 'pylondiag.sqlite3').resolve()}"
    db = Database(url)
    with db.session() as s:
        s.execute(
            update(CaseRecord)
            .where(CaseRecord.id == waiting["id"])
            .values(status="submitted", diagnosis_state="running", diagnosis_attempts=1)
        )
    db.dispose()
    (data_dir / "staging" / "half-written").mkdir(parents=True)
    (data_dir / "staging" / "half-written" / "case.yaml").write_text("schema: pyl")
    an_hour_ago = time.time() - 3600  # younger entries may be another web process's submission in flight
    os.utime(data_dir / "staging" / "half-written", (an_hour_ago, an_hour_ago))

    proc = _serve(data_dir, port, database_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            after = http.get(f"/api/cases/{done['id']}?token={done['access_token']}").json()
            assert after == before
            doc_after = http.get(f"/api/cases/{done['id']}/diagnosis?token={done['access_token']}").json()
            assert doc_after == doc_before
            raw = http.get(f"/api/cases/{done['id']}/files/console/session.txt?token={done['access_token']}")
            assert hashlib.sha256(raw.content).hexdigest() == hashlib.sha256(imbalance_capture).hexdigest()

            def retried() -> bool:
                return (
                    http.get(f"/api/cases/{waiting['id']}?token={waiting['access_token']}").json()["status"]
                    == "diagnosed"
                )

            wait_for(retried, timeout=60)
            state = http.get(f"/api/cases/{waiting['id']}?token={waiting['access_token']}").json()[
                "diagnosis"
            ]
            assert state["attempts"] == 2 and state["state"] == "done"
        assert list((data_dir / "staging").iterdir()) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
