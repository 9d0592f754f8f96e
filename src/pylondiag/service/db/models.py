"""Tables: users, cases, their evidence files, every diagnosis version and every review.

The database holds metadata, observations (``case.yaml`` as JSON), diagnoses and reviews; the evidence
bytes live as files under the data directory (``service/storage.py``), each with its SHA-256 here.
Schema changes go through Alembic (``service/migrations``); this module and the migrations must agree
(``tests/service/test_migrations.py`` checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class CaseStatus(StrEnum):
    """The contract's case statuses."""

    SUBMITTED = "submitted"
    DIAGNOSED = "diagnosed"
    IN_REVIEW = "in_review"
    SIGNED_OFF = "signed_off"


class DiagnosisState(StrEnum):
    """Where the automatic diagnosis of a case is (the worker's job state)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Role(StrEnum):
    ENGINEER = "engineer"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Carried in every session cookie; logging out increments it, which ends all the account's sessions."""


class CaseRecord(Base):
    """One submitted case. ``id`` is public (in URLs); the owner's token is kept only as a SHA-256."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(200))
    """The case's own id (``case.yaml`` ``case_id``, else the service id)."""
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.SUBMITTED.value, index=True)
    source: Mapped[str] = mapped_column(String(16))
    """``api``, ``form`` or ``demo``."""
    observations: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """``case.yaml`` as submitted, parsed (``None`` when the case has none)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    diagnosis_state: Mapped[str] = mapped_column(String(16), default=DiagnosisState.QUEUED.value, index=True)
    diagnosis_attempts: Mapped[int] = mapped_column(Integer, default=0)
    diagnosis_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The random token of the worker diagnosing the case (``running``); its result is stored only while
    the row still carries it (``service/worker.py``)."""
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    """``host:pid`` of that worker (for operators)."""
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """The claim holds until then (the worker's heartbeat pushes it on); after it any worker requeues."""
    render_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """A diagnosis version whose reports a worker should render into the cache (a request, not state)."""
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    signed_off_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    """The owner's optional address for the two mails (preliminary ready, signed off); engineers only."""
    contact_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Lower-case site, serials, owner name and case id: what the engineers' queue search matches."""

    files: Mapped[list[EvidenceFile]] = relationship(
        back_populates="case", order_by="EvidenceFile.path", cascade="all, delete-orphan"
    )
    diagnoses: Mapped[list[DiagnosisVersion]] = relationship(
        back_populates="case", order_by="DiagnosisVersion.version", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="case", order_by="Review.id", cascade="all, delete-orphan"
    )


class EvidenceFile(Base):
    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("case_pk", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(255))
    """Relative to the case directory, ``/`` separators (``console/pwr.txt``)."""
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    batch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """0 for the files of the submission, N for the N-th addition of evidence to the open case."""
    added_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    case: Mapped[CaseRecord] = relationship(back_populates="files")


class DiagnosisVersion(Base):
    """Every diagnosis a case ever had: version 1 is the automatic one, later ones are amendments."""

    __tablename__ = "diagnoses"
    __table_args__ = (UniqueConstraint("case_pk", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    """``automatic`` or ``amended``."""
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The ``pylondiag.diagnosis/1`` JSON document."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    case: Mapped[CaseRecord] = relationship(back_populates="diagnoses")


class Review(Base):
    """One engineer action on a case: who, when, what changed (field by field), and a note."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    """``amend`` or ``sign_off``."""
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """``[{"field": "outcome", "before": ..., "after": ...}, ...]``"""
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    diagnosis_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    case: Mapped[CaseRecord] = relationship(back_populates="reviews")
    user: Mapped[User] = relationship()


class OutboxMail(Base):
    """A mail to send, written in the same transaction as the event it tells of and sent off the request
    path by ``service.mail.Mailer`` (any process; a row is claimed atomically before it is sent).

    ``held`` mails wait for their event (written at submission, while the owner's token is known);
    ``ready`` ones are due at ``next_attempt_at``; ``sent`` and ``failed`` are final. The body, which
    carries the private link, is cleared once the mail is sent or given up.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=True, index=True
    )
    event: Mapped[str] = mapped_column(String(32))
    """``preliminary_ready`` or ``signed_off``."""
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FormSubmission(Base):
    """One intake form sent: its idempotency key (as SHA-256) and the case it made, with the case's token
    sealed by the key itself, so the same form sent again (back button, double click) leads to the same
    case and a database alone cannot open it."""

    __tablename__ = "form_submissions"

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_pk: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sealed_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceKey(Base):
    """Keys every process of one deployment must share, kept where they all meet: the database.

    ``cookies`` signs the engineers' session cookies and the forms' CSRF tokens
    (``service.shared.signing_key``), unless ``PYLONDIAG_SECRET_KEY`` gives one.
    """

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RateLimitBucket(Base):
    """The recent events of one rate-limited key (``submit:<address>``, ``login:ip:<address>``,
    ``login:email:<address>``), shared by every web process (``service.shared.SharedRateLimiter``).

    ``events``: the times (Unix seconds) of the events still inside the window, oldest first, at most
    the limit's count. ``touched``: the last time the row was locked (Unix seconds); rows untouched for
    longer than the window are deleted.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    events: Mapped[list[float]] = mapped_column(JSON)
    touched: Mapped[float] = mapped_column(Float, index=True)
