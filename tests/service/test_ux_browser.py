"""The service as owners and engineers live it, in Debian's Chromium at desktop (1280 px) and phone (390 px)
sizes: every page gets the common checks of ``_browser.check_page`` (no sideways scroll, axe-core WCAG 2.1 AA
with no serious or critical violation, a human page title; owner pages: no internal terms)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import Live, check_page, chromium, forbidden_terms, live_server, new_page, screenshot
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, IMBALANCE_CAPTURE, TEST_LIMITS

from pylondiag.service.commands import create_user
from pylondiag.service.settings import Settings

pytestmark = [pytest.mark.browser]

SIZES = ["desktop", "phone"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("ux") / "data"
    settings = Settings(data_dir=data, limits=TEST_LIMITS)
    create_user(settings, ENGINEER_EMAIL, "engineer", ENGINEER_PASSWORD)
    with live_server(settings) as server:
        yield server


def login(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", ENGINEER_EMAIL)
    page.fill("input[name=password]", ENGINEER_PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r"/queue"))


def fill_intake(page: Any, base: str, capture: Path, *, amber: int = 3) -> None:
    """The owner describes a 4-module stack, module ``amber`` with its alarm light, module 2's switch read."""
    page.goto(f"{base}/new?modules=4")
    page.fill("input[name=observed_at]", "2026-07-13T09:00")
    page.fill("input[name=site_location]", "garage")
    for i in range(1, 5):
        module = page.locator(f"#module-{i}")
        module.locator(f"select[name=m{i}_model]").select_option("US2000C")
        led = "amber" if i == amber else "green_flashing"
        module.locator(f"label.led-choice:has(input[value={led}])").click()
    page.locator("#module-1 input[name=m1_role][value=master]").check()
    page.locator("#module-2 label.dip-sw").nth(3).click()  # switch 4 up: the owner read this one
    page.set_input_files("input[name=up_console]", str(capture))


def submit_and_wait(page: Any) -> str:
    page.click("button:has-text('Submit the case')")
    page.wait_for_url(re.compile(r"/c/[\w-]+\?token=[\w-]+"))
    page.wait_for_selector("#diagnosis", timeout=90_000)
    return str(page.url)


@pytest.mark.parametrize("size", SIZES)
def test_owner_intake_to_preliminary_report(
    live: Live, browser: Any, size: str, captures_dir: Path, tmp_path: Path
) -> None:
    page = new_page(browser, size)
    for path, name in (("/", "home"), ("/new", "start"), ("/login", "login")):
        page.goto(live.base + path)
        check_page(page, f"{name}-{size}", owner=True)
    fill_intake(page, live.base, captures_dir / IMBALANCE_CAPTURE)
    check_page(page, f"intake-{size}", owner=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, f"intake-{size}")
    # four modules fit a sensible height: the LED choices sit in rows, not a column of six per module
    assert height < (6500 if size == "phone" else 4200), f"the 4-module intake is {height} px tall"
    url = submit_and_wait(page)
    check_page(page, f"owner-preliminary-{size}", owner=True, title_has="garage")
    screenshot(page, f"owner-preliminary-{size}")

    # 1: the module the owner saw in alarm is answered on page one, and page one does not contradict itself
    answer = page.locator("#leds-reported li[data-led-position='3']")
    assert answer.count() == 1
    assert "Module 3" in answer.inner_text() and "Answer:" in answer.inner_text()
    body = page.inner_text("#diagnosis")
    assert not ("No module is faulty" in body and "Module concerned" in body)

    # 2: only module 2's switch was read; the others are stored as not read, not as 0000
    pk, token = re.search(r"/c/([\w-]+)\?token=([\w-]+)", url).groups()  # type: ignore[union-attr]
    case = httpx.get(f"{live.base}/api/cases/{pk}", headers={"Authorization": f"Bearer {token}"}).json()
    stack = case["observations"]["stack"]
    assert [m.get("dip") for m in stack] == [None, "0001", None, None]
    assert [m.get("led") for m in stack] == ["green_flashing", "green_flashing", "amber", "green_flashing"]
    assert "role" not in stack[1] and "installed" not in stack[0]

    # 5: the owner reads the preliminary report, stack drawing included, PRELIMINARY on every PDF page
    page.click("text=Open the preliminary report")
    page.wait_for_selector("#outcome")
    assert page.locator("#stack ol.stack li.module").count() == 4
    assert "PRELIMINARY" in page.inner_text("#preliminary")
    page_one = page.evaluate(
        "[...document.querySelectorAll('#outcome, #leds-reported, #stack, #safety, #actions, "
        "#next-evidence')].map(e => e.innerText).join('\\n')"
    )
    assert "Module 3" in page_one
    assert not forbidden_terms(page_one), forbidden_terms(page_one)
    check_page(page, f"report-preliminary-{size}")
    screenshot(page, f"report-preliminary-{size}", full_page=False)
    pdf = httpx.get(f"{live.base}/c/{pk}/report.pdf?token={token}", timeout=180)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True
    )
    pages = [p for p in text.stdout.split("\f") if p.strip()]
    assert pages and all("PRELIMINARY" in p for p in pages)


@pytest.mark.parametrize("size", SIZES)
def test_engineer_pages(live: Live, browser: Any, size: str, captures_dir: Path) -> None:
    owner = new_page(browser, size)
    fill_intake(owner, live.base, captures_dir / IMBALANCE_CAPTURE, amber=2)
    url = submit_and_wait(owner)
    pk = re.search(r"/c/([\w-]+)", url).group(1)  # type: ignore[union-attr]
    page = new_page(browser, size)
    login(page, live.base)
    check_page(page, f"queue-{size}")
    screenshot(page, f"queue-{size}")
    page.goto(f"{live.base}/cases/{pk}")
    check_page(page, f"engineer-case-{size}", title_has="garage")
    screenshot(page, f"engineer-case-{size}")
    page.goto(f"{live.base}/c/{pk}/report.html")
    check_page(page, f"report-engineer-preview-{size}")
    page.goto(f"{live.base}/cases/nonexistent-case")
    check_page(page, f"error-{size}")


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, list[tuple[str, str]]]]:
    """Every example case submitted and diagnosed (no report pre-rendering: the views render on demand)."""
    from pylondiag.service.commands import load_demo

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("examples") / "data", limits=TEST_LIMITS, run_worker=False
    )
    with live_server(settings) as server:
        _, links = load_demo(settings, server.base)
        assert server.ctx.worker.drain(timeout=300)
        yield server, links


@pytest.mark.parametrize("size", SIZES)
def test_every_example_owner_view_is_plain(
    examples: tuple[Live, list[tuple[str, str]]], browser: Any, size: str
) -> None:
    """7 and 8: every example case's owner page and report page one, in words an owner reads, at both sizes;
    axe-core on the first few (the page templates are the same for all)."""
    live, links = examples
    assert len(links) >= 20
    page = new_page(browser, size)
    for n, (name, link) in enumerate(links):
        page.goto(link)
        page.wait_for_selector("#diagnosis")
        text = page.inner_text("body")
        if n < 3:
            check_page(page, f"owner-{name}-{size}", owner=True)
        else:
            assert not forbidden_terms(text), (name, forbidden_terms(text))
            width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (name, width)
        assert "No module is faulty" not in text or "concerned" not in text
        pk, token = re.search(r"/c/([\w-]+)\?token=([\w-]+)", link).groups()  # type: ignore[union-attr]
        page.goto(f"{live.base}/c/{pk}/report.html?token={token}")
        one = page.evaluate(
            "[...document.querySelectorAll('#outcome, #leds-reported, #stack, #safety, #actions, "
            "#next-evidence')].map(e => e.innerText).join('\\n')"
        )
        assert not forbidden_terms(one), (name, forbidden_terms(one))
        assert not ("No module is faulty" in one and "at fault" in one), name
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], (name, "report", width)
        if n < 2:
            check_page(page, f"report-{name}-{size}")
