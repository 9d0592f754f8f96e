"""Hostile submissions through the real app (issue 15 items 2, 3, 5 and 8): each is refused with a
message naming what is wrong, nothing is stored, no answer is a 500 or shows a server path; CSRF seeds
rotate at login and logout; ``X-Forwarded-For`` counts only from a configured proxy."""

from __future__ import annotations

import asyncio
import io
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, FOUR_MODULE_CASE, TEST_LIMITS
from fastapi.testclient import TestClient
from test_service_api import basic, stored_nothing, submit
from test_service_web import csrf

import pylondiag.service.api as api_module

BILLION_LAUGHS = (
    "schema: pylondiag.case/1\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8)
    )
)


def _deep(levels: int) -> str:
    return "schema: pylondiag.case/1\nnotes: " + "[" * levels + "]" * levels + "\n"


def _bzip2_bomb(declared: int = 1000, size: int = 32 * 1024 * 1024) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("console/pwr.txt", b"a" * size)
    out = bytearray(buf.getvalue())
    local, central = out.find(b"PK\x03\x04"), out.find(b"PK\x01\x02")
    out[local + 22 : local + 26] = struct.pack("<I", declared)
    out[central + 24 : central + 28] = struct.pack("<I", declared)
    return bytes(out)


def _nul_name_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("case.yaml", FOUR_MODULE_CASE)
        zf.writestr("console/pwr.txtX.exe", b"pylon>pwr\n")
    return buf.getvalue().replace(b"pwr.txtX.exe", b"pwr.txt\x00.exe")


def _yaml(**site: str) -> str:
    text = FOUR_MODULE_CASE.replace("  location: garage\n", "".join(f"  {k}: {v}\n" for k, v in site.items()))
    return text


HOSTILE: dict[str, tuple[dict[str, Any], int, str]] = {
    "billion laughs": ({"data": {"case_yaml": BILLION_LAUGHS}}, 422, "anchors and aliases"),
    "depth 1000": ({"data": {"case_yaml": _deep(1_000)}}, 422, "nested more than"),
    "depth 50000": ({"data": {"case_yaml": _deep(50_000)}}, 422, "nested more than"),
    "region as zone": ({"data": {"case_yaml": _yaml(timezone="Europe")}}, 422, "site.timezone"),
    "huge zone name": ({"data": {"case_yaml": _yaml(timezone="Europe/" + "x" * 5000)}}, 422, "site.timezone"),
    "huge integer": (
        {
            "data": {
                "case_yaml": FOUR_MODULE_CASE.replace(
                    "configured_modules: 4", "configured_modules: " + "9" * 5000
                )
            }
        },
        422,
        "inverter.configured_modules",
    ),
    "file named like its folder": (
        {
            "data": {"case_yaml": FOUR_MODULE_CASE},
            "files": [
                ("console", ("console", b"pylon>pwr\n", "text/plain")),
                ("console/pwr.txt", ("pwr.txt", b"pylon>pwr\n", "text/plain")),
            ],
        },
        400,
        "console is a file, and also a folder",
    ),
    "overlong name": (
        {
            "data": {"case_yaml": FOUR_MODULE_CASE},
            "files": [("console/" + "é" * 110 + ".txt", ("x.txt", b"pylon>pwr\n", "text/plain"))],
        },
        400,
        "bytes in one name",
    ),
    "NUL in a zip name": ({"files": {"case": ("c.zip", _nul_name_zip(), "application/zip")}}, 400, "NUL"),
    "bzip2 bomb with a lying header": (
        {"files": {"case": ("c.zip", _bzip2_bomb(), "application/zip")}},
        413,
        "zip bomb",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_submission_is_refused_naming_the_problem(client: TestClient, name: str) -> None:
    kwargs, status, message = HOSTILE[name]
    r = client.post("/api/cases", **kwargs)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert message in detail
    assert len(detail) < 1000, "the message does not repeat a huge value back"
    data_dir = str(client.app.state.ctx.settings.data_dir)  # type: ignore[attr-defined]
    for leak in (data_dir, "/tmp/", "site-packages", "/usr/", "Traceback"):
        assert leak not in r.text
    stored_nothing(client)


def test_the_intake_form_offers_time_zones_as_a_choice_and_checks_them(client: TestClient) -> None:
    page = client.get("/new?modules=1")
    assert (
        '<select name="site_timezone">' in page.text
        and "<option selected>Europe/London</option>" in page.text
    )
    form = {"csrf_token": csrf(page.text), "modules": "1", "site_timezone": "Europe", "m1_model": "US3000C"}
    r = client.post("/new", data=form)
    assert r.status_code == 422 and "Time zone: &#39;Europe&#39; is not a time zone" in r.text
    stored_nothing(client)


def test_zips_are_read_off_the_event_loop(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = api_module.read_zip

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(api_module, "read_zip", spy)
    r = client.post("/api/cases", files={"case": ("c.zip", _bzip2_bomb(), "application/zip")})
    assert r.status_code == 413 and seen == [False], "read_zip ran on the event loop's thread"


# -- CSRF and proxies ----------------------------------------------------------------------------
def _csrf_cookie(response: Any) -> str | None:
    for value in response.headers.get_list("set-cookie"):
        m = re.match(r"pylondiag_csrf=([^;]+)", value)
        if m:
            return m.group(1)
    return None


def test_csrf_seed_rotates_at_login_and_logout(client: TestClient, engineer: tuple[str, str]) -> None:
    page = client.get("/login")
    before_token = csrf(page.text)
    before_seed = client.cookies.get("pylondiag_csrf")
    r = client.post(
        "/login",
        data={"csrf_token": before_token, "email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after_login = _csrf_cookie(r)
    assert after_login and after_login != before_seed
    client.cookies.set("pylondiag_csrf", after_login)
    # the token of the anonymous page no longer passes a form
    assert client.post("/logout", data={"csrf_token": before_token}).status_code == 403
    queue = client.get("/queue")
    r = client.post("/logout", data={"csrf_token": csrf(queue.text)}, follow_redirects=False)
    assert r.status_code == 303
    after_logout = _csrf_cookie(r)
    assert after_logout and after_logout not in (before_seed, after_login)


def test_json_login_rotates_the_csrf_seed(client: TestClient, engineer: tuple[str, str]) -> None:
    client.get("/login")
    before = client.cookies.get("pylondiag_csrf")
    r = client.post("/api/login", json={"email": ENGINEER_EMAIL, "password": ENGINEER_PASSWORD})
    assert r.status_code == 200 and _csrf_cookie(r) not in (None, before)


def _spoofed_submissions(client: TestClient, capture: bytes, n: int) -> list[int]:
    codes = []
    for i in range(n):
        r = client.post(
            "/api/cases",
            data={"case_yaml": FOUR_MODULE_CASE},
            files={"console/session.txt": ("session.txt", capture, "text/plain")},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        codes.append(r.status_code)
    return codes


def test_forwarded_for_is_ignored_without_a_configured_proxy(
    make_client: Callable[..., TestClient], imbalance_capture: bytes
) -> None:
    client = make_client(limits=replace(TEST_LIMITS, submissions_per_window=2))
    assert _spoofed_submissions(client, imbalance_capture, 3) == [201, 201, 429]


def test_forwarded_for_counts_from_a_configured_proxy(
    make_client: Callable[..., TestClient], imbalance_capture: bytes
) -> None:
    client = make_client(
        limits=replace(TEST_LIMITS, submissions_per_window=2), trusted_proxies=("testclient",)
    )
    assert _spoofed_submissions(client, imbalance_capture, 3) == [201, 201, 201]
    submit(client, imbalance_capture)  # the proxy's own address has its own window


# -- a machine diagnosis the validator would refuse never blocks the engineer ---------------------
def test_a_wrong_machine_quote_does_not_block_sign_off(
    make_client: Callable[..., TestClient], engineer: tuple[str, str], imbalance_capture: bytes
) -> None:
    """A quote the machine got wrong (as a cp1252 line once made it) is the machine's slip: the engineer
    can still amend and sign off; only citations the engineer writes are checked."""
    from pylondiag.service.worker import run_pipeline

    def sloppy(case_dir: Any) -> dict[str, Any]:
        doc = run_pipeline(case_dir)
        for finding in doc["findings"]:
            for ref in finding["evidence"]:
                if ref.get("line"):
                    ref["quote"] = "t\u00e9l\u00e9m\u00e9trie that is not on the line"
        return doc

    client = make_client(runner=sloppy)
    pk = submit(client, imbalance_capture)["id"]
    assert client.app.state.ctx.worker.drain(timeout=120)  # type: ignore[attr-defined]
    auth = basic(ENGINEER_EMAIL, ENGINEER_PASSWORD)
    r = client.post(f"/api/cases/{pk}/review", json={"summary": "checked on site"}, headers=auth)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/cases/{pk}/review", json={"sign_off": True}, headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "signed_off", r.text
