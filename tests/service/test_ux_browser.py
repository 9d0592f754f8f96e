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
from _service_helpers import ENGINEER_EMAIL, ENGINEER_PASSWORD, IMBALANCE_CAPTURE, TEST_LIMITS, wait_for

from pylondiag.service.commands import create_user
from pylondiag.service.settings import Settings

pytestmark = [pytest.mark.browser]

PWR_CAPTURE = "bat_1__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt"

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
    assert height < (6800 if size == "phone" else 4800), f"the 4-module intake is {height} px tall"
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


# -- 3, 4, 6: add evidence later, hear back by mail, refuse junk and keep work -----------------------------
class Inbox:
    """Messages a real SMTP server (aiosmtpd, on 127.0.0.1) received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    from _service_helpers import free_port
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Inbox, int]) -> Iterator[Live]:
    """A service that mails through the test SMTP server, checking the outbox every 0.2 s."""
    from dataclasses import replace

    from pylondiag.service.mail_settings import SmtpSettings

    data = tmp_path_factory.mktemp("mail") / "data"
    settings = Settings(
        data_dir=data,
        limits=TEST_LIMITS,
        smtp=replace(SmtpSettings(), host="127.0.0.1", port=smtp[1], poll_s=0.2, retry_base_s=0.2),
    )
    create_user(settings, ENGINEER_EMAIL, "engineer", ENGINEER_PASSWORD)
    with live_server(settings) as server:
        yield server


def mails_to(inbox: Inbox, address: str, count: int) -> list[Any]:
    wait_for(lambda: len([m for m in inbox.messages if m["To"] == address]) >= count, timeout=60)
    return [m for m in inbox.messages if m["To"] == address]


@pytest.mark.parametrize("size", SIZES)
def test_owner_hears_back_by_mail_and_adds_evidence(
    mailing: Live, smtp: tuple[Inbox, int], browser: Any, size: str, captures_dir: Path
) -> None:
    inbox, _ = smtp
    address = f"owner-{size}@example.org"
    page = new_page(browser, size)
    fill_intake(page, mailing.base, captures_dir / IMBALANCE_CAPTURE)
    page.set_input_files("input[name=up_console]", [])
    page.fill("input[name=contact_name]", f"Jo Owner {size}")
    page.fill("input[name=contact_email]", "not an address")
    page.click("#submit-case")
    # 4: the address is validated next to its field; nothing is lost
    page.wait_for_selector("#err-contact_email")
    check_page(page, f"intake-refused-email-{size}", owner=True)
    assert page.input_value("input[name=site_location]") == "garage"
    page.fill("input[name=contact_email]", address)
    page.click("#submit-case")
    page.wait_for_url(re.compile(r"/c/[\w-]+\?token=[\w-]+"))
    link = page.locator("#private-link").inner_text().strip()
    assert "keep this private link" in page.inner_text("#keep-link").lower()
    assert page.locator("#copy-link").is_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-link")
    page.wait_for_selector("#copy-done:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.wait_for_selector("#diagnosis", timeout=90_000)
    check_page(page, f"owner-with-mail-{size}", owner=True)
    assert address not in page.inner_text("body")  # only masked, and never to other owners

    first = mails_to(inbox, address, 1)
    assert len(first) == 1 and "preliminary diagnosis is ready" in first[0]["Subject"]
    assert link in first[0].get_content()

    # 3: more evidence through the private page; stored, versioned, diagnosed again, changes shown
    pk, token = re.search(r"/c/([\w-]+)\?token=([\w-]+)", link).groups()  # type: ignore[union-attr]
    before = httpx.get(f"{mailing.base}/api/cases/{pk}", headers={"Authorization": f"Bearer {token}"}).json()
    version = before["diagnosis_version"]
    assert version >= 1 and before["files"][0].get("added_in") == 0
    more = [captures_dir / IMBALANCE_CAPTURE.replace("20260713", "20260714"), captures_dir / PWR_CAPTURE]
    page.goto(link)
    page.set_input_files("#add-up_console", [str(p) for p in more])
    check_page(page, f"owner-add-evidence-{size}", owner=True)
    page.click("#add-submit")
    page.wait_for_selector("#what-changed, #add-error")
    assert page.locator("#add-error").count() == 0, page.inner_text("#add-error")

    # the page reloads itself when the new diagnosis is in (app.js watches; no timed refresh)
    page.wait_for_function(
        "() => !document.querySelector('[data-watch-seconds]')"
        " && !(document.querySelector('#what-changed')?.innerText || '').includes('being diagnosed again')",
        timeout=90_000,
    )
    changed = page.inner_text("#what-changed")
    assert more[0].name in changed and ("diagnosis" in changed.lower())
    check_page(page, f"owner-what-changed-{size}", owner=True)
    screenshot(page, f"owner-what-changed-{size}")
    after = httpx.get(f"{mailing.base}/api/cases/{pk}", headers={"Authorization": f"Bearer {token}"}).json()
    assert after["diagnosis_version"] == version + 1
    assert sorted(f["path"] for f in after["files"] if f["added_in"] == 1) == sorted(
        f"console/{p.name}" for p in more
    )
    assert "contact_email" not in after  # the owner's view of the API never carries the address

    # the API path of the spec: same files again add nothing; a new one adds a version
    again = httpx.post(
        f"{mailing.base}/api/cases/{pk}/files",
        headers={"Authorization": f"Bearer {token}"},
        files={f"console/{more[0].name}": (more[0].name, more[0].read_bytes(), "text/plain")},
    )
    assert again.status_code == 200 and again.json()["files"] == []
    empty = httpx.post(
        f"{mailing.base}/api/cases/{pk}/files",
        headers={"Authorization": f"Bearer {token}"},
        files={"console/empty.txt": ("empty.txt", b"", "text/plain")},
    )
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    assert (
        httpx.post(
            f"{mailing.base}/api/cases/{pk}/files", files={"console/x.txt": ("x", b"pwr", "text/plain")}
        ).status_code
        == 404
    )

    # the engineer sees the address; signing off mails the owner the link again
    eng = new_page(browser, size)
    eng.on("dialog", lambda d: d.accept())
    login(eng, mailing.base)
    eng.goto(f"{mailing.base}/cases/{pk}")
    assert address in eng.inner_text("body")
    eng.fill("#note", "checked with the owner")
    eng.click("#sign-off")
    eng.wait_for_selector("#reopen")
    second = mails_to(inbox, address, 2)
    assert "signed off" in second[1]["Subject"] and link in second[1].get_content()
    from sqlalchemy import select

    from pylondiag.service.db.models import OutboxMail

    def outbox() -> list[OutboxMail]:
        with mailing.ctx.db.session() as session:
            return list(session.scalars(select(OutboxMail).where(OutboxMail.case_pk == pk)).all())

    # the mailer marks a mail sent once the SMTP server has taken it: the inbox can hold it a moment before
    # the row says so (seen once in a fresh-clone run: {'ready', 'sent'})
    wait_for(lambda: {r.state for r in outbox()} == {"sent"}, timeout=30)
    assert all(r.body is None for r in outbox())  # no link left


def test_mail_is_retried_when_smtp_is_down_and_never_blocks(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    """4: with the SMTP server unreachable the submission answers at once; the mail waits and is sent
    once the server is there (the outbox row is retried)."""
    import time
    from dataclasses import replace

    from _service_helpers import FOUR_MODULE_CASE, free_port

    from pylondiag.service.db.models import OutboxMail
    from pylondiag.service.mail import Mailer
    from pylondiag.service.mail_settings import SmtpSettings

    dead = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        limits=TEST_LIMITS,
        smtp=replace(SmtpSettings(), host="127.0.0.1", port=dead, poll_s=0.1, retry_base_s=0.1, timeout_s=1),
    )
    with live_server(settings) as server:
        t0 = time.monotonic()
        r = httpx.post(
            f"{server.base}/api/cases",
            data={"case_yaml": FOUR_MODULE_CASE, "contact_email": "late@example.org"},
        )
        assert r.status_code == 201 and time.monotonic() - t0 < 5
        bad = httpx.post(
            f"{server.base}/api/cases", data={"case_yaml": FOUR_MODULE_CASE, "contact_email": "nope"}
        )
        assert bad.status_code == 422 and "contact_email" in bad.json()["detail"]

        def tried() -> bool:
            with server.ctx.db.session() as session:
                return any(m.attempts >= 2 and m.state == "ready" for m in session.query(OutboxMail).all())

        wait_for(tried, 60)
        server.ctx.mailer.stop()  # the SMTP server "comes back": a mailer that reaches it takes over
        inbox, port = smtp
        back = Mailer(server.ctx.db, replace(settings.smtp, port=port))
        wait_for(lambda: back.send_due() > 0, 60)
        got = [m for m in inbox.messages if m["To"] == "late@example.org"]
        assert len(got) == 1 and "preliminary diagnosis is ready" in got[0]["Subject"]


def case_count(live: Live) -> int:
    from pylondiag.service.db.models import CaseRecord

    with live.ctx.db.session() as session:
        return session.query(CaseRecord).count()


@pytest.mark.parametrize("size", SIZES)
def test_junk_is_refused_and_work_is_kept(
    live: Live, browser: Any, size: str, captures_dir: Path, tmp_path: Path
) -> None:
    """6: an empty form, a 0-byte file and the same form twice make no case; after a refusal every typed
    value and every good file is kept, the message is next to the field and at the top; leaving warns."""
    page = new_page(browser, size)
    n0 = case_count(live)
    page.goto(f"{live.base}/new?modules=2")
    page.click("#submit-case")
    page.wait_for_selector("#form-errors")
    assert "form is empty" in page.inner_text("#form-errors")
    assert case_count(live) == n0
    check_page(page, f"intake-empty-refused-{size}", owner=True)

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    page.goto(f"{live.base}/new?modules=2")
    page.fill("input[name=site_location]", "loft")
    page.fill("input[name=m1_serial]", "PPTBH0123")
    page.locator("#module-1 label.led-choice:has(input[value=red])").click()
    page.fill("input[name=site_ambient_c]", "hot")  # not a number: refused next to the field
    page.set_input_files("input[name=up_console]", str(captures_dir / IMBALANCE_CAPTURE))
    page.set_input_files("input[name=up_inverter]", str(empty))  # 0 bytes: refused, the capture kept
    page.click("#submit-case")
    page.wait_for_selector("#form-errors")
    assert case_count(live) == n0
    top = page.inner_text("#form-errors")
    assert "empty (0 bytes)" in top and "Room temperature" in top
    assert page.locator("#err-site_ambient_c").is_visible() and page.locator("#err-up_inverter").is_visible()
    assert page.get_attribute("input[name=site_ambient_c]", "aria-invalid") == "true"
    assert page.input_value("input[name=site_location]") == "loft"
    assert page.input_value("input[name=m1_serial]") == "PPTBH0123"
    assert page.locator("input[name=m1_led][value=red]").is_checked()
    held = page.locator("#held-files input[name=keep_held]")
    assert held.count() == 1 and held.first.is_checked()
    check_page(page, f"intake-refused-{size}", owner=True)
    screenshot(page, f"intake-refused-{size}")

    # leaving the filled form asks first
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.fill("input[name=site_ambient_c]", "31")
    page.evaluate("window.location.href = '/'")
    page.wait_for_timeout(500)
    page.remove_listener("dialog", dismiss)
    assert asked == ["beforeunload"] and "/new" in page.url

    # the same form sent twice at once (a double click, the back button): one case, the same answer
    urls = page.evaluate(
        """async () => {
        const form = document.getElementById('intake');
        const send = () => fetch('/new', {method: 'POST', body: new FormData(form)});
        const [a, b] = await Promise.all([send(), send()]);
        return [a.url, b.url];
    }"""
    )
    assert case_count(live) == n0 + 1
    assert urls[0].split("&")[0] == urls[1].split("&")[0]
    page.click("#submit-case")  # and once more from the browser
    page.wait_for_url(re.compile(r"/c/[\w-]+\?token=[\w-]+"))
    assert page.url.split("&")[0] == urls[0].split("&")[0] and case_count(live) == n0 + 1
    pk, token = re.search(r"/c/([\w-]+)\?token=([\w-]+)", page.url).groups()  # type: ignore[union-attr]
    case = httpx.get(f"{live.base}/api/cases/{pk}", headers={"Authorization": f"Bearer {token}"}).json()
    assert [f["path"] for f in case["files"]] == ["case.yaml", f"console/{IMBALANCE_CAPTURE}"]
    assert case["observations"]["site"]["ambient_c"] == 31


# -- 10, 11: engineers amend and sign off safely; a queue that scales --------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_engineer_amends_signs_off_with_confirmation_and_reopens(
    live: Live, browser: Any, size: str, captures_dir: Path
) -> None:
    owner = new_page(browser, size)
    fill_intake(owner, live.base, captures_dir / IMBALANCE_CAPTURE, amber=4)
    pk = re.search(r"/c/([\w-]+)", submit_and_wait(owner)).group(1)  # type: ignore[union-attr]
    page = new_page(browser, size)
    login(page, live.base)
    page.goto(f"{live.base}/cases/{pk}")
    # a number that is not one: refused in the service's own words, the field marked and scrolled to
    page.fill("input[name=f0_confidence]", "very")
    page.click("#save")
    page.wait_for_selector("#review-error")
    message = page.inner_text("#review-error")
    assert "Finding 1 confidence: 'very' is not a decimal number" in message
    assert "pydantic" not in message and "errors.pydantic.dev" not in page.content()
    field = page.locator("input[name=f0_confidence]")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "f0_confidence"
    box = field.bounding_box()
    assert box is not None and 0 <= box["y"] <= SIZES_PX[size]  # on screen
    check_page(page, f"engineer-refused-{size}")
    screenshot(page, f"engineer-refused-{size}", full_page=False)
    # an outcome the verdicts do not allow: the outcome field is the one marked
    page.fill("input[name=f0_confidence]", "0.9")
    page.select_option("#outcome", "no_fault")
    page.click("#save")
    page.wait_for_selector("#review-error")
    marked = page.locator("[aria-invalid=true]")
    assert marked.count() >= 1, page.inner_text("#review-error")
    assert marked.first.get_attribute("name") in (
        "outcome",
        "primary_cause",
        "mod0_verdict",
        "mod1_verdict",
        "mod2_verdict",
        "mod3_verdict",
    )
    page.goto(f"{live.base}/cases/{pk}")
    # sign-off asks first; cancelling signs nothing
    accept = [False]
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        (dialog.accept if accept[0] else dialog.dismiss)()

    page.on("dialog", answer)
    page.fill("#note", "looked at it")
    page.click("#sign-off")
    page.wait_for_timeout(300)
    assert page.locator("#reopen").count() == 0 and "Sign off" in asked[0]
    accept[0] = True
    page.click("#sign-off")
    page.wait_for_selector("#reopen, #review-error")
    assert page.locator("#review-error").count() == 0, page.inner_text("#review-error")
    signed_version = int(re.search(r"Diagnosis v(\d+)", page.inner_text("body")).group(1))  # type: ignore[union-attr]
    check_page(page, f"engineer-signed-off-{size}")
    # reopen needs a reason; then a new version, the signed one kept in the history
    page.fill("#reopen-reason", "The owner found a loose link cable")
    page.click("#reopen-button")
    page.wait_for_selector("#review")
    body = page.inner_text("body")
    assert f"Diagnosis v{signed_version + 1}" in body and "reopened" in body
    history = page.inner_text("table.history")
    assert f"sign off → v{signed_version}" in history and f"reopen → v{signed_version + 1}" in history
    assert "loose link cable" in history
    check_page(page, f"engineer-reopened-{size}")


SIZES_PX = {"desktop": 900, "phone": 844}


@pytest.mark.parametrize("size", SIZES)
def test_queue_filters_searches_pages_and_marks_old_cases(live: Live, browser: Any, size: str) -> None:
    from datetime import timedelta

    from _service_helpers import FOUR_MODULE_CASE

    from pylondiag.service.db.models import CaseRecord, utcnow

    made = []
    for k in range(3):
        text = FOUR_MODULE_CASE.replace('case_id: "test-four"', f'case_id: "queue-{size}-{k}"').replace(
            "location: garage", f"location: barn {size} {k}"
        )
        r = httpx.post(f"{live.base}/api/cases", data={"case_yaml": text})
        assert r.status_code == 201
        made.append(r.json()["id"])
    with live.ctx.db.session() as session:  # the first one has waited four days
        session.get(CaseRecord, made[0]).created_at = utcnow() - timedelta(days=4)
    page = new_page(browser, size)
    login(page, live.base)
    page.goto(f"{live.base}/queue?q=barn+{size}")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 3
    assert "waiting long" in rows.nth(0).inner_text() and "old" in (rows.nth(0).get_attribute("class") or "")
    assert "waiting long" not in rows.nth(1).inner_text()
    check_page(page, f"queue-search-{size}")
    screenshot(page, f"queue-search-{size}")
    page.goto(f"{live.base}/queue?q=queue-{size}-2")
    assert page.locator("table.queue tbody tr").count() == 1
    page.select_option("select[name=status]", "signed_off")
    page.click("form.filters button")
    assert page.locator("table.queue tbody tr").count() == 0
    # paging: one case per page
    from dataclasses import replace

    live.ctx.settings = replace(live.ctx.settings, queue_page_size=1)
    try:
        page.goto(f"{live.base}/queue?q=barn+{size}")
        assert page.locator("table.queue tbody tr").count() == 1 and "Page 1 of 3" in page.inner_text(
            ".pager"
        )
        page.click("a[rel=next]")
        assert "Page 2 of 3" in page.inner_text(".pager")
        check_page(page, f"queue-paged-{size}")
    finally:
        live.ctx.settings = replace(live.ctx.settings, queue_page_size=25)


def test_a_waiting_page_shows_the_diagnosis_by_itself(
    browser: Any, captures_dir: Path, tmp_path: Path
) -> None:
    """No timed refresh while the diagnosis runs (axe's meta-refresh rule, WCAG 2.2.1): the owner's page
    looks again every few seconds and reloads itself once a separate worker has diagnosed the case; a page
    with a file chosen but not sent is not reloaded, it says the diagnosis is ready instead."""
    import sys

    settings = Settings(data_dir=tmp_path / "data", limits=TEST_LIMITS, run_worker=False)
    with live_server(settings) as live:
        page = new_page(browser, "desktop")
        fill_intake(page, live.base, captures_dir / IMBALANCE_CAPTURE)
        page.click("button:has-text('Submit the case')")
        page.wait_for_url(re.compile(r"/c/[\w-]+\?token=[\w-]+"))
        assert page.locator("[data-watch-seconds]").count() == 1 and page.locator("#diagnosis").count() == 0
        check_page(page, "owner-waiting-desktop", owner=True)  # fails on a <meta http-equiv=refresh>
        busy = new_page(browser, "desktop")
        busy.goto(page.url)
        busy.set_input_files("#add-up_console", str(captures_dir / PWR_CAPTURE))  # chosen, not sent
        for p in (page, busy):
            p.evaluate("window.notReloaded = true")
        data = str(settings.data_dir)
        worker = [sys.executable, "-m", "pylondiag.cli", "worker", "--once", "--data-dir", data]
        subprocess.run(worker, check=True, capture_output=True, timeout=120)
        page.wait_for_selector("#diagnosis", timeout=60_000)  # no reload by the test
        assert page.evaluate("window.notReloaded") is None  # it reloaded itself
        assert page.locator("[data-watch-seconds]").count() == 0
        busy.wait_for_function(
            "() => (document.getElementById('watch-note')?.textContent || '').includes('diagnosis is ready')",
            timeout=60_000,
        )
        assert busy.evaluate("window.notReloaded") is True
        assert busy.eval_on_selector("#add-up_console", "e => e.files.length") == 1
