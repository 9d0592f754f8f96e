"""The web pages through the same app: intake form, CSRF, login cookies, amend/sign-off, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import yaml
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, TEST_LIMITS, drain
from fastapi.testclient import TestClient

XSS = '<script>alert("x")</script>'


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def intake_form(token: str) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": token,
        "modules": "4",
        "inv_brand": "deye",
        "notes": XSS,
        "symptoms": ["capacity_drop"],
    }
    for i in range(1, 5):
        form[f"m{i}_model"] = "US3000C"
        form[f"m{i}_installed"] = "2020-05"
        form[f"m{i}_led"] = "amber" if i == 3 else "green_flashing"
        form[f"m{i}_dip_read"] = "1"  # the owner read every switch
    form["m1_role"] = "master"
    form["m2_dip2"] = "1"
    return form


def login(client: TestClient, email: str = ENGINEER_EMAIL, password: str = ENGINEER_PASSWORD) -> int:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf_token": csrf(page.text), "email": email, "password": password, "next": "/queue"},
        follow_redirects=False,
    )
    return r.status_code


def test_intake_page_draws_panels_and_dip_switches_for_each_module(client: TestClient) -> None:
    start = client.get("/new")
    assert 'name="modules"' in start.text
    page = client.get("/new?modules=4")
    assert page.status_code == 200
    assert page.text.count('<fieldset class="module"') == 4
    assert page.text.count('<svg class="panel"') == 4 * 6
    for i in range(1, 5):
        for b in range(1, 5):
            assert f'name="m{i}_dip{b}"' in page.text
        for led in ("green", "green_flashing", "amber", "red_flashing", "red", "off"):
            assert f'name="m{i}_led" value="{led}"' in page.text
    assert "<animate" in page.text  # flashing states are drawn flashing
    assert "http://" not in page.text.replace("http://127.0.0.1", "") and "https://" not in page.text
    h = page.headers
    assert "default-src 'self'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    first = start.headers["set-cookie"].lower()  # the browser's CSRF seed, set on its first page
    assert "pylondiag_csrf=" in first and "httponly" in first and "samesite=lax" in first


def test_intake_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/new?modules=4")
    r = client.post("/new", data={**intake_form("forged")}, follow_redirects=False)
    assert r.status_code == 403
    assert client.app.state.ctx.store.cases.exists()  # type: ignore[attr-defined]
    assert list(client.app.state.ctx.store.cases.iterdir()) == []  # type: ignore[attr-defined]


def test_owner_submits_the_form_and_follows_the_private_link(
    client: TestClient, imbalance_capture: bytes
) -> None:
    page = client.get("/new?modules=4")
    r = client.post(
        "/new",
        data=intake_form(csrf(page.text)),
        files=[("up_console", ("pwr session.txt", imbalance_capture, "text/plain"))],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    link = r.headers["location"]
    pk, token = re.fullmatch(r"/c/([\w-]+)\?token=([\w-]+)&new=1", link).groups()  # type: ignore[union-attr]
    store = client.app.state.ctx.store  # type: ignore[attr-defined]
    case = yaml.safe_load((store.case_dir(pk) / "case.yaml").read_text())
    assert case["schema"] == "pylondiag.case/1"
    assert [m["led"] for m in case["stack"]] == [
        "green_flashing",
        "green_flashing",
        "amber",
        "green_flashing",
    ]
    assert [m["dip"] for m in case["stack"]] == ["0000", "0100", "0000", "0000"]
    assert case["inverter"] == {"brand": "deye"}
    assert (store.case_dir(pk) / "console" / "pwr session.txt").read_bytes() == imbalance_capture

    owner = client.get(link)
    assert owner.status_code == 200
    assert token in owner.text and "Keep this private link" in owner.text
    # waiting for the worker: the page watches for the diagnosis (app.js); a timed refresh only without JS
    assert 'data-watch-seconds="5"' in owner.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in owner.text
    drain(client)
    owner = client.get(f"/c/{pk}?token={token}")
    assert "PRELIMINARY" in owner.text and "Signed-off report" not in owner.text
    assert client.get(f"/c/{pk}").status_code == 404
    assert client.get(f"/c/{pk}?token=nope").status_code == 404
    # the owner reads the preliminary report, marked as such
    report = client.get(f"/c/{pk}/report.html?token={token}")
    assert report.status_code == 200 and "PRELIMINARY" in report.text


def test_form_errors_are_shown_with_the_values_kept(client: TestClient) -> None:
    page = client.get("/new?modules=2")
    form = {
        "csrf_token": csrf(page.text),
        "modules": "2",
        "inv_charge_voltage_v": "five",
        "m1_serial": "PPT123",
    }
    r = client.post("/new", data=form)
    assert r.status_code == 422
    assert "Charge voltage" in r.text and 'value="PPT123"' in r.text


def test_login_cookie_flags_and_wrong_password(
    make_client: Callable[..., TestClient], engineer: tuple[str, str], client: TestClient
) -> None:
    assert login(client, password="not the password") == 401
    assert client.get("/queue", follow_redirects=False).headers["location"].startswith("/login")
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf(page.text),
            "email": ENGINEER_EMAIL.upper(),
            "password": ENGINEER_PASSWORD,
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue"  # no open redirect
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("pylondiag_session=")).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.get("/queue").status_code == 200
    # over TLS the cookie is Secure
    tls = TestClient(client.app, base_url="https://127.0.0.1")
    page = tls.get("/login")
    r = tls.post(
        "/login",
        data={"csrf_token": csrf(page.text), "email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD},
        follow_redirects=False,
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("pylondiag_session=")).lower()
    assert "; secure" in cookie


def test_login_is_rate_limited(make_client: Callable[..., TestClient], engineer: tuple[str, str]) -> None:
    client = make_client(limits=replace(TEST_LIMITS, logins_per_window=3))
    auth = (ENGINEER_EMAIL, ENGINEER_PASSWORD)
    assert [client.get("/api/queue", auth=auth).status_code for _ in range(5)] == [
        200
    ] * 5  # successes are free
    assert [login(client, password="wrong wrong") for _ in range(3)] == [401, 401, 401]
    assert login(client) == 429  # even the right password waits
    assert client.get("/api/queue", auth=auth).status_code == 429  # HTTP Basic shares the limit


def test_engineer_amends_and_signs_off_in_the_browser_form(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    page = client.get("/new?modules=4")
    r = client.post(
        "/new",
        data=intake_form(csrf(page.text)),
        files=[("up_console", ("bat.txt", imbalance_capture, "text/plain"))],
        follow_redirects=False,
    )
    pk, token = re.fullmatch(r"/c/([\w-]+)\?token=([\w-]+)&new=1", r.headers["location"]).groups()  # type: ignore[union-attr]
    drain(client)
    assert login(client) == 303
    queue = client.get("/queue")
    assert f"/cases/{pk}" in queue.text
    case_page = client.get(f"/cases/{pk}")
    assert case_page.status_code == 200
    # the owner's text is escaped everywhere
    assert XSS not in case_page.text and "&lt;script&gt;" in case_page.text
    # the evidence viewer marks the lines the automatic diagnosis cites
    cited = re.findall(r'<tr id="(f\d+-L\d+)" class="cited">', case_page.text)
    assert cited, "cited lines are highlighted"
    assert f'href="#{cited[0]}"' in case_page.text
    form = {
        "csrf_token": csrf(case_page.text),
        "outcome": "replace",
        "primary_cause": "weak_cell",
        "summary": "Module 1 has a weak cell 12; replace it.",
        "mod0_verdict": "replace",
        "mod0_causes": "weak_cell",
        "mod1_verdict": "ok",
        "mod2_verdict": "monitor",
        "mod3_verdict": "ok",
        "f0_keep": "1",
        "f0_severity": "fault",
        "f0_message": "Cell 12 lags.",
        "f0_confidence": "0.9",
        "new_code": "weak_cell",
        "new_module": "1",
        "new_severity": "fault",
        "new_source": "console/bat.txt",
        "new_line": "3",
        "new_message": "Still lagging on day two.",
        "actions": "Charge to 100% and hold 8 h\non-site: Swap module 1 for a matched US3000C",
        "spec_work": "Swap module 1",
        "spec_parts": "US3000C module",
        "spec_checks": "pwr shows 4 modules",
        "note": "weak cell, not just imbalance",
        "do": "amend",
    }
    r = client.post(f"/cases/{pk}/review", data=form, follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
    page = client.get(f"/cases/{pk}")
    assert "Diagnosis v2" in page.text and "weak cell, not just imbalance" in page.text
    assert client.get(f"/c/{pk}?token={token}").text.count("PRELIMINARY") == 1
    r = client.post(
        f"/cases/{pk}/review",
        data={**form, "csrf_token": csrf(page.text), "do": "sign_off", "note": "signed"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" not in r.headers["location"]
    doc = client.get(f"/api/cases/{pk}/diagnosis?token={token}").json()
    assert doc["outcome"] == "replace" and doc["culprit_modules"] == [1]
    assert doc["actions"][1] == {"step": 2, "text": "Swap module 1 for a matched US3000C", "on_site": True}
    assert doc["on_site_spec"] == {
        "work": ["Swap module 1"],
        "parts": ["US3000C module"],
        "checks_after": ["pwr shows 4 modules"],
    }
    assert doc["findings"][-1]["evidence"][0]["line"] == 3
    # the owner now sees the signed-off report
    client.cookies.clear()
    owner = client.get(f"/c/{pk}?token={token}")
    assert "Signed-off report" in owner.text and "PRELIMINARY" not in owner.text
    report = client.get(f"/c/{pk}/report.html?token={token}")
    assert report.status_code == 200 and "text/html" in report.headers["content-type"]
    pdf = client.get(f"/c/{pk}/report.pdf?token={token}")
    assert pdf.content.startswith(b"%PDF")


def test_review_form_needs_csrf_and_a_session(
    client: TestClient, engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    r = client.post(
        "/api/cases",
        data={"case_yaml": "schema: pylondiag.case/1\n"},
        files={"console/a.txt": ("a.txt", imbalance_capture, "text/plain")},
    )
    pk = r.json()["id"]
    drain(client)
    page = client.get("/login")
    token = csrf(page.text)
    assert client.post(f"/cases/{pk}/review", data={"csrf_token": token, "do": "sign_off"}).status_code == 404
    login(client)
    assert client.post(f"/cases/{pk}/review", data={"csrf_token": "x", "do": "sign_off"}).status_code == 403
    assert client.get(f"/api/cases/{pk}").json()["status"] == "diagnosed"


def test_browsers_get_an_error_page_machines_get_json(client: TestClient) -> None:
    page = client.get("/c/AAAAAAAAAAAAAAAA?token=x", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "no such case" in page.text
    api = client.get("/api/cases/AAAAAAAAAAAAAAAA", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["detail"].startswith("no such case")


def test_admin_manages_accounts_engineers_cannot(
    client: TestClient, settings: object, engineer: tuple[str, str]
) -> None:
    from pylondiag.service.commands import create_user

    create_user(settings, "boss@example.com", "admin", "the admin password")  # type: ignore[arg-type]
    login(client)
    assert client.get("/admin/users").status_code == 403
    client.cookies.clear()
    assert login(client, "boss@example.com", "the admin password") == 303
    page = client.get("/admin/users")
    assert page.status_code == 200 and ENGINEER_EMAIL in page.text
    form = {
        "csrf_token": csrf(page.text),
        "email": "new@example.com",
        "password": "short",
        "role": "engineer",
    }
    r = client.post("/admin/users", data=form, follow_redirects=False)
    assert "10%20characters" in r.headers["location"]
    r = client.post("/admin/users", data={**form, "password": "long enough pw"}, follow_redirects=False)
    assert r.headers["location"] == "/admin/users"
    client.cookies.clear()
    assert login(client, "new@example.com", "long enough pw") == 303


def test_form_accepts_one_zip_and_refuses_bad_ones_without_storing(
    client: TestClient, imbalance_capture: bytes
) -> None:
    import io
    import zipfile

    def zipped(entries: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        return buf.getvalue()

    store = client.app.state.ctx.store  # type: ignore[attr-defined]
    for entries, message in (
        ({"case.yaml": b"schema: pylondiag.case/1\n"}, "holds a case.yaml"),
        ({"../../etc/x.txt": b"pwr\n"}, "path traversal"),
        ({"console/big.txt": b"0" * 900_000}, "zip bomb"),
    ):
        page = client.get("/new?modules=4")
        r = client.post(
            "/new",
            data=intake_form(csrf(page.text)),
            files=[("up_zip", ("case.zip", zipped(entries), "application/zip"))],
        )
        assert r.status_code in (400, 413, 422) and message in r.text, r.text[:300]
        assert "Describe your battery stack" in r.text  # the form again, with the message
        assert list(store.cases.iterdir()) == [] and list(store.staging.iterdir()) == []
    page = client.get("/new?modules=4")
    r = client.post(
        "/new",
        data=intake_form(csrf(page.text)),
        follow_redirects=False,
        files=[
            (
                "up_zip",
                (
                    "case.zip",
                    zipped(
                        {
                            "my-case/console/a.txt": imbalance_capture,
                            "my-case/inverter/ev.csv": b"time,code,message\n",
                        }
                    ),
                    "application/zip",
                ),
            )
        ],
    )
    assert r.status_code == 303
    pk = r.headers["location"].split("/c/")[1].split("?")[0]
    assert sorted(p.relative_to(store.case_dir(pk)).as_posix() for p in store.case_dir(pk).rglob("*.*")) == [
        "case.yaml",
        "console/a.txt",
        "inverter/ev.csv",
    ]
