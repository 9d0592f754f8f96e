"""Reviews are serialised (issue 15 item 9): 20 engineers amending and signing off one case at the same
moment, through a real server on 127.0.0.1 (SQLite and PostgreSQL), end in exactly one sign-off, versions
strictly increasing, the status never going back from signed off, and no 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvicorn
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, free_port
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_service_api import basic, submit

from pylondiag.service.app import create_app
from pylondiag.service.db.models import CaseRecord, DiagnosisVersion, Review
from pylondiag.service.settings import Settings

REVIEWERS = 20


@pytest.fixture
def live(
    settings: Settings, engineer: tuple[str, str], imbalance_capture: bytes
) -> Iterator[tuple[str, str, Any]]:
    """A diagnosed case and a real server on 127.0.0.1 serving it: (base URL, case id, the app's context)."""
    app = create_app(replace(settings, run_worker=False))
    with TestClient(app, base_url="http://127.0.0.1") as setup:
        pk = submit(setup, imbalance_capture)["id"]
        assert app.state.ctx.worker.drain(timeout=120)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", pk, app.state.ctx
    finally:
        server.should_exit = True
        thread.join(10)


def test_twenty_parallel_reviewers_end_in_exactly_one_sign_off(live: tuple[str, str, Any]) -> None:
    base, pk, ctx = live
    auth = basic(ENGINEER_EMAIL, ENGINEER_PASSWORD)
    start = threading.Barrier(REVIEWERS)

    def reviewer(i: int) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"summary": f"reviewer {i} was here", "note": f"reviewer {i}"}
        if i % 2:
            body["sign_off"] = True
        with httpx.Client(base_url=base, headers=auth, timeout=120) as http:
            start.wait()
            r = http.post(f"/api/cases/{pk}/review", json=body)
            return r.status_code, r.json()

    with ThreadPoolExecutor(REVIEWERS) as pool:
        answers = list(pool.map(reviewer, range(REVIEWERS)))

    codes = [code for code, _ in answers]
    assert set(codes) <= {200, 409}, codes
    signed = [a for code, a in answers if code == 200 and a["status"] == "signed_off"]
    assert len(signed) == 1, codes
    refused = [a["detail"] for code, a in answers if code == 409]
    assert all("signed off" in d for d in refused)

    with ctx.db.session() as session:
        record = session.get(CaseRecord, pk)
        assert record is not None and record.status == "signed_off"
        versions = session.scalars(
            select(DiagnosisVersion.version)
            .where(DiagnosisVersion.case_pk == pk)
            .order_by(DiagnosisVersion.id)
        ).all()
        reviews = session.scalars(select(Review).where(Review.case_pk == pk).order_by(Review.id)).all()
        assert versions == sorted(set(versions)) and versions == list(range(1, len(versions) + 1))
        actions = [r.action for r in reviews]
        assert actions.count("sign_off") == 1 and actions[-1] == "sign_off", "nothing after the sign-off"
        seen = [r.diagnosis_version for r in reviews]
        assert seen == sorted(seen), "each review saw the version the one before it left"
        assert len(reviews) == codes.count(200)
