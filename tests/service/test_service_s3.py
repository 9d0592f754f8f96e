"""The service with its evidence in an S3-compatible object store (moto's server on 127.0.0.1, started by
the tests): submission → diagnosis → report → evidence added later → held uploads, two "machines" sharing
one bucket and database, and the failures: an unreachable store answers 503 with a plain message and
stores nothing, a failure half-way leaves no half case."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import (
    FOUR_MODULE_CASE,
    TEST_LIMITS,
    S3Bucket,
    check_orphan_sweep,
    check_stored_diagnosis,
    drain,
    free_port,
    submit_api,
    worker_of,
)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pylondiag.service.db.models import CaseRecord, EvidenceFile
from pylondiag.service.settings import Settings
from pylondiag.service.storage import StoreUnavailable

EVENTS_CSV = b"time,code,message,severity\n2026-07-12 07:12:40,F58,BMS_Comm_Fail,fault\n"


@pytest.fixture
def settings(tmp_path: Path, s3_bucket: S3Bucket, database_url: str | None) -> Settings:
    """(Overrides conftest's, so ``make_client`` opens apps on it.) Evidence in the bucket; the database
    SQLite or PostgreSQL (what several machines share)."""
    return s3_bucket.settings(
        tmp_path / "machine-a",
        database_url=database_url,
        limits=TEST_LIMITS,
        run_worker=False,
        run_mailer=False,
    )


@pytest.fixture
def open_client(make_client: Callable[..., TestClient]) -> Callable[[Settings], TestClient]:
    def make(settings: Settings) -> TestClient:
        return make_client(**{f.name: getattr(settings, f.name) for f in fields(settings)})

    return make


def rows(client: TestClient) -> tuple[int, int]:
    db = client.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(CaseRecord)) or 0,
            s.scalar(select(func.count()).select_from(EvidenceFile)) or 0,
        )


def local_files(data_dir: Path) -> list[str]:
    """Files this machine keeps besides its database and key: none of the evidence."""
    skip = {"pylondiag.sqlite3", "pylondiag.sqlite3-wal", "pylondiag.sqlite3-shm", "secret_key"}
    found = [p for p in data_dir.rglob("*") if p.is_file() and p.name not in skip]
    return sorted(p.relative_to(data_dir).as_posix() for p in found)


def test_submission_diagnosis_report_and_added_evidence_live_in_the_bucket(
    settings: Settings,
    s3_bucket: S3Bucket,
    open_client: Callable[[Settings], TestClient],
    imbalance_capture: bytes,
    validator: Path,
) -> None:
    client = open_client(settings)
    created = submit_api(client, imbalance_capture)
    pk, token = created["id"], created["access_token"]
    assert s3_bucket.keys("pylondiag/cases/") == [
        f"pylondiag/cases/{pk}/case.yaml",
        f"pylondiag/cases/{pk}/console/session.txt",
    ]

    drain(client)
    doc = client.get(f"/api/cases/{pk}/diagnosis?token={token}").json()
    assert doc["schema"] == "pylondiag.diagnosis/1" and doc["case_id"] == "test-four"
    check_stored_diagnosis(client, pk, doc, validator)  # on a local copy of the bucket's objects

    pdf = client.get(f"/api/cases/{pk}/report.pdf?token={token}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    key = f"pylondiag/reports/{pk}/v1.preliminary.pdf"
    assert key in s3_bucket.keys("pylondiag/reports/")
    cached = s3_bucket.client().get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()
    assert cached == pdf.content
    file = client.get(f"/api/cases/{pk}/files/console/session.txt?token={token}")
    assert file.status_code == 200 and file.content == imbalance_capture

    added = client.post(
        f"/api/cases/{pk}/files?token={token}",
        files=[("inverter/events.csv", ("events.csv", EVENTS_CSV, "text/csv"))],
    )
    assert added.status_code == 200, added.text
    assert added.json()["files"] == ["inverter/events.csv"] and added.json()["diagnosis_version"] == 2
    assert f"pylondiag/cases/{pk}/inverter/events.csv" in s3_bucket.keys("pylondiag/cases/")
    drain(client)
    case = client.get(f"/api/cases/{pk}?token={token}").json()
    assert case["diagnosis_version"] == 2 and case["diagnosis"]["state"] == "done"
    assert {f["path"] for f in case["files"]} == {"case.yaml", "console/session.txt", "inverter/events.csv"}
    assert local_files(settings.data_dir) == []  # nothing of the case on this machine's disk


def test_a_second_machine_diagnoses_and_serves_what_the_first_stored(
    settings: Settings,
    open_client: Callable[[Settings], TestClient],
    imbalance_capture: bytes,
) -> None:
    """Two processes with their own data directories, one database and one bucket."""
    a = open_client(settings)
    b_settings = replace(
        settings,
        data_dir=settings.data_dir.parent / "machine-b",
        database_url=settings.resolved_database_url,
    )
    b = open_client(b_settings)
    created = submit_api(a, imbalance_capture)
    drain(b)  # B's worker diagnoses the case A took in
    html = b.get(f"/api/cases/{created['id']}/report.html?token={created['access_token']}")
    assert html.status_code == 200
    # A serves the report B rendered: from the shared cache, no second rendering
    store_a = a.app.state.ctx.store  # type: ignore[attr-defined]
    assert store_a.cached_report(created["id"], 1, "preliminary.html") == html.content
    assert local_files(settings.data_dir) == [] and local_files(b_settings.data_dir) == []


def test_held_uploads_of_a_refused_form_are_kept_in_the_bucket(
    settings: Settings,
    s3_bucket: S3Bucket,
    open_client: Callable[[Settings], TestClient],
    imbalance_capture: bytes,
) -> None:
    client = open_client(settings)
    page = client.get("/new?modules=2")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    idem = re.search(r'name="idem" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form: dict[str, Any] = {"csrf_token": token, "idem": idem, "modules": "2", "site_ambient_c": "hot"}
    refused = client.post(
        "/new", data=form, files=[("up_console", ("pwr.txt", imbalance_capture, "text/plain"))]
    )
    assert refused.status_code == 422 and "Room temperature" in refused.text
    assert 'name="keep_held" value="console/pwr.txt"' in refused.text
    held = s3_bucket.keys("pylondiag/held/")
    assert len(held) == 1 and held[0].endswith("/console/pwr.txt")

    form = {**form, "site_ambient_c": "21", "keep_held": "console/pwr.txt"}
    sent = client.post("/new", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    pk = re.fullmatch(r"/c/([\w-]+)\?token=[\w-]+&new=1", sent.headers["location"]).group(1)  # type: ignore[union-attr]
    assert f"pylondiag/cases/{pk}/console/pwr.txt" in s3_bucket.keys("pylondiag/cases/")
    assert s3_bucket.keys("pylondiag/held/") == []  # taken in, then dropped
    assert local_files(settings.data_dir) == []


def test_an_unreachable_store_answers_503_in_plain_words_and_stores_nothing(
    settings: Settings, open_client: Callable[[Settings], TestClient], imbalance_capture: bytes
) -> None:
    dead = replace(settings, s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    client = open_client(dead)
    r = client.post(
        "/api/cases",
        data={"case_yaml": FOUR_MODULE_CASE},
        files={"console/session.txt": ("session.txt", imbalance_capture, "text/plain")},
    )
    assert r.status_code == 503
    detail = r.json()["detail"]
    assert detail.startswith("the evidence store is not reachable right now; nothing was changed")
    assert "127.0.0.1" not in detail and "Traceback" not in r.text and "s3://" not in detail
    assert rows(client) == (0, 0)
    assert local_files(dead.data_dir) == []  # no staged copy left behind either

    page = client.get("/new?modules=1")  # a person gets a page, not JSON
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/new",
        data={"csrf_token": token, "modules": "1", "site_ambient_c": "hot"},
        files=[("up_console", ("pwr.txt", imbalance_capture, "text/plain"))],
        headers={"accept": "text/html"},
    )
    assert r.status_code == 503 and "<html" in r.text.lower() and "not reachable right now" in r.text
    assert "Traceback" not in r.text and rows(client) == (0, 0)


def cut_off_from_the_store(settings: Settings, open_client: Callable[[Settings], TestClient]) -> TestClient:
    """A second machine on the same database whose object store endpoint answers nothing (a closed port)."""
    return open_client(
        replace(
            settings,
            data_dir=settings.data_dir.parent / "cut-off",
            database_url=settings.resolved_database_url,
            s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        )
    )


def test_cases_stored_before_the_store_went_away_answer_503_not_500(
    settings: Settings, open_client: Callable[[Settings], TestClient], imbalance_capture: bytes
) -> None:
    good = open_client(settings)
    created = submit_api(good, imbalance_capture)
    pk, token = created["id"], created["access_token"]
    drain(good)
    dead = cut_off_from_the_store(settings, open_client)
    for path in (f"/api/cases/{pk}/report.pdf", f"/api/cases/{pk}/files/case.yaml"):
        r = dead.get(f"{path}?token={token}")
        assert r.status_code == 503 and "not reachable right now" in r.json()["detail"], path
    added = dead.post(
        f"/api/cases/{pk}/files?token={token}",
        files=[("inverter/events.csv", ("events.csv", EVENTS_CSV, "text/csv"))],
    )
    assert added.status_code == 503
    case = good.get(f"/api/cases/{pk}?token={token}").json()
    assert {f["path"] for f in case["files"]} == {"case.yaml", "console/session.txt"}
    assert case["diagnosis_version"] == 1 and case["diagnosis"]["state"] == "done"


def test_a_store_outage_leaves_cases_queued_uncounted_and_they_are_diagnosed_when_it_is_back(
    settings: Settings,
    open_client: Callable[[Settings], TestClient],
    imbalance_capture: bytes,
    validator: Path,
) -> None:
    """A worker cut off from the store gives the case back each time without counting the attempt: an
    outage longer than ``max_diagnosis_attempts`` claims must not end waiting cases ``failed``."""
    good = open_client(settings)
    created = submit_api(good, imbalance_capture)
    pk, token = created["id"], created["access_token"]
    cut_off = cut_off_from_the_store(settings, open_client)
    for _ in range(settings.max_diagnosis_attempts + 2):
        with pytest.raises(StoreUnavailable):
            worker_of(cut_off).drain(timeout=30)
    state = good.get(f"/api/cases/{pk}?token={token}").json()["diagnosis"]
    assert (state["state"], state["attempts"], state["error"]) == ("queued", 0, None)
    drain(good)
    case = good.get(f"/api/cases/{pk}?token={token}").json()
    assert case["diagnosis"]["state"] == "done" and case["diagnosis_version"] == 1
    check_stored_diagnosis(good, pk, good.get(f"/api/cases/{pk}/diagnosis?token={token}").json(), validator)


def test_objects_a_killed_submission_left_are_swept_from_the_bucket(
    settings: Settings, open_client: Callable[[Settings], TestClient], imbalance_capture: bytes
) -> None:
    check_orphan_sweep(open_client(settings), imbalance_capture)


def test_a_failure_half_way_through_storing_leaves_no_half_case(
    settings: Settings,
    s3_bucket: S3Bucket,
    open_client: Callable[[Settings], TestClient],
    imbalance_capture: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = open_client(settings)
    store = client.app.state.ctx.store  # type: ignore[attr-defined]
    real_put = store.blobs.put
    puts: list[str] = []

    def second_put_fails(key: str, data: bytes, *, exclusive: bool = False) -> None:
        puts.append(key)
        if len(puts) == 2:  # the connection drops after the first object went in
            raise StoreUnavailable("connection reset (injected)")
        real_put(key, data, exclusive=exclusive)

    monkeypatch.setattr(store.blobs, "put", second_put_fails)
    r = client.post(
        "/api/cases",
        data={"case_yaml": FOUR_MODULE_CASE},
        files={"console/session.txt": ("session.txt", imbalance_capture, "text/plain")},
    )
    assert r.status_code == 503 and len(puts) == 2
    assert s3_bucket.keys("pylondiag/cases/") == []  # the first object was taken back
    assert rows(client) == (0, 0)

    # the objects are written, then the database refuses the row: the objects go again
    monkeypatch.setattr(store.blobs, "put", real_put)
    real_commit = store.commit

    def commit_then_db_fails(staged: Any, pk: str) -> None:
        real_commit(staged, pk)
        raise RuntimeError("database connection lost (injected)")

    monkeypatch.setattr(store, "commit", commit_then_db_fails)
    with pytest.raises(RuntimeError, match="injected"):
        submit_api(client, imbalance_capture)
    assert s3_bucket.keys("pylondiag/cases/") == [] and rows(client) == (0, 0)


@pytest.mark.parametrize(
    ("bucket", "dead", "said"),
    [
        pytest.param(None, True, "Could not connect to the endpoint URL", id="unreachable"),
        pytest.param("no-such-bucket", False, "the bucket 'no-such-bucket' does not exist", id="no-bucket"),
    ],
)
def test_serve_refuses_a_store_it_cannot_use_in_one_line(
    tmp_path: Path, s3_bucket: S3Bucket, bucket: str | None, dead: bool, said: str
) -> None:
    """``pylondiag serve`` checks the bucket before it listens: exit 3 and one line, as for the database
    (the settings' own check of the URL's form is in test_service_settings)."""
    env = {
        **os.environ,
        "PYLONDIAG_EVIDENCE_STORE": f"s3://{bucket or s3_bucket.name}/p",
        "PYLONDIAG_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}" if dead else s3_bucket.endpoint,
    }
    args = ["serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d")]
    r = subprocess.run(
        [sys.executable, "-m", "pylondiag.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("error: cannot use the evidence store s3://")
    assert said in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
