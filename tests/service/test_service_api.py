"""The contract of shared/spec/service-api.md, endpoint by endpoint, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pytest
from _service_helpers import ENGINEER_EMAIL, FOUR_MODULE_CASE, check_stored_diagnosis, drain
from _service_helpers import submit_api as submit
from fastapi.testclient import TestClient

EVENTS_CSV = b"time,code,message,severity\n2026-07-12 07:12:40,F58,BMS_Comm_Fail,fault\n"
CONTRACT_PATHS = {
    ("post", "/api/cases"),
    ("get", "/api/cases/{case_pk}"),
    ("get", "/api/cases/{case_pk}/diagnosis"),
    ("get", "/api/cases/{case_pk}/report.pdf"),
    ("post", "/api/cases/{case_pk}/review"),
    ("get", "/api/queue"),
    ("get", "/healthz"),
}


def make_zip(entries: dict[str, bytes], *, top: str | None = "my-case") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(f"{top}/{name}" if top else name, data)
    return buf.getvalue()


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_nothing(client: TestClient) -> None:
    c = client.app.state.ctx  # type: ignore[attr-defined]
    assert list(c.store.cases.iterdir()) == []
    assert list(c.store.staging.iterdir()) == []
    from sqlalchemy import func, select

    from pylondiag.service.db.models import CaseRecord, EvidenceFile

    with c.db.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseRecord)) == 0
        assert s.scalar(select(func.count()).select_from(EvidenceFile)) == 0


# -- anyone ---------------------------------------------------------------------------------------
def test_healthz_and_openapi_document_the_contract(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    served = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert served >= CONTRACT_PATHS
    assert "multipart/form-data" in spec["paths"]["/api/cases"]["post"]["requestBody"]["content"]


def test_submit_yaml_and_files_then_owner_reads_case_diagnosis_and_report(
    client: TestClient, imbalance_capture: bytes, validator: Path
) -> None:
    created = submit(client, imbalance_capture)
    assert set(created) == {"id", "access_token", "url"}
    assert len(created["access_token"]) >= 40
    assert created["url"].endswith(f"/c/{created['id']}?token={created['access_token']}")

    case = client.get(f"/api/cases/{created['id']}", headers=bearer(created["access_token"])).json()
    assert case["status"] == "submitted"
    assert case["case_id"] == "test-four"
    assert case["observations"]["stack"][2]["led"] == "amber"
    assert case["observations"]["observed_at"] == "2026-07-13T09:00"
    files = {f["path"]: f for f in case["files"]}
    assert set(files) == {"case.yaml", "console/session.txt"}
    assert files["console/session.txt"]["sha256"] == hashlib.sha256(imbalance_capture).hexdigest()
    assert files["console/session.txt"]["kind"] == "console"
    assert "reviews" not in case  # the owner does not see who reviewed

    # no diagnosis yet: said plainly, not a 404
    r = client.get(f"/api/cases/{created['id']}/diagnosis", headers=bearer(created["access_token"]))
    assert r.status_code == 409 and "no diagnosis yet" in r.json()["detail"]

    drain(client)
    case = client.get(f"/api/cases/{created['id']}?token={created['access_token']}").json()
    assert case["status"] == "diagnosed"
    assert case["diagnosis"] == {
        "state": "done",
        "attempts": 1,
        "error": None,
        "version": 1,
        "kind": "automatic",
        "preliminary": True,
    }
    r = client.get(f"/api/cases/{created['id']}/diagnosis?token={created['access_token']}")
    assert r.status_code == 200 and r.headers["x-pylondiag-report"] == "preliminary"
    doc = r.json()
    assert doc["schema"] == "pylondiag.diagnosis/1"
    assert doc["case_id"] == "test-four"
    assert [m["position"] for m in doc["modules"]] == [1, 2, 3, 4]
    # the stored document is the spec's, citing real lines of the stored files
    check_stored_diagnosis(client, created["id"], doc, validator)

    pdf = client.get(f"/api/cases/{created['id']}/report.pdf", headers=bearer(created["access_token"]))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_submit_zip_of_a_case_directory_with_top_folder(client: TestClient, imbalance_capture: bytes) -> None:
    data = make_zip(
        {
            "case.yaml": FOUR_MODULE_CASE.encode(),
            "console/bat.txt": imbalance_capture,
            "inverter/events.csv": EVENTS_CSV,
        }
    )
    r = client.post("/api/cases", files={"case": ("my-case.zip", data, "application/zip")})
    assert r.status_code == 201, r.text
    created = r.json()
    case = client.get(f"/api/cases/{created['id']}?token={created['access_token']}").json()
    assert [f["path"] for f in case["files"]] == ["case.yaml", "console/bat.txt", "inverter/events.csv"]
    assert [f["kind"] for f in case["files"]] == ["case_yaml", "console", "inverter"]


def test_files_field_with_relative_path_names_and_no_case_yaml(
    client: TestClient, imbalance_capture: bytes
) -> None:
    r = client.post("/api/cases", files=[("files", ("console/a.txt", imbalance_capture, "text/plain"))])
    assert r.status_code == 201, r.text
    created = r.json()
    case = client.get(f"/api/cases/{created['id']}", headers=bearer(created["access_token"])).json()
    assert [f["path"] for f in case["files"]] == ["console/a.txt"]
    assert case["observations"] is None
    assert case["case_id"] == created["id"]
    drain(client)
    doc = client.get(f"/api/cases/{created['id']}/diagnosis", headers=bearer(created["access_token"])).json()
    assert doc["schema"] == "pylondiag.diagnosis/1"


# -- who may see a case ---------------------------------------------------------------------------
def test_a_case_without_its_token_is_404_and_reveals_nothing(
    client: TestClient, imbalance_capture: bytes
) -> None:
    a = submit(client, imbalance_capture)
    b = submit(client, imbalance_capture)
    missing = client.get("/api/cases/AAAAAAAAAAAAAAAA", headers=bearer(a["access_token"]))
    assert missing.status_code == 404
    for suffix in ("", "/diagnosis", "/report.pdf", "/files/case.yaml"):
        url = f"/api/cases/{a['id']}{suffix}"
        no_token = client.get(url)
        wrong = client.get(url, headers=bearer(a["access_token"][:-2] + "xx"))
        other_owner = client.get(f"{url}?token={b['access_token']}")
        for r in (no_token, wrong, other_owner):
            assert r.status_code == 404
            assert r.json() == missing.json()  # same answer as for a case that does not exist
    assert client.get(f"/api/cases/{a['id']}", headers=bearer(a["access_token"])).status_code == 200
    assert client.get(f"/api/cases/{b['id']}?token={b['access_token']}").status_code == 200


def test_engineer_only_routes(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    created = submit(client, imbalance_capture)
    drain(client)
    review = {"note": "looked at it"}
    # queue: nobody, an owner, a wrong password -> 401; an engineer -> 200
    assert client.get("/api/queue").status_code == 401
    assert client.get("/api/queue", headers=bearer(created["access_token"])).status_code == 401
    assert client.get("/api/queue", headers=basic(engineer[0], "wrong password!")).status_code == 401
    assert client.get("/api/queue", headers=basic(*engineer)).status_code == 200
    # review: nobody -> 404 (does not reveal the case), the owner -> 403, an engineer -> 200
    url = f"/api/cases/{created['id']}/review"
    assert client.post(url, json=review).status_code == 404
    r = client.post(url, json=review, headers=bearer(created["access_token"]))
    assert r.status_code == 403 and "engineer" in r.json()["detail"]
    assert client.post(url, json=review, headers=basic(*engineer)).status_code == 200
    # an engineer sees any case, with its review history
    case = client.get(f"/api/cases/{created['id']}", headers=basic(*engineer)).json()
    assert case["reviews"][0]["by"] == ENGINEER_EMAIL and case["reviews"][0]["note"] == "looked at it"


def test_review_amends_keeps_history_and_signs_off(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes, validator: Path
) -> None:
    created = submit(client, imbalance_capture)
    drain(client)
    eng = basic(*engineer)
    url = f"/api/cases/{created['id']}/review"
    auto = client.get(f"/api/cases/{created['id']}/diagnosis", headers=eng).json()
    assert (auto["outcome"], auto["primary_cause"], auto["culprit_modules"]) == (
        "rebalance",
        "cell_imbalance",
        [1],
    )
    modules = [
        {**m, "verdict": "replace", "causes": ["weak_cell"]}
        if m["position"] == 1
        else {**m, "verdict": "isolate", "causes": ["cell_under_voltage"]}
        if m["position"] == 3
        else m
        for m in auto["modules"]
    ]
    findings = [
        {
            "code": "weak_cell",
            "severity": "fault",
            "module": 1,
            "confidence": 0.8,
            "message": "Cell 12 stays behind after the balancing window.",
            "evidence": [{"source": "console/session.txt", "line": 1}],
        },
        {
            "code": "cell_under_voltage",
            "severity": "fault",
            "module": 3,
            "confidence": 0.6,
            "message": "Owner reports module 3 in alarm.",
            "evidence": [{"source": "case.yaml", "key": "stack[2].led"}],
        },
    ]
    first = client.post(
        url,
        headers=eng,
        json={
            "outcome": "replace",
            "primary_cause": "weak_cell",
            "modules": modules,
            "findings": [*auto["findings"], *findings],
            "note": "cell 12 keeps lagging",
        },
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "in_review" and body["diagnosis_version"] == 2
    fields = {c["field"] for c in body["changes"]}
    assert fields == {"outcome", "primary_cause", "modules", "findings", "culprit_modules"}
    assert body["diagnosis"]["culprit_modules"] == [1, 3]  # derived from the amended verdicts
    # the missing quote was filled from the real line 1 of the stored file
    first_line = imbalance_capture.splitlines()[0].decode().strip()
    assert body["diagnosis"]["findings"][-2]["evidence"][0]["quote"] == first_line

    spec = {
        "work": ["Check the link cable between modules 2 and 3"],
        "parts": ["RJ45 link cable"],
        "checks_after": ["pwr lists 4 modules"],
    }
    second = client.post(url, headers=eng, json={"on_site_spec": spec, "sign_off": True})
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "signed_off"

    case = client.get(f"/api/cases/{created['id']}", headers=bearer(created["access_token"])).json()
    assert case["status"] == "signed_off" and case["signed_off_at"]
    assert case["diagnosis"]["version"] == 3 and case["diagnosis"]["preliminary"] is False
    doc = client.get(f"/api/cases/{created['id']}/diagnosis", headers=bearer(created["access_token"]))
    assert doc.headers["x-pylondiag-report"] == "signed_off"
    assert doc.json()["on_site_spec"] == spec and doc.json()["outcome"] == "replace"
    check_stored_diagnosis(client, created["id"], doc.text, validator)

    history = client.get(f"/api/cases/{created['id']}", headers=eng).json()["reviews"]
    assert [h["action"] for h in history] == ["amend", "sign_off"]
    assert all(h["by"] == ENGINEER_EMAIL and h["at"] for h in history)
    assert history[1]["changes"] == [{"field": "on_site_spec", "before": auto["on_site_spec"], "after": spec}]
    # every version is kept
    store = client.app.state.ctx  # type: ignore[attr-defined]
    from pylondiag.service.db.models import CaseRecord

    with store.db.session() as s:
        versions = s.get(CaseRecord, created["id"]).diagnoses
        assert [(v.version, v.kind) for v in versions] == [(1, "automatic"), (2, "amended"), (3, "amended")]
        assert versions[0].document == auto
    # signed off is final
    again = client.post(url, headers=eng, json={"note": "one more thing"})
    assert again.status_code == 409
    assert client.get("/api/queue", headers=eng).json() == {"cases": []}


def test_review_refuses_invalid_amendments(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    created = submit(client, imbalance_capture)
    eng = basic(*engineer)
    url = f"/api/cases/{created['id']}/review"
    r = client.post(url, headers=eng, json={"outcome": "replace"})
    assert r.status_code == 409 and "no diagnosis" in r.json()["detail"]  # not diagnosed yet
    drain(client)
    bad_line = {
        "code": "weak_cell",
        "severity": "fault",
        "module": 1,
        "confidence": 0.5,
        "message": "x",
        "evidence": [{"source": "console/session.txt", "line": 999999}],
    }
    r = client.post(url, headers=eng, json={"findings": [bad_line]})
    assert r.status_code == 422 and "not line 999999" in r.json()["detail"]
    bad_file = {**bad_line, "evidence": [{"source": "console/nope.txt", "line": 1}]}
    assert (
        "not a file of this case"
        in client.post(url, headers=eng, json={"findings": [bad_file]}).json()["detail"]
    )
    r = client.post(url, headers=eng, json={"outcome": "replace", "primary_cause": None})
    assert r.status_code == 422 and "primary_cause" in r.json()["detail"]
    assert client.post(url, headers=eng, json={"outcome": "explode"}).status_code == 422
    assert client.post(url, headers=eng, json={"typo_field": 1}).status_code == 422
    assert (
        client.post(url, headers=eng, content=b"outcome=replace", params={}).status_code == 415
    )  # not JSON: a cross-site form cannot post a review
    assert client.get(f"/api/cases/{created['id']}", headers=eng).json()["reviews"] == []


def test_queue_lists_unsigned_cases_oldest_first(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    ids = [
        submit(client, imbalance_capture, FOUR_MODULE_CASE.replace("test-four", f"c{i}"))["id"]
        for i in range(3)
    ]
    queue = client.get("/api/queue", headers=basic(*engineer)).json()["cases"]
    assert [c["id"] for c in queue] == ids
    assert [c["case_id"] for c in queue] == ["c0", "c1", "c2"]
    assert {c["status"] for c in queue} == {"submitted"}


# -- bad uploads: 4xx with a message, nothing stored ------------------------------------------------
def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("console/link.txt")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("console/bomb.txt", b"0" * size)
    return buf.getvalue()


BAD_UPLOADS = [
    pytest.param(
        {"files": {"case": ("case.zip", b"this is not a zip", "application/zip")}},
        415,
        "not a zip",
        id="not-a-zip",
    ),
    pytest.param(
        {"files": {"case": ("case.zip", b"PK\x03\x04garbage", "application/zip")}},
        415,
        "not a readable zip",
        id="corrupt-zip",
    ),
    pytest.param(
        {"files": {"case": ("case.zip", _bomb(900_000), "application/zip")}},
        413,
        "zip bomb",
        id="zip-bomb-ratio",
    ),
    pytest.param(
        {"files": {"case": ("case.zip", _bomb(50_000_000), "application/zip")}},
        413,
        "inflates",
        id="zip-bomb-size",
    ),
    pytest.param(
        {"files": {"case": ("c.zip", make_zip({"../../evil.txt": b"x"}, top=None), "application/zip")}},
        400,
        "traversal",
        id="zip-traversal",
    ),
    pytest.param(
        {"files": {"case": ("c.zip", make_zip({"/etc/cron.d/x": b"x"}, top=None), "application/zip")}},
        400,
        "absolute",
        id="zip-absolute",
    ),
    pytest.param(
        {"files": {"case": ("c.zip", _symlink_zip(), "application/zip")}},
        400,
        "symbolic link",
        id="zip-symlink",
    ),
    pytest.param(
        {"files": {"case": ("c.zip", make_zip({"a.txt": b"x"}), "image/png")}},
        415,
        "expected application/zip",
        id="zip-wrong-type",
    ),
    pytest.param(
        {"files": {"../console/x.txt": ("x.txt", b"pwr\n", "text/plain")}},
        400,
        "traversal",
        id="field-traversal",
    ),
    pytest.param(
        {"files": [("files", ("..\\x.txt", b"pwr\n", "text/plain"))]}, 400, "backslash", id="files-backslash"
    ),
    pytest.param(
        {"files": {"console/big.txt": ("big.txt", b"a" * 1_000_001, "text/plain")}},
        413,
        "over the limit",
        id="file-over-size",
    ),
    pytest.param(
        {
            "files": {
                "console/a.txt": ("a.txt", b"x" * 1_500_000, "text/plain"),
                "console/b.txt": ("b.txt", b"x" * 1_500_001, "text/plain"),
            }
        },
        413,
        "request body over the limit",
        id="request-over-size",
    ),
    pytest.param(
        {"files": {f"console/{i}.txt": (f"{i}.txt", b"pwr\n", "text/plain") for i in range(21)}},
        413,
        "at most 20",
        id="too-many-files",
    ),
    pytest.param(
        {"data": {"case_yaml": "schema: pylondiag.case/1\nstack: [\n  - position: 1\n"}},
        422,
        "case.yaml line",
        id="yaml-unreadable",
    ),
    pytest.param(
        {"data": {"case_yaml": "schema: pylondiag.case/1\nstak: []\n"}}, 422, "stak", id="yaml-unknown-key"
    ),
    pytest.param({"data": {"case_yaml": "- just\n- a list\n"}}, 422, "mapping", id="yaml-not-mapping"),
    pytest.param(
        {
            "data": {"case_yaml": FOUR_MODULE_CASE},
            "files": {"console/x.bin": ("x.bin", b"\x7fELF\x00\x00binary", "application/octet-stream")},
        },
        415,
        "binary content",
        id="binary-as-console",
    ),
    pytest.param(
        {
            "data": {"case_yaml": FOUR_MODULE_CASE},
            "files": {"photos/p.jpg": ("p.jpg", b"not really a jpeg", "image/jpeg")},
        },
        415,
        "photos must be",
        id="photo-not-image",
    ),
    pytest.param(
        {
            "data": {"case_yaml": FOUR_MODULE_CASE},
            "files": {"console/a.txt": ("a.txt", b"pwr\n", "application/x-msdownload")},
        },
        415,
        "declared as",
        id="text-wrong-type",
    ),
    pytest.param({"data": {"unexpected": "x"}}, 400, "unknown field", id="unknown-field"),
    pytest.param(
        {"files": {"case": ("empty.zip", make_zip({}, top=None), "application/zip")}},
        400,
        "empty submission",
        id="empty-zip",
    ),
]


@pytest.mark.parametrize(("kwargs", "status", "message"), BAD_UPLOADS)
def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(
    client: TestClient, kwargs: dict[str, object], status: int, message: str
) -> None:
    r = client.post("/api/cases", **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    stored_nothing(client)


def test_non_multipart_submission_is_refused(client: TestClient) -> None:
    r = client.post("/api/cases", json={"case_yaml": "schema: pylondiag.case/1"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    stored_nothing(client)


def test_submissions_are_rate_limited(make_client, imbalance_capture: bytes) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from _service_helpers import TEST_LIMITS

    client = make_client(limits=replace(TEST_LIMITS, submissions_per_window=2))
    submit(client, imbalance_capture)
    submit(client, imbalance_capture)
    r = client.post("/api/cases", data={"case_yaml": FOUR_MODULE_CASE})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_background_worker_diagnoses_then_caches_the_reports(make_client, imbalance_capture: bytes) -> None:  # type: ignore[no-untyped-def]
    from _service_helpers import wait_for

    client = make_client(run_worker=True)
    created = submit(client, imbalance_capture)
    auth = bearer(created["access_token"])
    wait_for(lambda: client.get(f"/api/cases/{created['id']}", headers=auth).json()["status"] == "diagnosed")
    store = client.app.state.ctx.store
    wait_for(lambda: store.cached_report(created["id"], 1, "preliminary.pdf") is not None, timeout=180)
    assert store.cached_report(created["id"], 1, "preliminary.html") is not None
    pdf = client.get(f"/api/cases/{created['id']}/report.pdf", headers=auth)
    assert pdf.content == store.cached_report(created["id"], 1, "preliminary.pdf")


def test_json_login_gives_an_engineer_session(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    created = submit(client, imbalance_capture)
    drain(client)
    assert client.post("/api/login", data={"email": engineer[0], "password": engineer[1]}).status_code == 415
    bad = client.post("/api/login", json={"email": engineer[0], "password": "nope nope nope"})
    assert bad.status_code == 401 and "pylondiag_session" not in bad.headers.get("set-cookie", "")
    r = client.post("/api/login", json={"email": engineer[0].upper(), "password": engineer[1]})
    assert r.status_code == 200 and r.json() == {"email": ENGINEER_EMAIL, "role": "engineer"}
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/queue").json()["cases"][0]["id"] == created["id"]
    review = client.post(f"/api/cases/{created['id']}/review", json={"note": "via session", "sign_off": True})
    assert review.status_code == 200 and review.json()["status"] == "signed_off"


def test_utf16_inverter_export_is_accepted(client: TestClient, imbalance_capture: bytes) -> None:
    csv = "time,code,message,severity\r\n2026-07-12 07:12:40,F58,BMS_Comm_Fail,fault\r\n".encode("utf-16")
    r = client.post(
        "/api/cases",
        data={"case_yaml": FOUR_MODULE_CASE},
        files={"inverter/events.csv": ("events.csv", csv, "text/csv")},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    drain(client)
    doc = client.get(f"/api/cases/{created['id']}/diagnosis", headers=bearer(created["access_token"])).json()
    assert not any("inverter/events.csv" in gap and "binary" in gap for gap in doc["evidence_gaps"])
