"""SMTP settings of the owner mails (``service.mail``), apart so that ``settings`` imports no mail code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SmtpSettings:
    """Where owner mails go out. ``host`` ``None``: mails stay in the outbox (nothing is sent)."""

    host: str | None = None
    port: int = 25
    tls: Literal["none", "starttls", "ssl"] = "none"
    """``starttls`` upgrades a plain connection (port 587); ``ssl`` is TLS from the start (port 465)."""
    user: str | None = None
    password: str | None = None
    sender: str = "pylondiag <no-reply@localhost>"
    timeout_s: float = 10.0
    max_attempts: int = 8
    retry_base_s: float = 30.0
    """The pause after the n-th failed attempt is ``retry_base_s * 2**(n-1)`` (30 s, 1 min, 2 min, ...)."""
    poll_s: float = 2.0
    """How often the mailer looks for due mails (s)."""
