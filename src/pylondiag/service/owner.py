"""What the owner's private case page shows, in the owner's words.

The owner sees the outcome in plain words, an answer for every module they reported amber or red, the
modules with what they reported and the verdict, what to do, what to send next and the safety advice.
Internal names (finding codes, confidence, evidence paths, ``case.yaml`` keys, statistics) stay on the
engineer's pages (``report.plain.owner_text`` takes them out of the diagnosis' texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pylondiag.model.diagnosis import Outcome
from pylondiag.report.plain import LedAnswer, led_answers, owner_text
from pylondiag.report.words import OUTCOME_HEADLINE, OUTCOME_TONE, led_label
from pylondiag.service.db.models import CaseRecord, DiagnosisVersion, EvidenceFile

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


def what_changed(session: Session, record: CaseRecord) -> list[str]:
    """For an owner who added evidence: what was added when, and how the automatic diagnosis moved."""
    batches = session.execute(
        select(EvidenceFile.batch, EvidenceFile.path, EvidenceFile.added_at)
        .where(EvidenceFile.case_pk == record.id, EvidenceFile.batch > 0)
        .order_by(EvidenceFile.batch, EvidenceFile.path)
    ).all()
    if not batches:
        return []
    last = batches[-1].batch
    added = [b for b in batches if b.batch == last]
    when = added[0].added_at
    names = ", ".join(b.path.rsplit("/", 1)[-1] for b in added)
    day = when.strftime("%-d %b %Y %H:%M UTC") if when else "later"
    out = [f"You added {len(added)} file{'s' if len(added) != 1 else ''} on {day}: {names}."]
    docs = session.execute(
        select(DiagnosisVersion.version, DiagnosisVersion.document, DiagnosisVersion.created_at)
        .where(DiagnosisVersion.case_pk == record.id, DiagnosisVersion.kind == "automatic")
        .order_by(DiagnosisVersion.version.desc())
        .limit(2)
    ).all()
    if when is None or not docs or _aware(docs[0].created_at) < _aware(when):
        out.append("The case is being diagnosed again with the new evidence; this page refreshes itself.")
        return out
    if len(docs) < 2:
        return out
    new, old = docs[0].document, docs[1].document
    new_h, old_h = _headline(new), _headline(old)
    if new_h != old_h:
        out.append(f"The diagnosis changed: it was “{old_h}”, it is now “{new_h}”.")
    else:
        out.append(f"The diagnosis was run again with the new evidence; it is still “{new_h}”.")
    if (new.get("culprit_modules") or []) != (old.get("culprit_modules") or []):
        before = ", ".join(str(p) for p in old.get("culprit_modules") or []) or "none"
        after = ", ".join(str(p) for p in new.get("culprit_modules") or []) or "none"
        out.append(f"Modules concerned: before {before}; now {after}.")
    gaps_before, gaps_after = len(old.get("evidence_gaps") or []), len(new.get("evidence_gaps") or [])
    if gaps_after < gaps_before:
        out.append(f"{gaps_before - gaps_after} of the things to send next are now covered.")
    return out


def _headline(doc: dict[str, Any]) -> str:
    outcome = str(doc.get("outcome"))
    return next((h for o, h in OUTCOME_HEADLINE.items() if o.value == outcome), outcome.replace("_", " "))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
