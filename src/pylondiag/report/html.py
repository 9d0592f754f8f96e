"""The HTML report: one self-contained file (inline CSS and SVG, no network fetches).

Page one is for the owner (outcome, the stack as it stands, what to do now, safety, what to send
next); the rest is the evidence for the engineer and, when work on site is needed, the on-site
specification. Templates are Jinja2 with autoescape on: no user text reaches the page unescaped.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis, EvidenceRef, Finding, Verdict
from pylondiag.model.stack import CaseView
from pylondiag.report import charts
from pylondiag.report.data import ReportData
from pylondiag.report.onsite import on_site_section, safety_lines
from pylondiag.report.plain import led_answers, owner_text
from pylondiag.report.view import from_view
from pylondiag.report.words import (
    OUTCOME_HEADLINE,
    OUTCOME_MEANING,
    OUTCOME_TONE,
    SEVERITY_TONE,
    THERMAL_CAUSES,
    VERDICT_LABEL,
    VERDICT_TONE,
    cause_label,
    led_label,
)

_TICKS: Final = re.compile(r"`([^`\n]+)`")
_CSS_SAFE: Final = re.compile(r"[^A-Za-z0-9@._+ -]")


def codeticks(text: str) -> Markup:
    """Escape ``text``, then show the diagnosis' `backticked` console commands as code."""
    return Markup(_TICKS.sub(r"<code>\1</code>", str(escape(text))))


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("pylondiag.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ticks"] = codeticks
    env.filters["plain"] = owner_text
    return env


PRELIMINARY_TEXT: Final = "PRELIMINARY — automatic diagnosis, not yet reviewed by an engineer"
"""The banner of a report an engineer has not signed off (page one; the PDF repeats it on every page)."""


@dataclass(frozen=True)
class SignOff:
    """Who reviewed the diagnosis and signed the report off, and when."""

    engineer: str
    at: datetime


@dataclass(frozen=True)
class StackRow:
    position: int
    address: int | None
    model: str | None
    led: str | None
    led_label: str
    verdict: str
    verdict_label: str
    tone: str
    causes: tuple[str, ...]
    culprit: bool
    role: str | None
    group: int | None
    dip: str | None
    notes: str | None


def render_html(
    diagnosis: Diagnosis,
    view: CaseView | ReportData | None = None,
    *,
    generated_at: datetime | None = None,
    preliminary: bool = False,
    signed_off: SignOff | None = None,
    png_charts: bool = False,
    stylesheet: bool = True,
) -> str:
    """The report as one HTML document.

    ``view`` is the case's normalized ``CaseView`` (or already-flattened :class:`ReportData`); without it
    the report shows what the diagnosis alone holds (no charts, no raw facts). ``preliminary`` puts
    :data:`PRELIMINARY_TEXT` on page one and in every PDF page header; ``signed_off`` names the engineer
    and the time of the sign-off (a report is one or the other, never both). ``png_charts``: charts as
    PNG images instead of inline SVG (the PDF's layout: see :class:`charts.Chart`). ``stylesheet=False``
    leaves :func:`stylesheet_text` out of the ``<style>`` (the PDF hands it to WeasyPrint parsed once).
    """
    if preliminary and signed_off is not None:
        raise PylondiagError("a report is either preliminary or signed off, not both")
    data = _PREPARED.data(view)
    ctx = context(diagnosis, data, generated_at=generated_at, png_charts=png_charts)
    ctx["preliminary"] = PRELIMINARY_TEXT if preliminary else None
    ctx["signed_off"] = signed_off
    ctx["signed_off_time"] = _utc_minute(signed_off.at) if signed_off else None
    # the PDF's page footer is a CSS string: only characters that cannot end or escape it
    ctx["signed_off_css"] = _CSS_SAFE.sub("", signed_off.engineer) if signed_off else None
    ctx["stylesheet"] = stylesheet
    return _env().get_template("report.html.j2").render(**ctx)


def stylesheet_text() -> str:
    """The report's stylesheet (``report.css``) as the HTML report's ``<style>`` carries it."""
    return _env().get_template("report.css").render()


def _utc_minute(when: datetime) -> str:
    if when.tzinfo is None:  # naive times from a database are UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def report_data(view: CaseView | ReportData | None) -> ReportData:
    if view is None:
        return ReportData()
    if isinstance(view, ReportData):
        return view
    return from_view(view)


def context(
    diagnosis: Diagnosis, data: ReportData, *, generated_at: datetime | None = None, png_charts: bool = False
) -> dict[str, Any]:
    when = generated_at or datetime.now(UTC)
    culprits = set(diagnosis.culprit_modules)
    return {
        "d": diagnosis,
        "outcome_code": diagnosis.outcome.value,
        "headline": OUTCOME_HEADLINE[diagnosis.outcome],
        "meaning": meaning(diagnosis),
        "led_answers": led_answers(
            ({"position": m.position, "led": m.led} for m in data.modules),
            [m.model_dump(mode="json") for m in diagnosis.modules],
            [f.model_dump(mode="json") for f in diagnosis.findings],
        ),
        "tone": OUTCOME_TONE[diagnosis.outcome],
        "primary_cause": cause_label(diagnosis.primary_cause) if diagnosis.primary_cause else None,
        "stack": stack_rows(diagnosis, data),
        "actions": sorted(diagnosis.actions, key=lambda a: a.step),
        "safety": safety_lines(diagnosis),
        "gaps": diagnosis.evidence_gaps,
        "findings": [finding_view(f) for f in diagnosis.findings],
        "charts": [chart_view(c, png_charts) for c in _PREPARED.charts(diagnosis, data, culprits)],
        "facts": data.modules,
        "data": data,
        "onsite": on_site_section(diagnosis, data),
        "title": human_title(data, when),
        "report_date": when.strftime("%Y-%m-%d"),
        "report_time": when.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "observed_at": data.observed_at.strftime("%Y-%m-%d %H:%M") if data.observed_at else None,
    }


def human_title(data: ReportData, when: datetime) -> str:
    """The report's title: the site and the day it was observed (else made), never a random case id."""
    place = next((v for k, v in data.site if k == "Location"), None)
    day = (data.observed_at or when).strftime("%-d %b %Y")
    return f"Battery diagnosis — {place[:40]} · {day}" if place else f"Battery diagnosis · {day}"


def meaning(diagnosis: Diagnosis) -> str:
    """What the outcome means for the owner, never contradicting the rest of page one: an environment
    outcome that still names a module at fault does not say "no module is faulty"."""
    text = OUTCOME_MEANING[diagnosis.outcome]
    if diagnosis.culprit_modules and text.startswith("No module is faulty. "):
        text = text.removeprefix("No module is faulty. ")
    return text


def stack_rows(diagnosis: Diagnosis, data: ReportData) -> list[StackRow]:
    """Every module, top to bottom (position order): the diagnosis' verdicts with the owner's observations."""
    verdicts = {m.position: m for m in diagnosis.modules}
    positions = sorted(set(verdicts) | {m.position for m in data.modules})
    culprits = set(diagnosis.culprit_modules)
    rows = []
    for pos in positions:
        v = verdicts.get(pos)
        facts = data.module(pos)
        verdict = v.verdict if v else Verdict.OK
        rows.append(
            StackRow(
                position=pos,
                address=(v.address if v and v.address is not None else facts.address if facts else None),
                model=(v.model if v and v.model else facts.model if facts else None),
                led=facts.led if facts else None,
                led_label=led_label(facts.led if facts else None),
                verdict=verdict.value if v else "unknown",
                verdict_label=VERDICT_LABEL[verdict] if v else "not judged",
                tone=VERDICT_TONE[verdict] if v else "unknown",
                causes=tuple(cause_label(c) for c in v.causes) if v else (),
                culprit=pos in culprits,
                role=facts.role if facts else None,
                group=facts.group if facts else None,
                dip=facts.dip if facts else None,
                notes=facts.notes if facts else None,
            )
        )
    return rows


@dataclass(frozen=True)
class FindingView:
    code: str
    label: str
    severity: str
    tone: str
    module: int | None
    confidence_pct: int
    message: str
    evidence: tuple[tuple[str, str | None], ...]
    """(where, quote): ``source:line[-end]`` or ``case.yaml → key``."""


def finding_view(f: Finding) -> FindingView:
    return FindingView(
        code=f.code.value,
        label=cause_label(f.code),
        severity=f.severity.value,
        tone=SEVERITY_TONE[f.severity],
        module=f.module,
        confidence_pct=round(f.confidence * 100),
        message=f.message,
        evidence=tuple((where(e), e.quote) for e in f.evidence),
    )


def where(ref: EvidenceRef) -> str:
    if ref.line is None:
        return f"{ref.source} → {ref.key}"
    span = f"{ref.line}" if ref.end_line in (None, ref.line) else f"{ref.line}–{ref.end_line}"
    return f"{ref.source}, line {span}"


class _Prepared:
    """The flattened data and the drawn charts of the last few reports, reused when the same diagnosis
    and view are rendered again — the HTML and then the PDF of one case (``scripts/demo.sh``, the
    service) draw each chart once. Entries hold the objects themselves, so an identity match is safe
    (both are frozen models); at most :attr:`SIZE` entries are kept.

    Charts with a drawing still to make keep their matplotlib figures (tens of thousands of objects,
    walked by every full garbage collection: four such entries doubled its cost in ``bench/report.py``),
    so such an entry is kept only while it is the newest: the HTML and the PDF of one report come back
    to back, and the service validates a new ``Diagnosis`` for every request (its entries never match)."""

    SIZE: Final = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: list[tuple[object, ReportData]] = []
        self._charts: list[tuple[Diagnosis, ReportData, frozenset[int], list[charts.Chart]]] = []

    def data(self, view: CaseView | ReportData | None) -> ReportData:
        if view is None or isinstance(view, ReportData):
            return report_data(view)
        with self._lock:
            for seen, data in self._data:
                if seen is view:
                    return data
        data = report_data(view)
        with self._lock:
            self._data = [(view, data), *self._data][: self.SIZE]
        return data

    def charts(self, diagnosis: Diagnosis, data: ReportData, culprits: set[int]) -> list[charts.Chart]:
        key = frozenset(culprits)
        with self._lock:
            for d, seen, c, built in self._charts:
                if d is diagnosis and seen is data and c == key:
                    return built
        built = build_charts(diagnosis, data, culprits)
        with self._lock:
            done = [entry for entry in self._charts if all(chart.done for chart in entry[3])]
            self._charts = [(diagnosis, data, key, built), *done][: self.SIZE]
        return built


_PREPARED: Final = _Prepared()


def build_charts(diagnosis: Diagnosis, data: ReportData, culprits: set[int]) -> list[charts.Chart]:
    models = {m.position: m.model for m in data.modules}
    for m in diagnosis.modules:
        models[m.position] = m.model or models.get(m.position)
    thermal = any(f.code in THERMAL_CAUSES for f in diagnosis.findings)
    cited = [(e.source, e.line) for f in diagnosis.findings for e in f.evidence if e.line is not None]
    temp_points = [charts.TemperaturePoint(t, c) for t, c in data.temperature_series]
    temp_points += [
        charts.TemperaturePoint(
            t.time, (t.cell_high_mc if t.cell_high_mc is not None else t.bms_mc or 0) / 1000
        )
        for t in data.temps
        if t.time is not None and (t.cell_high_mc is not None or t.bms_mc is not None)
    ]
    with charts.RENDER_LOCK:
        built = [
            charts.cell_voltage_chart(data.latest_cells(), models=models, culprits=culprits),
            charts.temperature_chart(data.temps, culprits=culprits),
            charts.event_timeline(
                data.events,
                cited=cited,
                temperatures=temp_points,
                overlay_temperature=thermal,
                temperature_readings=data.temperature_readings,
            ),
            charts.counter_chart(data.counters, culprits=culprits),
            charts.rebalance_chart(data.cells),
        ]
    return [c for c in built if c is not None]


def chart_view(chart: charts.Chart, png: bool) -> dict[str, Any]:
    """What the template shows of a chart: title, caption and the drawing (inline SVG, or PNG as an image
    of the same size, described by its ``alt`` text)."""
    if png:
        src = "data:image/png;base64," + base64.b64encode(chart.png()).decode("ascii")
        # image-resolution: the PNG's pixels per CSS pixel, so it prints at the size of the SVG
        drawing = Markup(
            '<img class="chart" src="{}" alt="{}" width="{:.0f}" height="{:.0f}" '
            'style="image-resolution: {:g}dppx">'
        ).format(src, chart.label, chart.width_px, chart.height_px, charts.PNG_DPI / 96)
    else:
        drawing = Markup(chart.svg)
    return {"key": chart.key, "title": chart.title, "caption": chart.caption, "drawing": drawing}
