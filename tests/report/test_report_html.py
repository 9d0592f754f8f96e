"""The HTML report: one self-contained, escaped document with the owner's page and the engineer's evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
import report_samples as samples

from pylondiag.model.diagnosis import Action, Diagnosis, Outcome
from pylondiag.report import render_html
from pylondiag.report.data import ModuleFacts, ReportData, from_console
from pylondiag.report.words import OUTCOME_HEADLINE

URL_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "background", "srcset"}


class Page(HTMLParser):
    """Collects ids, tags, URL-bearing attributes, text, and the classes of each data-position."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.modules: list[tuple[int, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        if "id" in a and tag != "g":
            self.ids.add(a["id"])
        for k, v in a.items():
            if k in URL_ATTRS:
                self.urls.append((tag, k, v))
            if k == "style":
                self.styles.append(v)
        if tag == "li" and "data-position" in a:
            self.modules.append((int(a["data-position"]), a.get("class", "")))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text.append(data)

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def render(builder: Callable[[], tuple[Diagnosis, ReportData]]) -> tuple[Diagnosis, str, Page]:
    d, data = builder()
    html = render_html(d, data, generated_at=samples.GENERATED)
    return d, html, parse(html)


@pytest.mark.parametrize("name", sorted(samples.ALL_OUTCOMES))
def test_every_outcome_has_the_owner_page_and_the_evidence(name: str) -> None:
    d, html, page = render(samples.ALL_OUTCOMES[name])
    for section in ("outcome", "stack", "actions", "safety", "evidence", "findings", "facts", "about"):
        assert section in page.ids, f"{name}: section #{section} missing"
    assert OUTCOME_HEADLINE[d.outcome] in page.plain
    assert f'data-outcome="{d.outcome.value}"' in html
    assert d.case_id in page.plain
    assert ("next-evidence" in page.ids) == bool(d.evidence_gaps)
    for gap in d.evidence_gaps:
        assert gap in page.plain
    needs_site = d.on_site_spec is not None or any(a.on_site for a in d.actions)
    assert ("onsite" in page.ids) == needs_site
    for f in d.findings:
        assert f.message in page.plain
        for ref in f.evidence:
            assert ref.source in page.plain
            if ref.quote:
                assert ref.quote in page.plain


@pytest.mark.parametrize("name", [*sorted(samples.ALL_OUTCOMES), "big"])
def test_self_contained_no_outside_resources(name: str) -> None:
    builder = samples.big_stack if name == "big" else samples.ALL_OUTCOMES[name]
    _, html, page = render(builder)
    for tag, attr, value in page.urls:
        assert value.startswith(("#", "data:")), f"<{tag} {attr}={value[:60]!r}> points outside the file"
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(page.tags)  # <img> only data:
    assert not re.search(r"https?://", html), "an http(s) URL is in the report"
    for css in page.styles:
        assert "@import" not in css
        for url in re.findall(r"url\(([^)]*)\)", css):
            assert url.strip("'\" ").startswith(("#", "data:")), url
    assert html.count("<style>") == 1, "one inline stylesheet"
    assert '<meta name="viewport"' in html, "phone-readable"


def test_ids_are_unique_so_inline_svgs_do_not_collide() -> None:
    _, html, _ = render(samples.big_stack)
    ids = re.findall(r'\sid="([^"]+)"', html)
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes
    for ref in set(re.findall(r'(?:href="#|url\(#)([^")]+)', html)):
        assert ref in ids, f"reference to missing id #{ref}"


def test_stack_is_drawn_top_to_bottom_with_the_culprit_highlighted() -> None:
    d, html, page = render(samples.rebalance)
    assert [p for p, _ in page.modules] == [1, 2, 3, 4]
    culprits = [p for p, cls in page.modules if "culprit" in cls.split()]
    assert culprits == d.culprit_modules == [3]
    item = re.search(r'<li class="module culprit" data-position="3">(.*?)</li>', html, re.S)
    assert item is not None
    assert "US3000C" in item.group(1)
    assert "led-red_flashing" in item.group(1) and "red, flashing" in item.group(1)
    assert "Rebalance" in item.group(1)


def test_actions_are_numbered_in_step_order() -> None:
    d, _, page = render(samples.replace)
    steps = re.findall(r'<span class="step">(\d+)</span>', render_html(d, None))
    assert [int(s) for s in steps] == sorted(a.step for a in d.actions)
    for a in d.actions:
        assert a.text in page.plain
    assert page.plain.count("engineer on site") >= sum(a.on_site for a in d.actions)


def test_safety_box_is_never_empty() -> None:
    d, _ = samples.reconfigure()
    assert d.safety == []
    page = parse(render_html(d, None))
    assert "safety" in page.ids
    assert "Power down the whole stack" in page.plain


def test_without_a_view_only_the_diagnosis_is_shown() -> None:
    d, _ = samples.rebalance()
    page = parse(render_html(d))
    assert "charts" not in page.ids
    assert "Only the diagnosis document was available" in page.plain
    assert [p for p, _ in page.modules] == [m.position for m in d.modules]


def test_charts_follow_the_data() -> None:
    _, _, page = render(samples.rebalance)
    assert {"chart-cells", "chart-temps", "chart-counters"} <= page.ids
    assert "chart-events" not in page.ids  # no events in this case
    _, _, env = render(samples.environment)
    assert "chart-events" in env.ids
    assert "Temperature (orange, right axis) is overlaid" in env.plain
    _, _, big = render(samples.big_stack)
    assert "Cell voltages — stack heatmap" in big.plain


def test_on_site_specification_names_model_matched_part_and_checks() -> None:
    d, _, page = render(samples.replace)
    assert "onsite" in page.ids
    text = page.plain
    assert "1 × US2000C replacement module for position 2" in text
    for item in (*d.on_site_spec.work, *d.on_site_spec.parts, *d.on_site_spec.checks_after):  # type: ignore[union-attr]
        assert item in text


def test_reconfigure_spec_lists_settings_to_change_and_switches_as_found() -> None:
    _, _html, page = render(samples.reconfigure)
    assert "onsite-settings" in page.ids
    assert "More than one master" in page.plain
    assert "Battery protocol" in page.plain  # inverter settings as found
    assert "switches 2–4 = group number" in page.plain


INJECTION = "<script>alert('x')</script>"


def test_user_text_is_escaped_everywhere() -> None:
    d, data = samples.rebalance()
    d = d.model_copy(
        update={
            "case_id": f"C-{INJECTION}",
            "summary": f"summary {INJECTION} `pwr`",
            "actions": [Action(step=1, text=f"do {INJECTION}")],
            "findings": [
                d.findings[0].model_copy(
                    update={
                        "message": f"msg {INJECTION}",
                        "evidence": (d.findings[0].evidence[0].model_copy(update={"quote": INJECTION}),),
                    }
                )
            ],
        }
    )
    evil_modules = [ModuleFacts(position=1, model=INJECTION, notes=INJECTION, led=INJECTION)]
    data = from_console([], modules=evil_modules)
    data = ReportData(**{**data.__dict__, "notes": INJECTION, "inverter": (("Brand", INJECTION),)})
    html = render_html(d, data)
    page = parse(html)
    assert "script" not in page.tags
    assert "<script" not in html.lower()
    assert INJECTION in page.plain  # shown as text, not dropped
    assert "<code>pwr</code>" in html  # backticks become code, after escaping


def test_escaping_holds_inside_chart_svg() -> None:
    d, data = samples.rebalance()
    mods = [
        ModuleFacts(position=m.position, model=INJECTION if m.position == 3 else m.model)
        for m in data.modules
    ]
    data = ReportData(**{**data.__dict__, "modules": tuple(mods)})
    d = d.model_copy(update={"modules": [m.model_copy(update={"model": None}) for m in d.modules]})
    html = render_html(d, data)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html


def test_insufficient_evidence_leads_with_what_to_send() -> None:
    d, html, page = render(samples.insufficient)
    assert d.outcome == Outcome.INSUFFICIENT_EVIDENCE
    assert html.index('id="next-evidence"') < html.index('id="evidence"')
    assert "No modules were described" in page.plain


@pytest.mark.slow
def test_rendering_is_deterministic_and_thread_safe() -> None:
    """The web service renders from several threads; matplotlib's settings are process-wide."""
    from concurrent.futures import ThreadPoolExecutor

    builders = [samples.rebalance, samples.environment, samples.replace, samples.reconfigure] * 2
    inputs = [b() for b in builders]
    sequential = [render_html(d, data, generated_at=samples.GENERATED) for d, data in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda x: render_html(x[0], x[1], generated_at=samples.GENERATED), inputs))
    assert parallel == sequential
