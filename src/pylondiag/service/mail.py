"""Mail to owners: the private link when the preliminary diagnosis is ready and when it is signed off.

Transactional outbox: a mail is a row of ``outbox`` written in the same transaction as what it tells of,
so it is never lost and never sent for something that did not happen. Both mails are written at submission
(``held``: the owner's token is known only then) and released by their event (``ready``). ``Mailer`` sends
due rows off the request path over SMTP (``Settings.smtp``: host, port, TLS, user), claiming each row with
one conditional UPDATE first, so several processes never send the same mail; a failed send is retried
with a growing pause up to ``SmtpSettings.max_attempts`` times. A submission never waits for SMTP.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from datetime import timedelta
from email.message import EmailMessage

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pylondiag.service.db.models import CaseRecord, OutboxMail, utcnow
from pylondiag.service.db.session import Database
from pylondiag.service.mail_settings import SmtpSettings

log = logging.getLogger(__name__)

HELD, READY, SENT, FAILED = "held", "ready", "sent", "failed"
PRELIMINARY_READY, SIGNED_OFF = "preliminary_ready", "signed_off"


class BadAddress(ValueError):
    pass


def normalise_address(raw: str) -> str | None:
    """The owner's address, normalised; ``None`` when empty; ``BadAddress`` saying what is wrong."""
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) > 254:
        raise BadAddress("the e-mail address is longer than 254 characters")
    try:
        return str(validate_email(raw, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise BadAddress(f"{raw!r} is not an e-mail address: {exc}") from exc


def hold_owner_mails(session: Session, record: CaseRecord, link: str, title: str) -> None:
    """At submission: write both mails for ``record`` (held until their events). No address, no mail."""
    if not record.contact_email:
        return
    now = utcnow()
    texts = {
        PRELIMINARY_READY: (
            f"Your battery case: the preliminary diagnosis is ready ({title})",
            "The automatic (preliminary) diagnosis of your battery case is ready:\n\n"
            f"{link}\n\n"
            "It is preliminary: an engineer will review it and sign it off; until then act only on its "
            "safety "
            "advice. Keep this link: it is the only way back to your case, and anyone who has it can see it.",
        ),
        SIGNED_OFF: (
            f"Your battery case: the engineer has signed off the report ({title})",
            "An engineer has reviewed the diagnosis of your battery case and signed off the report:\n\n"
            f"{link}\n\n"
            "Keep this link: it is the only way back to your case, and anyone who has it can see it.",
        ),
    }
    for event, (subject, body) in texts.items():
        session.add(
            OutboxMail(
                case_pk=record.id,
                event=event,
                to_addr=record.contact_email,
                subject=subject,
                body=body + "\n\n-- \npylondiag remote battery diagnosis\n",
                state=HELD,
                attempts=0,
                created_at=now,
            )
        )


def release(session: Session, case_pk: str, event: str) -> int:
    """The event happened: its held mail for the case becomes due now. Returns how many were released."""
    result = session.execute(
        update(OutboxMail)
        .where(OutboxMail.case_pk == case_pk, OutboxMail.event == event, OutboxMail.state == HELD)
        .values(state=READY, next_attempt_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


class Mailer:
    """Sends due outbox mails in a background thread (``start``/``stop``), or on demand (``send_due``)."""

    def __init__(self, db: Database, smtp: SmtpSettings) -> None:
        self.db = db
        self.smtp = smtp
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.smtp.host is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pylondiag-mailer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:  # the database went away, etc.: keep the thread, try again later
                log.exception("mailer")
            self._stop.wait(self.smtp.poll_s)

    def _due(self) -> list[int]:
        now = utcnow()
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(OutboxMail.id)
                    .where(
                        OutboxMail.state == READY,
                        or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
                    )
                    .order_by(OutboxMail.id)
                    .limit(50)
                )
            )

    def _claim(self, mail_id: int) -> OutboxMail | None:
        """Take one due mail: its next attempt moves past the send timeout in one conditional UPDATE, so
        another process (or a crash) cannot send it twice at once; a crashed send is retried later."""
        now = utcnow()
        lease = now + timedelta(seconds=self.smtp.timeout_s * 3 + 30)
        with self.db.session() as session:
            result = session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.id == mail_id,
                    OutboxMail.state == READY,
                    or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
                )
                .values(attempts=OutboxMail.attempts + 1, next_attempt_at=lease)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            mail = session.get(OutboxMail, mail_id)
            if mail is not None:
                session.expunge(mail)
            return mail

    def send_due(self) -> int:
        """Send every due mail once; returns how many went out."""
        sent = 0
        for mail_id in self._due():
            mail = self._claim(mail_id)
            if mail is None:
                continue
            try:
                self._send(mail)
            except (OSError, smtplib.SMTPException) as exc:
                self._failed(mail, f"{type(exc).__name__}: {exc}")
                continue
            with self.db.session() as session:
                session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == mail.id)
                    .values(state=SENT, sent_at=utcnow(), body=None, last_error=None)
                )
            sent += 1
        return sent

    def _failed(self, mail: OutboxMail, error: str) -> None:
        final = mail.attempts >= self.smtp.max_attempts
        pause = timedelta(seconds=self.smtp.retry_base_s * 2 ** max(mail.attempts - 1, 0))
        log.warning(
            "mail %d to the owner of case %s: attempt %d failed: %s",
            mail.id,
            mail.case_pk,
            mail.attempts,
            error,
        )
        with self.db.session() as session:
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail.id)
                .values(
                    state=FAILED if final else READY,
                    next_attempt_at=None if final else utcnow() + pause,
                    last_error=error[:2000],
                    body=None if final else mail.body,
                )
            )

    def _send(self, mail: OutboxMail) -> None:
        s = self.smtp
        msg = EmailMessage()
        msg["From"] = s.sender
        msg["To"] = mail.to_addr
        msg["Subject"] = mail.subject
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(mail.body or "")
        assert s.host is not None
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        with smtp:
            if s.tls == "starttls":
                smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password or "")
            smtp.send_message(msg)
