"""Closing issue 8's open points: amendments that break the spec's rules are refused (API and form) and
what is accepted passes shared/tools/validate_diagnosis.py; the report is marked PRELIMINARY until sign-off
and then names the engineer; logout ends the session on the server (a copied cookie stops working)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, check_stored_diagnosis, drain
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_service_api import basic, bearer, submit
from test_service_web import csrf, login

from pylondiag.service.db.models import CaseRecord, DiagnosisVersion


def versions(client: TestClient, pk: str) -> list[int]:
    with client.app.state.ctx.db.session() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(DiagnosisVersion.version).where(DiagnosisVersion.case_pk == pk)))


@pytest.fixture
def diagnosed(client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes) -> dict[str, Any]:
    created = submit(client, imbalance_capture)
    drain(client)
    auto = client.get(f"/api/cases/{created['id']}/diagnosis", headers=bearer(created["access_token"])).json()
    return {**created, "auto": auto, "eng": basic(*engineer)}


def all_modules(doc: dict[str, Any], verdict: str, **at: str) -> list[dict[str, Any]]:
    return [
        {
            **m,
            "verdict": at.get(f"p{m['position']}", verdict),
            "causes": [] if at.get(f"p{m['position']}", verdict) == "ok" else m["causes"],
        }
        for m in doc["modules"]
    ]


def test_api_refuses_amendments_that_break_the_rules_and_stores_nothing(
    client: TestClient, diagnosed: dict[str, Any], validator: Path
) -> None:
    pk, auto, eng = diagnosed["id"], diagnosed["auto"], diagnosed["eng"]
    url = f"/api/cases/{pk}/review"
    cause = auto["findings"][0]["code"]
    refusals = [
        # a module verdict needs at least its outcome in the precedence
        (
            {"outcome": "monitor", "primary_cause": cause, "modules": all_modules(auto, "ok", p3="replace")},
            "module 3 has verdict replace, which needs the outcome replace or one before it",
        ),
        (
            {"outcome": "no_fault", "modules": all_modules(auto, "ok", p2="isolate")},
            "module 2 has verdict isolate, which needs the outcome on_site_check",
        ),
        # primary cause must have a finding
        (
            {
                "outcome": "replace",
                "primary_cause": "bms_hardware_fault",
                "modules": all_modules(auto, "ok", p3="replace"),
            },
            "primary_cause bms_hardware_fault has no finding",
        ),
        # primary cause null iff no_fault / insufficient_evidence
        (
            {"outcome": "no_fault", "primary_cause": cause, "modules": all_modules(auto, "ok")},
            "outcome no_fault has no primary cause",
        ),
        # a finding's module must be one of the modules
        ({"findings": [{**auto["findings"][0], "module": 9}]}, "module 9 is not one of the modules"),
        # the quote must be on the cited line
        (
            {
                "findings": [
                    {
                        **auto["findings"][0],
                        "evidence": [
                            {"source": "console/session.txt", "line": 1, "quote": "not on that line at all"}
                        ],
                    }
                ]
            },
            "is not on console/session.txt line 1",
        ),
    ]
    for body, message in refusals:
        r = client.post(url, headers=eng, json=body)
        assert r.status_code == 422, (body, r.text)
        assert message in r.json()["detail"], r.json()["detail"]
    assert versions(client, pk) == [1]
    assert "reviews" in client.get(f"/api/cases/{pk}", headers=eng).json()
    assert client.get(f"/api/cases/{pk}", headers=eng).json()["reviews"] == []

    # the obvious intents are derived: culprits from the verdicts, no cause for no_fault
    ok = client.post(url, headers=eng, json={"outcome": "no_fault", "modules": all_modules(auto, "ok")})
    assert ok.status_code == 200, ok.text
    doc = ok.json()["diagnosis"]
    assert doc["primary_cause"] is None and doc["culprit_modules"] == []
    check_stored_diagnosis(client, pk, doc, validator)
    # back from no_fault: a cause is needed again, and the message names the findings' causes
    body = {"outcome": "replace", "modules": all_modules(auto, "ok", p3="replace")}
    r = client.post(url, headers=eng, json=body)
    assert r.status_code == 422 and "outcome replace needs a primary_cause (the findings' causes:" in r.text
    ok = client.post(
        url,
        headers=eng,
        json={
            "outcome": "replace",
            "primary_cause": cause,
            "modules": all_modules(auto, "monitor", p3="replace"),
        },
    )
    assert ok.status_code == 200, ok.text
    doc = ok.json()["diagnosis"]
    assert doc["culprit_modules"] == [3]
    check_stored_diagnosis(client, pk, doc, validator)
    assert versions(client, pk) == [1, 2, 3]


def test_form_refuses_an_outcome_below_a_module_verdict_with_the_reason(
    client: TestClient, diagnosed: dict[str, Any]
) -> None:
    pk = diagnosed["id"]
    assert login(client) == 303
    page = client.get(f"/cases/{pk}")
    form = {
        "csrf_token": csrf(page.text),
        "outcome": "no_fault",
        "primary_cause": "",
        "mod0_verdict": "ok",
        "mod1_verdict": "ok",
        "mod2_verdict": "replace",
        "mod3_verdict": "ok",
        "do": "sign_off",
    }
    for i, _ in enumerate(diagnosed["auto"]["findings"]):
        form[f"f{i}_keep"] = "1"
    r = client.post(f"/cases/{pk}/review", data=form, follow_redirects=False)
    assert r.status_code == 422
    assert "module 3 has verdict replace, which needs the outcome replace" in r.text
    assert versions(client, pk) == [1]
    with client.app.state.ctx.db.session() as s:  # type: ignore[attr-defined]
        assert s.get(CaseRecord, pk).status == "diagnosed"  # not signed off


needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


def pdf_words(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"\s+", " ", out)


@needs_pdftotext
def test_report_is_preliminary_until_signed_off_then_names_the_engineer(
    client: TestClient, diagnosed: dict[str, Any], tmp_path: Path
) -> None:
    pk, owner = diagnosed["id"], bearer(diagnosed["access_token"])
    pdf = client.get(f"/api/cases/{pk}/report.pdf", headers=owner)
    assert pdf.status_code == 200 and pdf.headers["x-pylondiag-report"] == "preliminary"
    text = pdf_words(pdf.content, tmp_path)
    assert "PRELIMINARY — automatic diagnosis, not yet reviewed by an engineer" in text
    html = client.get(f"/api/cases/{pk}/report.html", headers=owner).text
    assert 'id="preliminary"' in html

    signed = client.post(f"/api/cases/{pk}/review", headers=diagnosed["eng"], json={"sign_off": True})
    assert signed.status_code == 200
    pdf = client.get(f"/api/cases/{pk}/report.pdf", headers=owner)
    assert pdf.headers["x-pylondiag-report"] == "signed_off"
    text = pdf_words(pdf.content, tmp_path)
    assert "PRELIMINARY" not in text.upper()
    assert f"signed off by {ENGINEER_EMAIL}" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    owner_html = client.get(f"/c/{pk}/report.html?token={diagnosed['access_token']}").text
    assert "PRELIMINARY" not in owner_html and ENGINEER_EMAIL in owner_html


def test_logout_ends_the_session_on_the_server(client: TestClient, engineer: tuple[str, str]) -> None:
    assert login(client) == 303
    copied = client.cookies.get("pylondiag_session")
    assert copied and client.get("/api/queue").status_code == 200
    page = client.get("/queue")
    r = client.post("/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    # the copied cookie, replayed from elsewhere, no longer opens anything
    client.cookies.clear()
    client.cookies.set("pylondiag_session", copied)
    assert client.get("/api/queue").status_code == 401
    assert client.get("/queue", follow_redirects=False).status_code == 303
    # logging in again works, with a new cookie
    client.cookies.clear()
    assert login(client, ENGINEER_EMAIL, ENGINEER_PASSWORD) == 303
    assert client.cookies.get("pylondiag_session") != copied
    assert client.get("/api/queue").status_code == 200


def test_owner_views_have_their_own_pool_and_engineers_basic_auth_does_not_wait_for_it(
    make_client: Any, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    import threading

    client = make_client(view_threads=1)
    created = submit(client, imbalance_capture)
    drain(client)
    limiter = client.app.state.ctx.view_limiter
    assert limiter.total_tokens == 1
    holder = object()
    client.portal.call(limiter.acquire_on_behalf_of, holder)  # every view thread busy
    try:
        results: dict[str, int] = {}

        def fetch(name: str, headers: dict[str, str]) -> None:
            results[name] = client.get(f"/api/cases/{created['id']}", headers=headers).status_code

        eng = threading.Thread(target=fetch, args=("engineer", basic(*engineer)))
        eng.start()
        eng.join(20)
        assert results.get("engineer") == 200, "HTTP Basic (argon2) runs outside the owners' view pool"
        owner = threading.Thread(target=fetch, args=("owner", bearer(created["access_token"])))
        owner.start()
        owner.join(0.5)
        assert "owner" not in results, "the owner's view waits for a view thread"
    finally:
        client.portal.call(limiter.release_on_behalf_of, holder)
    owner.join(20)
    assert results.get("owner") == 200


XSS = '<script>alert("x")</script>'


def amend_form(token: str, auto: dict[str, Any], **changes: str) -> dict[str, str]:
    """A full amend form as a browser sends it: every module and finding, an added finding, actions,
    an on-site spec and a note, with ``XSS`` in every free-text field."""
    form = {
        "csrf_token": token,
        "outcome": "replace",
        "primary_cause": auto["findings"][0]["code"],
        "summary": f"Summary typed by hand {XSS}",
        "new_code": auto["findings"][0]["code"],
        "new_module": "3",
        "new_severity": "warning",
        "new_confidence": "0.65",
        "new_source": "console/session.txt",
        "new_line": "2",
        "new_message": f"Added finding typed by hand {XSS}",
        "actions": f"Charge to 100% {XSS}\non-site: Swap module 3",
        "spec_work": f"Swap module 3 {XSS}",
        "spec_parts": "US3000C module",
        "spec_checks": "pwr shows 4 modules",
        "note": f"Note typed by hand {XSS}",
        "do": "amend",
    }
    for i, m in enumerate(auto["modules"]):
        form[f"mod{i}_verdict"] = "replace" if m["position"] == 3 else "monitor"
        form[f"mod{i}_causes"] = auto["findings"][0]["code"] if m["position"] == 3 else ""
    for i, _ in enumerate(auto["findings"]):
        form[f"f{i}_keep"] = "1"
        form[f"f{i}_severity"] = "info"
        form[f"f{i}_confidence"] = "0.55"
        form[f"f{i}_message"] = f"Finding {i} reworded {XSS}"
    form.update(changes)
    return form


def selected(html: str, name: str) -> str:
    """The selected option of the select ``name`` in ``html``."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    option = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)</option>', select.group(1))
    assert option, f"{name} has a selected option"
    return option.group(1) if option.group(1) is not None else option.group(2)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # the outcome below a module's verdict breaks the spec's precedence
        ({"outcome": "monitor"}, "module 3 has verdict replace, which needs the outcome replace"),
        # the added finding cites a line the file does not have
        ({"new_line": "99999"}, "lines, not line 99999"),
    ],
)
def test_refused_form_amendment_keeps_every_typed_value_and_stores_nothing(
    client: TestClient, diagnosed: dict[str, Any], change: dict[str, str], reason: str, validator: Path
) -> None:
    pk, auto = diagnosed["id"], diagnosed["auto"]
    assert login(client) == 303
    page = client.get(f"/cases/{pk}")
    assert 'id="review-error"' not in page.text
    # the last finding is dropped (its "keep" box unticked): the refused page must keep it unticked
    form = amend_form(csrf(page.text), auto, **change)
    dropped = len(auto["findings"]) - 1
    del form[f"f{dropped}_keep"]
    r = client.post(f"/cases/{pk}/review", data=form, follow_redirects=False)

    assert r.status_code == 422, r.text[:500]
    assert versions(client, pk) == [1]
    html = r.text
    error = re.search(r'<div class="error-box" role="alert" id="review-error">(.*?)</div>', html, re.S)
    assert error and reason in error.group(1)
    assert html.index('id="review-error"') < html.index('id="review-form"')  # next to the form
    # every value typed is back in the form, escaped
    assert XSS not in html and "&lt;script&gt;" in html
    assert selected(html, "outcome") == form["outcome"]
    assert selected(html, "primary_cause") == form["primary_cause"]
    assert selected(html, "new_code") == form["new_code"]
    assert selected(html, "new_severity") == "warning"
    assert selected(html, "new_source") == "console/session.txt"
    for i, _ in enumerate(auto["modules"]):
        assert selected(html, f"mod{i}_verdict") == form[f"mod{i}_verdict"]
    for i, _ in enumerate(auto["findings"]):
        assert selected(html, f"f{i}_severity") == "info"
        assert f'name="f{i}_confidence" value="0.55"' in html
        ticked = f'name="f{i}_keep" value="1" checked>' in html
        assert ticked == (i != dropped)
    escaped = {k: v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for k, v in form.items()}
    for key in ("summary", "new_message", "actions", "spec_work", "spec_parts", "spec_checks", "note"):
        assert f'name="{key}"' in html and escaped[key].replace('"', "&#34;") in html, key
    for key in ("new_module", "new_line", "new_confidence"):
        assert f'name="{key}" inputmode="numeric" value="{form[key]}"' in html or (
            f'name="{key}" value="{form[key]}"' in html
        ), key

    # the token on the refused page still works: the corrected amendment is accepted
    fixed = {**form, "csrf_token": csrf(html), "outcome": "replace", "new_line": "2"}
    ok = client.post(f"/cases/{pk}/review", data=fixed, follow_redirects=False)
    assert ok.status_code == 303, ok.text[:2000]
    assert versions(client, pk) == [1, 2]
    doc = client.get(f"/api/cases/{pk}/diagnosis", headers=bearer(diagnosed["access_token"])).json()
    assert doc["outcome"] == "replace" and doc["summary"] == form["summary"]
    assert doc["on_site_spec"]["work"] == [form["spec_work"]]
    assert doc["findings"][-1]["message"] == form["new_message"]
    assert len(doc["findings"]) == len(auto["findings"])  # one dropped, one added
    check_stored_diagnosis(client, pk, doc, validator)
    # the page after the redirect is the stored version, with no refusal shown
    after = client.get(f"/cases/{pk}")
    assert "Diagnosis v2" in after.text and 'id="review-error"' not in after.text
