"""Browser test helpers: a real ``uvicorn`` server in a thread, Debian's Chromium through Playwright, and the
checks every page gets (no sideways scroll, axe-core's WCAG 2.1 AA rules, human titles, and for owner pages
no internal terms).

axe-core comes from the npm registry, pinned in ``package-lock.json`` and installed by ``scripts/setup.sh``
into ``node_modules/``; it is injected into each page under test. The figures of every run are appended to
``$PYLONDIAG_UX_REPORT`` (JSON lines) when that is set, for the notes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from _service_helpers import free_port

from pylondiag.service.app import create_app
from pylondiag.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
SIZES: dict[str, dict[str, int]] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}

FORBIDDEN = re.compile(
    r"case\.yaml|stack\[|\bp\s*=\s*[\d.]|\.md\b|\b(?:console|inverter|can|rs485|photos|shared|examples|src)/"
    r"|\bconfidence,?\s+\d|\b(?:HIGH|MEDIUM|LOW)\b(?=\))|Fisher|\b[a-z]+_[a-z_]+\b"
)
"""Internal terms an owner must never read: repository and case paths, ``case.yaml`` and its keys,
statistics, confidence figures and tags, snake_case codes (``cell_imbalance``, ``under_temperature``)."""


def forbidden_terms(text: str) -> list[str]:
    """The internal terms in ``text`` (links, which carry random tokens, are left out)."""
    text = re.sub(r"https?://\S+", "", text)
    return sorted({m.group(0) for m in FORBIDDEN.finditer(text)})


def need_tools() -> None:
    """Skip (fail under CI) when Chromium or axe-core is missing."""
    missing = [str(p) for p in (Path(CHROMIUM), AXE) if not p.exists()]
    if missing:
        msg = f"missing {', '.join(missing)} (scripts/setup.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@dataclass
class Live:
    """A running service: its base URL and the app's context (database, store, worker)."""

    base: str
    settings: Settings
    app: Any

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx


@contextmanager
def live_server(settings: Settings) -> Iterator[Live]:
    """``create_app(settings)`` served by uvicorn on a free port of 127.0.0.1 until the block ends."""
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < end, "the server did not start"
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(20)


@contextmanager
def chromium() -> Iterator[Any]:
    need_tools()
    if not shutil.which(CHROMIUM):
        pytest.skip("no chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, size: str) -> Any:
    """A page at ``size`` (``desktop`` or ``phone``); CSP bypassed only so that axe-core can be injected."""
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    return context.new_page()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    shots = Path(os.environ.get("PYLONDIAG_SCREENSHOTS", "/tmp/pylondiag-ux-shots"))
    shots.mkdir(parents=True, exist_ok=True)
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


AXE_RUN = """async () => {
    const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
    const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
    const where = (n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160);
    return {passes: r.passes.length, incomplete: r.incomplete.length,
            violations: r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                                targets: v.nodes.slice(0, 3).map(where)}))};
}"""

WIDE = """() => {
    const w = document.documentElement.clientWidth + 1;
    const out = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w);
    const clips = (p) => ['auto', 'hidden', 'scroll'].includes(getComputedStyle(p).overflowX);
    const clipped = (e) => {
        for (let p = e.parentElement; p; p = p.parentElement) {
            if (clips(p) && p.getBoundingClientRect().right <= w) return true;
        }
        return false;
    };
    const name = (e) => e.tagName + '.' + e.className + '#' + e.id;
    return out.filter(e => !clipped(e)).slice(0, 6).map(name);
}"""
"""The elements that stick out of the window (not inside a scrolling box that fits), for the message."""


def axe(page: Any) -> dict[str, Any]:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page: violations by impact, and each violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(AXE_RUN)
    return result


def check_page(page: Any, name: str, *, owner: bool = False, title_has: str | None = None) -> dict[str, Any]:
    """The checks every page gets. Returns axe-core's figures; appends them to ``$PYLONDIAG_UX_REPORT``."""
    page.wait_for_load_state()
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(WIDE)
    assert width[0] <= width[1], (
        f"{name}: scrolls sideways ({width[0]} px wide in a {width[1]} px window): {wide}"
    )
    title = page.title()
    assert title and not re.search(r"\b[A-Za-z0-9_-]{16}\b", title), (
        f"{name}: title {title!r} names no human thing"
    )
    if title_has:
        assert title_has in title, f"{name}: title {title!r} lacks {title_has!r}"
    if owner:
        text = page.inner_text("body")
        terms = forbidden_terms(text)
        where = [text[max(0, text.find(t) - 80) : text.find(t) + 40] for t in terms]
        assert not terms, f"{name}: internal terms on an owner page: {terms} in {where}"
    figures = axe(page)
    serious = [v for v in figures["violations"] if v["impact"] in ("serious", "critical")]
    report = os.environ.get("PYLONDIAG_UX_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps({"page": name, "url": page.url.split("?")[0], **figures}) + "\n")
    assert not serious, f"{name}: axe-core serious/critical violations: {json.dumps(serious, indent=1)}"
    return figures
