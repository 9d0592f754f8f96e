"""Settings of the web service: where data lives, which database, and the limits it enforces.

Everything a deployment may change is here, with its unit; nothing else in ``service/`` reads the
environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pylondiag.service.mail_settings import SmtpSettings

DEFAULT_DATA_DIR = Path("pylondiag-data")

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upload and rate limits. Sizes in bytes, windows in seconds."""

    max_request_bytes: int = 48 * MiB
    """The whole multipart body of one submission (one file at the largest size, plus the form)."""
    max_file_bytes: int = 40 * MiB
    """One evidence file, uncompressed: the case reader's own limit (``casedir.MAX_FILE_BYTES``, a year of
    inverter log at one row a minute is 22.5 MiB), so the service takes what ``pylondiag diagnose`` takes."""
    max_files: int = 200
    """Files in one case (zip entries or form files)."""
    max_total_bytes: int = 60 * MiB
    """All files of one case, uncompressed (a zip's declared and actual sizes both count)."""
    max_zip_entries: int = 1000
    """Entries a submitted zip may declare (folders and skipped junk included), checked before any is read."""
    max_compression_ratio: float = 100.0
    """Uncompressed / compressed size of one zip entry above which the zip is treated as a bomb."""
    submissions_per_window: int = 10
    """Case submissions allowed from one client address per ``rate_window_s``."""
    logins_per_window: int = 10
    """Failed-or-not login attempts allowed from one client address (and per e-mail) per window."""
    rate_window_s: float = 60.0


@dataclass(frozen=True)
class Settings:
    """How one service instance runs."""

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    """Any SQLAlchemy URL; ``None`` = SQLite file ``<data_dir>/pylondiag.sqlite3``."""
    limits: Limits = field(default_factory=Limits)
    secure_cookies: bool | None = None
    """``True``/``False`` forces the cookies' ``Secure`` flag; ``None`` = set it when served over TLS."""
    run_worker: bool = True
    """Run the background diagnosis worker thread in this process."""
    max_diagnosis_attempts: int = 3
    """A diagnosis that crashes or is interrupted is retried up to this many times in all."""
    session_max_age_s: int = 12 * 3600
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or networks, ``10.0.0.0/8``) of the reverse proxies in front of the service: only a
    request coming from one of them has its ``X-Forwarded-For`` / ``-Proto`` believed (the client address
    that rate limits count, the scheme that decides ``Secure`` cookies). Empty: the headers are ignored,
    whoever sends them. ``PYLONDIAG_TRUSTED_PROXIES`` (comma-separated) for ``pylondiag serve``."""
    view_threads: int = 4
    """Threads that serve the owners' case views (JSON, page, report, diagnosis): a small pool of its own,
    so 50 owners do not make 40 threads fight for the GIL, and slow work elsewhere (argon2 logins,
    submissions) cannot hold every thread a view needs."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    """Owner mails (preliminary ready, signed off); no host = kept in the outbox, not sent."""
    run_mailer: bool = True
    """Send due owner mails from a background thread of this process."""
    queue_old_after_h: float = 48.0
    """Cases waiting longer than this (hours since submission) are highlighted in the engineers' queue."""
    queue_page_size: int = 25

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pylondiag.sqlite3').resolve()}"

    def secret_key(self) -> str:
        """The key that signs session and CSRF cookies: ``<data_dir>/secret_key``, made on first use.

        Kept in the data directory so engineers stay logged in across restarts; mode 0600.
        """
        env = os.environ.get("PYLONDIAG_SECRET_KEY")
        if env:
            return env
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key)
        return key
