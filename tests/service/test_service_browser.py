"""A real Chromium (Debian's, through Playwright) against a real ``pylondiag serve``: the owner fills the
form for a 4-module stack with one amber module and uploads a capture; an engineer logs in, amends and
signs off; the owner's link then shows the signed-off report. Screenshots go to ``$PYLONDIAG_SCREENSHOTS``
(default: the test's tmp dir).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, IMBALANCE_CAPTURE, free_port, wait_for

from pylondiag.service.commands import create_user
from pylondiag.service.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    data_dir, port = tmp_path / "data", free_port()
    create_user(Settings(data_dir=data_dir), ENGINEER_EMAIL, "engineer", ENGINEER_PASSWORD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylondiag.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=60)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


@pytest.fixture
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        msg = "Debian's chromium is not installed (scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def test_owner_submits_engineer_signs_off_owner_sees_report(
    server: str, browser: object, captures_dir: Path, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PYLONDIAG_SCREENSHOTS", tmp_path / "screens"))
    shots.mkdir(parents=True, exist_ok=True)
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = owner_ctx.new_page()
    external: list[str] = []
    page.on("request", lambda req: external.append(req.url) if not req.url.startswith(server) else None)

    # -- the owner ------------------------------------------------------------------------------
    page.goto(f"{server}/new")
    page.fill("#modules", "4")
    page.click("text=Continue")
    page.wait_for_url(re.compile(r"/new\?modules=4"))
    page.fill("input[name=observed_at]", "2026-07-13T09:00")
    page.fill("input[name=site_location]", "garage")
    for i in range(1, 5):
        module = page.locator(f"#module-{i}")
        module.locator(f"select[name=m{i}_model]").select_option("US2000C")
        module.locator(f"input[name=m{i}_installed]").fill("2019-06")
        led = "amber" if i == 3 else "green_flashing"
        module.locator(f"label.led-choice:has(input[value={led}])").click()
        assert module.locator(f"input[name=m{i}_led][value={led}]").is_checked()
    page.locator("#module-1 input[name=m1_role][value=master]").check()
    # the DIP switch is drawn: click switch 1 of module 2 on, then off again, then switch 4 on
    sw = page.locator("#module-2 label.dip-sw").nth(0)
    sw.click()
    assert page.locator("input[name=m2_dip1]").is_checked()
    sw.click()
    assert not page.locator("input[name=m2_dip1]").is_checked()
    page.locator("#module-2 label.dip-sw").nth(3).click()
    page.select_option("select[name=inv_brand]", "sunsynk")
    page.fill("input[name=inv_battery_type]", "lithium")
    page.fill("input[name=inv_battery_protocol]", "00")
    page.fill("input[name=inv_configured_modules]", "4")
    page.fill("input[name=inv_configured_capacity_ah]", "200")
    page.select_option("select[name=h1_event]", "modules_added")
    page.fill("input[name=h1_date]", "2026-06-01")
    page.check("input[name=symptoms][value=capacity_drop]")
    page.fill("textarea[name=notes]", "Module 3 shows the red alarm light flashing.")
    page.set_input_files("input[name=up_console]", str(captures_dir / IMBALANCE_CAPTURE))
    page.locator("#module-3").screenshot(path=str(shots / "01-module3-amber.png"))
    page.screenshot(path=str(shots / "02-intake-form.png"), full_page=True)
    page.click("button:has-text('Submit the case')")
    page.wait_for_url(re.compile(r"/c/[\w-]+\?token=[\w-]+"))
    link = page.locator("#private-link").inner_text().strip()
    assert link.startswith(f"{server}/c/")
    page.wait_for_selector("text=Preliminary automatic diagnosis", timeout=60_000)
    page.screenshot(path=str(shots / "03-owner-preliminary.png"), full_page=True)
    assert page.locator("#status").inner_text() == "diagnosed"
    case_pk = link.split("/c/")[1].split("?")[0]

    # -- the engineer ---------------------------------------------------------------------------
    eng_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    eng = eng_ctx.new_page()
    eng.goto(f"{server}/queue")
    eng.wait_for_url(re.compile(r"/login"))
    eng.fill("input[name=email]", ENGINEER_EMAIL)
    eng.fill("input[name=password]", ENGINEER_PASSWORD)
    eng.click("button:has-text('Log in')")
    eng.wait_for_url(re.compile(r"/queue"))
    eng.screenshot(path=str(shots / "04-engineer-queue.png"), full_page=True)
    eng.click(f"a[href='/cases/{case_pk}']")
    eng.wait_for_url(re.compile(rf"/cases/{case_pk}"))
    cited = eng.locator("tr.cited")
    assert cited.count() > 0, "the evidence viewer highlights the cited lines"
    eng.locator(".findings a").first.click()
    eng.screenshot(path=str(shots / "05-engineer-case.png"), full_page=False)
    eng.select_option("#outcome", "replace")
    eng.select_option("#primary_cause", "weak_cell")
    eng.select_option("#mod0_verdict", "replace")
    eng.fill("input[name=mod0_causes]", "weak_cell")
    # module 2's DIP verdict (reconfigure) would outrank "replace" (the spec's precedence): the engineer
    # clears it, having checked the switches with the owner; keeping it makes the form refuse the outcome
    eng.select_option("#mod1_verdict", "ok")
    eng.fill("input[name=mod1_causes]", "")
    eng.select_option("select[name=new_code]", "weak_cell")
    eng.fill("input[name=new_module]", "1")
    eng.select_option(
        "select[name=new_source]",
        "console/bat_balancing_imbalance__US2000C__GPollakDiener_Pylontech-Battery-Investigation_20260713.txt",
    )
    eng.fill("input[name=new_line]", "3")
    eng.fill("textarea[name=new_message]", "Cell 12 keeps lagging over two days: a weak cell.")
    eng.fill("#spec_work", "Isolate module 1 and swap it for a matched US2000C")
    eng.fill("#spec_parts", "US2000C module, same firmware")
    eng.fill("#spec_checks", "pwr lists 4 modules\nbat 1 cell spread under 30 mV at 100% SOC")
    eng.fill("#note", "weak cell rather than plain imbalance")
    eng.locator("#review").screenshot(path=str(shots / "05b-engineer-amend-form.png"))
    # an outcome below module 1's verdict is refused: the page comes back with every edit still in place
    eng.select_option("#outcome", "monitor")
    eng.click("#save")
    eng.wait_for_selector("#review-error")
    assert "module 1 has verdict replace" in eng.locator("#review-error").inner_text()
    assert eng.input_value("#outcome") == "monitor"
    assert eng.input_value("#note") == "weak cell rather than plain imbalance"
    assert eng.input_value("#spec_checks") == "pwr lists 4 modules\nbat 1 cell spread under 30 mV at 100% SOC"
    assert eng.input_value("input[name=new_line]") == "3"
    assert eng.input_value("#mod1_verdict") == "ok"
    eng.select_option("#outcome", "replace")
    eng.click("#save")
    eng.wait_for_selector("text=Diagnosis v2")
    assert eng.locator(".error-box").count() == 0
    eng.fill("#note", "signed off after phone call with owner")
    eng.on("dialog", lambda dialog: dialog.accept())  # sign-off asks for confirmation
    eng.click("#sign-off")
    eng.wait_for_selector("text=signed off")
    eng.screenshot(path=str(shots / "06-engineer-signed-off.png"), full_page=True)
    history = eng.locator("table.history tbody tr")
    assert history.count() == 2
    assert ENGINEER_EMAIL in history.nth(0).inner_text()

    # -- the owner again ------------------------------------------------------------------------
    page.goto(link)
    page.wait_for_selector("text=Signed-off report")
    assert "PRELIMINARY" not in page.content()
    page.screenshot(path=str(shots / "07-owner-signed-off.png"), full_page=True)
    page.click("text=Open the report")
    page.wait_for_load_state()
    assert page.url.startswith(f"{server}/c/{case_pk}/report.html")
    page.screenshot(path=str(shots / "08-report.png"), full_page=False)
    pdf = page.request.get(f"{server}/c/{case_pk}/report.pdf?token={link.split('token=')[1]}")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    assert external == [], f"the pages loaded nothing from outside: {external}"
    doc = httpx.get(f"{server}/api/cases/{case_pk}/diagnosis?token={link.split('token=')[1]}").json()
    assert doc["outcome"] == "replace" and doc["on_site_spec"]["parts"] == ["US2000C module, same firmware"]
    case = httpx.get(f"{server}/api/cases/{case_pk}?token={link.split('token=')[1]}").json()
    assert [m.get("led") for m in case["observations"]["stack"]] == ["green_flashing"] * 2 + [
        "amber",
        "green_flashing",
    ]
    # only module 2's switch was touched (read); the others are stored as not read, not as 0000
    assert [m.get("dip") for m in case["observations"]["stack"]] == [None, "0001", None, None]
