"""The HTML report in a real browser (Debian's Chromium through Playwright): a phone-sized screen shows it
without sideways scrolling of the page, and loading it makes no network request at all."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import report_samples as samples

from pylondiag.report import render_html

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        msg = "Debian's chromium is not installed (scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.parametrize("name", ["rebalance", "big"])
def test_phone_screen_no_page_overflow_and_no_requests(browser: Any, name: str) -> None:
    d, data = samples.big_stack() if name == "big" else samples.rebalance()
    html = render_html(d, data, generated_at=samples.GENERATED)
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_content(html, wait_until="load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    banner = page.locator("#outcome").bounding_box()
    assert banner is not None and banner["y"] < 200 and banner["width"] > 300
    # the charts keep a readable width and scroll inside their own box instead
    chart = page.locator("svg.chart").first.bounding_box()
    assert chart is not None and chart["width"] >= 600
    assert [u for u in requests if not u.startswith(("about:", "data:"))] == []
    page.close()


def test_print_media_puts_stack_and_actions_side_by_side(browser: Any) -> None:
    d, data = samples.rebalance()
    page = browser.new_page(viewport={"width": 794, "height": 1123})
    page.emulate_media(media="print")
    page.set_content(render_html(d, data), wait_until="load")
    stack = page.locator("#stack").bounding_box()
    actions = page.locator("#actions").bounding_box()
    assert stack is not None and actions is not None
    assert actions["x"] > stack["x"] + stack["width"] - 1
    assert abs(actions["y"] - stack["y"]) < 40  # same row (heading margins may differ)
    page.close()
