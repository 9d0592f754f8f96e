"""Engineer review: amend a diagnosis (outcome, cause, summary, modules, findings, actions, on-site
specification) and sign it off. Every amendment becomes a new diagnosis version plus a ``Review`` row
saying who changed what, when; nothing is overwritten.

An amended document must still be a valid ``pylondiag.diagnosis/1``: the model's invariants plus the
spec's rules the model leaves to the engine (``shared/spec/diagnosis-format.md``, as
``shared/tools/validate_diagnosis.py`` checks them): each module verdict needs at least its outcome in the
precedence, positions are unique, a finding's module is one of the modules, and every evidence line an
engineer cites is a real line of a real file of the case with the quote on it. ``culprit_modules`` is
derived from the verdicts, and choosing ``no_fault`` / ``insufficient_evidence`` clears the cause; any
other break is refused with a message saying what to change.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import update
from sqlalchemy.orm import object_session

from pylondiag.model.diagnosis import (
    OUTCOME_PRECEDENCE,
    VERDICT_OUTCOME,
    Action,
    Cause,
    Diagnosis,
    Finding,
    ModuleVerdict,
    OnSiteSpec,
    Outcome,
    Verdict,
)
from pylondiag.service import mail
from pylondiag.service.db.models import CaseRecord, CaseStatus, DiagnosisVersion, Review, User, utcnow
from pylondiag.service.review_words import plain_errors
from pylondiag.service.storage import EvidenceStore, split_lines

AMENDABLE = ("outcome", "primary_cause", "summary", "modules", "findings", "actions", "on_site_spec")


class ReviewError(Exception):
    """A review that cannot be applied; ``status`` is the HTTP status (409 state, 422 content)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ReviewRequest(BaseModel):
    """The body of ``POST /api/cases/{id}/review``. Omitted fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = None
    primary_cause: Cause | None = None
    summary: str | None = Field(default=None, min_length=1)
    modules: list[ModuleVerdict] | None = None
    findings: list[Finding] | None = None
    actions: list[Action] | None = None
    on_site_spec: OnSiteSpec | None = None
    note: str | None = Field(default=None, max_length=5000)
    sign_off: bool = False


def _norm(text: str) -> str:
    """Whitespace collapsed, case folded: how the spec's validator compares a quote with its line."""
    return re.sub(r"\s+", " ", text).strip().lower()


def check_citations(
    doc: dict[str, Any], record: CaseRecord, store: EvidenceStore, before: dict[str, Any] | None = None
) -> None:
    """Every ``findings[].evidence`` line an engineer wrote exists in the case's files; fills in a
    missing ``quote``.

    Findings identical to ones of ``before`` (the version being amended) are not checked again: the
    machine's citations were the machine's to get right, and a quote it got wrong must never stop an
    engineer from amending or signing off (the engineer can correct or drop that finding).
    """
    paths = {f.path for f in record.files}
    cache: dict[str, list[str]] = {}
    kept = (before or {}).get("findings") or []
    for i, finding in enumerate(doc.get("findings") or []):
        if finding in kept:
            continue
        for ref in finding.get("evidence") or []:
            source = ref.get("source")
            if source == "case.yaml" and ref.get("key"):
                continue
            if source not in paths:
                raise ReviewError(f"findings[{i}]: evidence source {source!r} is not a file of this case")
            line = ref.get("line")
            if line is None:
                raise ReviewError(f"findings[{i}]: evidence in {source} needs a line number")
            if source not in cache:
                cache[source] = split_lines(store.read(record.id, source))
            lines = cache[source]
            if not 1 <= line <= len(lines):
                raise ReviewError(f"findings[{i}]: {source} has {len(lines)} lines, not line {line}")
            end = ref.get("end_line")
            if end is not None and not line <= end <= len(lines):
                raise ReviewError(f"findings[{i}]: end_line {end} must be from {line} to {len(lines)}")
            quote = ref.get("quote")
            if not quote:
                ref["quote"] = lines[line - 1].strip() or lines[line - 1]
            elif _norm(quote) not in _norm(lines[line - 1]):
                raise ReviewError(
                    f"findings[{i}]: {quote!r} is not on {source} line {line} (the quote must be text of "
                    "that first line; leave it empty to take the line itself)"
                )


def _order(outcome: str) -> int:
    return [o.value for o in OUTCOME_PRECEDENCE].index(outcome)


def spec_problems(doc: dict[str, Any]) -> list[str]:
    """What in an amended document breaks the spec's rules, each said with what to change.

    The spec's rules beyond field types (``shared/spec/diagnosis-format.md``; the same as
    ``shared/tools/validate_diagnosis.py``); ``culprit_modules`` is derived before this is called.
    """
    problems: list[str] = []
    outcome = doc.get("outcome")
    cause = doc.get("primary_cause")
    modules = doc.get("modules") or []
    positions = [m.get("position") for m in modules]
    repeated = sorted({p for p in positions if positions.count(p) > 1})
    if repeated:
        problems.append(f"module position(s) {repeated} appear more than once")
    if outcome in (Outcome.NO_FAULT.value, Outcome.INSUFFICIENT_EVIDENCE.value):
        if cause is not None:
            problems.append(f"outcome {outcome} has no primary cause: clear primary_cause ({cause})")
    elif cause is None:
        codes = sorted({f.get("code") for f in doc.get("findings") or []})
        hint = f" (the findings' causes: {', '.join(codes)})" if codes else " and a finding for it"
        problems.append(f"outcome {outcome} needs a primary_cause{hint}")
    elif all(f.get("code") != cause for f in doc.get("findings") or []):
        problems.append(
            f"primary_cause {cause} has no finding: add a {cause} finding citing its evidence, "
            "or choose the cause of one of the findings"
        )
    if outcome in {o.value for o in OUTCOME_PRECEDENCE}:
        for m in modules:
            try:
                needs = VERDICT_OUTCOME[Verdict(m.get("verdict"))].value
            except ValueError:
                continue  # not a verdict: the model says so
            if _order(outcome) > _order(needs):
                allowed = [o.value for o in OUTCOME_PRECEDENCE[: _order(needs) + 1]]
                problems.append(
                    f"module {m.get('position')} has verdict {m.get('verdict')}, which needs the outcome "
                    f"{needs} or one before it ({', '.join(allowed)}), not {outcome}: change the outcome or "
                    f"that module's verdict"
                )
    for i, f in enumerate(doc.get("findings") or []):
        if f.get("module") is not None and f.get("module") not in positions:
            problems.append(f"findings[{i}]: module {f.get('module')} is not one of the modules {positions}")
    if outcome == Outcome.INSUFFICIENT_EVIDENCE.value and not doc.get("evidence_gaps"):
        problems.append("insufficient_evidence needs evidence gaps, and this diagnosis lists none")
    return problems


def lock_case(record: CaseRecord) -> None:
    """Take the case row's write lock for the rest of the caller's transaction, then reload the case.

    A portable ``SELECT ... FOR UPDATE``: an ``UPDATE`` of the row's ``updated_at``. PostgreSQL holds
    the row lock until commit (a second reviewer's ``UPDATE`` waits for it, then sees the committed
    row); SQLite starts its one write transaction at the ``UPDATE`` (the busy timeout queues the
    others). Whatever was loaded before is then reloaded: the status, versions and reviews read after
    this are the latest committed ones, so versions only increase and a signed-off case stays so.
    """
    session = object_session(record)
    if session is None:
        return
    session.execute(
        update(CaseRecord)
        .where(CaseRecord.id == record.id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(record)
    for name in ("diagnoses", "reviews"):
        session.expire(record, [name])


def apply_review(
    record: CaseRecord, request: ReviewRequest, user: User, store: EvidenceStore
) -> tuple[Review, DiagnosisVersion | None]:
    """Apply ``request`` to ``record`` (attached to a session the caller commits).

    The case row is locked first (:func:`lock_case`) and re-read, so concurrent amendments and sign-offs
    of one case are applied one after the other, each on the state the previous one left.
    """
    lock_case(record)
    if record.status == CaseStatus.SIGNED_OFF.value:
        raise ReviewError("this case is already signed off; its report is final", status=409)
    if not record.diagnoses:
        raise ReviewError(
            f"no diagnosis to review yet (automatic diagnosis {record.diagnosis_state})", status=409
        )
    latest = record.diagnoses[-1]
    before = latest.document
    doc = copy.deepcopy(before)
    given = request.model_dump(mode="json", include=set(request.model_fields_set) & set(AMENDABLE))
    doc.update(given)
    if (
        "outcome" in given
        and "primary_cause" not in given
        and doc["outcome"]
        in (
            Outcome.NO_FAULT.value,
            Outcome.INSUFFICIENT_EVIDENCE.value,
        )
    ):
        doc["primary_cause"] = None
    doc["culprit_modules"] = sorted(
        m["position"]
        for m in doc.get("modules", [])
        if m["verdict"] not in (Verdict.OK.value, Verdict.MONITOR.value)
    )
    check_citations(doc, record, store, before)
    inherited = set(spec_problems(before))  # the machine's own slips do not block the engineer
    problems = [p for p in spec_problems(doc) if p not in inherited]
    if problems:
        raise ReviewError("the amendment breaks the diagnosis rules: " + "; ".join(problems))
    try:
        validated = Diagnosis.model_validate(doc).to_json_dict()
    except ValidationError as exc:
        positions = [m.get("position") for m in doc.get("modules") or []]
        errors = "; ".join(message for _, message in plain_errors(exc, positions))
        raise ReviewError(f"the amended diagnosis is not valid: {errors}") from exc
    changes = [
        {"field": key, "before": before.get(key), "after": validated.get(key)}
        for key in (*AMENDABLE, "culprit_modules")
        if before.get(key) != validated.get(key)
    ]
    now = utcnow()
    version: DiagnosisVersion | None = None
    if changes:
        version = DiagnosisVersion(
            version=latest.version + 1,
            kind="amended",
            document=validated,
            created_at=now,
            created_by=user.id,
        )
        record.diagnoses.append(version)
    if not changes and not request.sign_off and not request.note:
        raise ReviewError("nothing to change: give fields to amend, a note, or sign_off")
    review = Review(
        user_id=user.id,
        user=user,
        created_at=now,
        action="sign_off" if request.sign_off else "amend",
        changes=changes,
        note=request.note,
        diagnosis_version=(version or latest).version,
    )
    record.reviews.append(review)
    record.updated_at = now
    if request.sign_off:
        record.status = CaseStatus.SIGNED_OFF.value
        record.signed_off_at = now
        record.signed_off_by = user.id
        session = object_session(record)
        if session is not None:  # the owner's mail goes out with the commit that signs off
            mail.release(session, record.id, mail.SIGNED_OFF)
    else:
        record.status = CaseStatus.IN_REVIEW.value
    return review, version


def reopen(record: CaseRecord, user: User, reason: str) -> DiagnosisVersion:
    """Reopen a signed-off case (engineer, with a reason): the signed version stays in the history as it
    was, a copy becomes the next version to amend, and the case is in review again until signed off anew."""
    reason = reason.strip()
    if record.status != CaseStatus.SIGNED_OFF.value or not record.diagnoses:
        raise ReviewError("only a signed-off case can be reopened", status=409)
    if len(reason) < 5:
        raise ReviewError("say why the case is reopened (a few words at least)")
    signed = record.diagnoses[-1]
    now = utcnow()
    version = DiagnosisVersion(
        version=signed.version + 1,
        kind="reopened",
        document=copy.deepcopy(signed.document),
        created_at=now,
        created_by=user.id,
    )
    record.diagnoses.append(version)
    record.reviews.append(
        Review(
            user_id=user.id,
            user=user,
            created_at=now,
            action="reopen",
            changes=[
                {
                    "field": "status",
                    "before": CaseStatus.SIGNED_OFF.value,
                    "after": CaseStatus.IN_REVIEW.value,
                }
            ],
            note=reason[:5000],
            diagnosis_version=version.version,
        )
    )
    record.status = CaseStatus.IN_REVIEW.value
    record.signed_off_at = None
    record.signed_off_by = None
    record.updated_at = now
    return version
