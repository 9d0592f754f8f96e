"""What the owner's private case page shows, in the owner's words.

The owner sees the outcome in plain words, an answer for every module they reported amber or red, the
modules with what they reported and the verdict, what to do, what to send next and the safety advice.
Internal names (finding codes, confidence, evidence paths, ``case.yaml`` keys, statistics) stay on the
engineer's pages (``report.plain.owner_text`` takes them out of the diagnosis' texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pylondiag.model.diagnosis import Outcome
from pylondiag.report.plain import LedAnswer, led_answers, owner_text
from pylondiag.report.words import OUTCOME_HEADLINE, OUTCOME_TONE, led_label
from pylondiag.service.db.models import CaseRecord

OWNER_MEANING: dict[str, str] = {
    Outcome.NO_FAULT.value: "Nothing in the evidence you sent points to a fault in the battery or its "
    "settings.",
    Outcome.MONITOR.value: "Something is worth checking again later, but nothing needs to be done today.",
    Outcome.REBALANCE.value: "The cells inside a module have drifted apart; a controlled full charge and a "
    "long hold lets the battery's own balancing bring them back together.",
    Outcome.RECONFIGURE.value: "A switch or an inverter setting is wrong and must be corrected before "
    "anything else can be judged.",
    Outcome.REPLACE.value: "A module has a fault that will not recover; it should be taken out and replaced.",
    Outcome.ON_SITE_CHECK.value: "This cannot be settled remotely: a qualified engineer needs to check the "
    "battery on site.",
    Outcome.ENVIRONMENT.value: "The place the battery stands in (cold, heat, ventilation) makes it protect "
    "itself.",
    Outcome.INSUFFICIENT_EVIDENCE.value: "The evidence sent so far is not enough for a diagnosis; the list "
    "below says exactly what to send next.",
}

VERDICT_WORDS: dict[str, str] = {
    "ok": "OK",
    "monitor": "keep an eye on it",
    "rebalance": "needs rebalancing",
    "reconfigure": "setting to change",
    "isolate": "take it out of the stack",
    "replace": "needs replacing",
    "on_site_check": "engineer to check on site",
}
TONE: dict[str, str] = {
    "ok": "good",
    "monitor": "info",
    "rebalance": "warn",
    "reconfigure": "warn",
    "isolate": "bad",
    "replace": "bad",
    "on_site_check": "bad",
}


@dataclass(frozen=True)
class OwnerModule:
    position: int
    model: str | None
    led: str
    alarm: bool
    verdict: str
    verdict_words: str
    tone: str


@dataclass(frozen=True)
class OwnerView:
    headline: str
    meaning: str
    tone: str
    summary: str
    culprits: tuple[int, ...]
    leds: tuple[LedAnswer, ...]
    modules: tuple[OwnerModule, ...]
    actions: tuple[tuple[str, bool], ...]
    gaps: tuple[str, ...]
    safety: tuple[str, ...]


def owner_view(doc: dict[str, Any], observations: dict[str, Any] | None) -> OwnerView:
    """The owner's reading of diagnosis ``doc`` for a case whose ``case.yaml`` is ``observations``."""
    stack = [m for m in (observations or {}).get("stack") or [] if isinstance(m, dict)]
    outcome = str(doc.get("outcome"))
    culprits = tuple(doc.get("culprit_modules") or [])
    meaning = OWNER_MEANING.get(outcome, "")
    if outcome == Outcome.ENVIRONMENT.value and not culprits:
        meaning = "No module is faulty. " + meaning
    verdicts = {m.get("position"): m for m in doc.get("modules") or []}
    reported = {m.get("position"): m for m in stack}
    modules = []
    for pos in sorted(p for p in set(verdicts) | set(reported) if isinstance(p, int)):
        v = verdicts.get(pos) or {}
        seen = reported.get(pos) or {}
        verdict = str(v.get("verdict") or "")
        modules.append(
            OwnerModule(
                position=pos,
                model=v.get("model") or seen.get("model"),
                led=led_label(seen.get("led")),
                alarm=seen.get("led") in ("amber", "amber_flashing", "red", "red_flashing"),
                verdict=verdict or "unknown",
                verdict_words=VERDICT_WORDS.get(verdict, "not judged"),
                tone=TONE.get(verdict, "unknown"),
            )
        )
    headline = next((h for o, h in OUTCOME_HEADLINE.items() if o.value == outcome), outcome.replace("_", " "))
    return OwnerView(
        headline=headline,
        meaning=meaning,
        tone=next((t for o, t in OUTCOME_TONE.items() if o.value == outcome), "unknown"),
        summary=owner_text(str(doc.get("summary") or "")),
        culprits=culprits,
        leds=tuple(led_answers(stack, doc.get("modules") or [], doc.get("findings") or [])),
        modules=tuple(modules),
        actions=tuple(
            (owner_text(str(a.get("text") or "")), bool(a.get("on_site")))
            for a in sorted(doc.get("actions") or [], key=lambda a: a.get("step") or 0)
        ),
        gaps=tuple(owner_text(str(g)) for g in doc.get("evidence_gaps") or []),
        safety=tuple(owner_text(str(s)) for s in doc.get("safety") or []),
    )


def case_title(record: CaseRecord) -> str:
    """A human name for a case in page titles and mails: the site and the day (never the random id)."""
    obs = record.observations or {}
    site = obs.get("site") if isinstance(obs.get("site"), dict) else {}
    place = str(site.get("location") or "").strip() if site else ""
    when: str | None = None
    observed = obs.get("observed_at")
    if isinstance(observed, str) and len(observed) >= 10:
        when = _day(observed[:10])
    if when is None and isinstance(record.created_at, datetime):
        when = record.created_at.strftime("%-d %b %Y")
    modules = len(obs.get("stack") or []) if isinstance(obs.get("stack"), list) else 0
    what = f"{modules}-module battery" if modules else "Battery"
    where = f" · {place[:40]}" if place else ""
    return f"{what}{where} · {when}" if when else f"{what}{where}"


def _day(iso: str) -> str | None:
    try:
        return datetime.strptime(iso, "%Y-%m-%d").strftime("%-d %b %Y")
    except ValueError:
        return None
