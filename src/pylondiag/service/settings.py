"""Settings of the web service: where data lives, which database, and the limits it enforces.

Everything a deployment may change is here, with its unit. :class:`EnvSettings` (pydantic-settings) is
the only reader of the environment in ``service/``: ``PYLONDIAG_*`` variables, each checked on start, an
invalid one refused in one line naming it (:class:`SettingsError`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pylondiag.errors import PylondiagError
from pylondiag.service.diagnose_child import ChildLimits
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
    read_limits: ChildLimits = field(default_factory=ChildLimits)
    """How a submitted case is read to check it (a child process with these limits, not the web
    process); a case over them is accepted unchecked and its diagnosis reports the limit."""


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
    diagnosis_lease_s: float = 30.0
    """A worker's claim on a case lasts this long without a heartbeat (every third of it); after it, the
    worker is presumed dead and any worker requeues the case (s)."""
    worker_poll_s: float = 1.0
    """How often an idle worker looks for queued cases it was not told about (s)."""
    diagnosis_limits: ChildLimits = field(default_factory=ChildLimits)
    """CPU time, memory, wall-clock time and output of one diagnosis (run in a child process); a case
    that needs more ends ``failed`` with the reason, and is not retried."""
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
    evidence_store: str | None = None
    """Where evidence, cached reports and held uploads are kept: ``None`` = under ``data_dir``;
    ``s3://bucket/prefix`` = an S3-compatible object store shared by several machines (extra ``[s3]``;
    credentials from boto3's usual ``AWS_*`` variables). ``PYLONDIAG_EVIDENCE_STORE`` for ``serve``."""
    s3_endpoint_url: str | None = None
    """The object store's address when it is not AWS (``http://127.0.0.1:9000``); ``None`` = boto3's
    default (``AWS_ENDPOINT_URL_S3`` or AWS itself). ``PYLONDIAG_S3_ENDPOINT_URL`` for ``serve``."""
    secret: str | None = None
    """The key that signs session and CSRF cookies when given (``PYLONDIAG_SECRET_KEY``); else the
    database keeps one that every process shares (``service.shared.signing_key``)."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pylondiag.sqlite3').resolve()}"


class SettingsError(PylondiagError):
    """An environment variable with a value the service cannot use (the CLI prints it and exits 2)."""


def _ip_or_network(value: str) -> str:
    """``value`` when it is ``*``, an IP address or an IP network; else ``ValueError``."""
    if value == "*":
        return value
    try:
        if "/" in value:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network") from None
    return value


class EnvSettings(BaseSettings):
    """What ``pylondiag serve`` / ``admin`` (and the web processes ``serve --workers N`` starts) read
    from the environment: each field is the variable ``PYLONDIAG_<FIELD>``; empty = unset.

    The field's ``description`` says what a valid value is (it is the "expected" part of the error line).
    Command-line options (``--data-dir``, ``--database``) win over the variables.
    """

    model_config = SettingsConfigDict(
        env_prefix="PYLONDIAG_", env_ignore_empty=True, frozen=True, extra="ignore"
    )

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="a directory path")
    database_url: str | None = Field(
        None, description="a SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (unset: SQLite)"
    )
    secure_cookies: bool | None = Field(
        None, description="1 (always mark cookies Secure) or 0 (never); unset: Secure when served over HTTPS"
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="comma-separated IP addresses or networks (10.0.0.0/8) of the reverse proxies"
    )
    secret_key: SecretStr | None = Field(
        None, min_length=32, description="at least 32 random characters (signs session and CSRF cookies)"
    )
    submissions_per_window: int = Field(
        Limits.submissions_per_window, ge=1, description="a whole number of case submissions, 1 or more"
    )
    logins_per_window: int = Field(
        Limits.logins_per_window, ge=1, description="a whole number of logins, 1 or more"
    )
    rate_window_s: float = Field(Limits.rate_window_s, gt=0, description="a number of seconds above 0")
    run_worker: bool = Field(True, description="1 (diagnose in this web process) or 0 (separate workers)")
    diagnosis_cpu_s: float | None = Field(None, gt=0, description="CPU seconds one diagnosis may use (60)")
    diagnosis_memory_mib: int | None = Field(
        None, ge=256, description="MiB of address space one diagnosis may use, at least 256 (2048)"
    )
    diagnosis_wall_s: float | None = Field(
        None, gt=0, description="wall-clock seconds for one diagnosis (300)"
    )
    diagnosis_lease_s: float | None = Field(
        None, ge=0.5, description="seconds a worker's claim lasts without a heartbeat, at least 0.5 (30)"
    )
    worker_poll_s: float | None = Field(None, gt=0, description="seconds between an idle worker's looks (1)")
    smtp_host: str | None = Field(
        None, description="the SMTP server's host name (unset: mails stay in the outbox)"
    )
    smtp_port: int | None = Field(
        None, ge=1, le=65535, description="a TCP port number 1-65535 (unset: 25, 587 or 465 after SMTP_TLS)"
    )
    smtp_tls: Literal["none", "starttls", "ssl"] = Field("none", description="none, starttls or ssl")
    smtp_user: str | None = Field(None, description="the SMTP login")
    smtp_password: SecretStr | None = Field(None, description="the SMTP password")
    smtp_from: str | None = Field(None, description="the sender, e.g. 'pylondiag <no-reply@example.com>'")
    evidence_store: str | None = Field(
        None, description="s3://bucket or s3://bucket/prefix (unset: evidence stays in the data directory)"
    )
    s3_endpoint_url: str | None = Field(
        None, description="the S3-compatible server's URL, e.g. https://s3.example.net (unset: AWS)"
    )

    @field_validator("evidence_store")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        from pylondiag.service.storage_s3 import parse_url  # boto3 itself only when the store opens

        if value is not None:
            parse_url(value)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return tuple(_ip_or_network(str(part)) for part in value)
        return value

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def smtp(self) -> SmtpSettings:
        tls = self.smtp_tls
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port or {"none": 25, "starttls": 587, "ssl": 465}[tls],
            tls=tls,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            sender=self.smtp_from or SmtpSettings.sender,
        )

    def service_settings(self, **changes: object) -> Settings:
        """The service's :class:`Settings` from these variables, with ``changes`` on top."""
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            secure_cookies=self.secure_cookies,
            trusted_proxies=self.trusted_proxies,
            secret=self.secret_key.get_secret_value() if self.secret_key else None,
            run_worker=self.run_worker,
            smtp=self.smtp(),
            evidence_store=self.evidence_store,
            s3_endpoint_url=self.s3_endpoint_url,
            limits=replace(
                Limits(),
                submissions_per_window=self.submissions_per_window,
                logins_per_window=self.logins_per_window,
                rate_window_s=self.rate_window_s,
            ),
        )
        return replace(settings, **self._worker_settings(settings), **changes)  # type: ignore[arg-type]

    def _worker_settings(self, settings: Settings) -> dict[str, object]:
        """The diagnosis limits (for the diagnosis and the check of a submission) and the queue timings."""
        out: dict[str, object] = {}
        limits = settings.diagnosis_limits
        if self.diagnosis_cpu_s is not None:
            limits = replace(limits, cpu_s=self.diagnosis_cpu_s)
        if self.diagnosis_memory_mib is not None:
            limits = replace(limits, memory_bytes=self.diagnosis_memory_mib * MiB)
        if self.diagnosis_wall_s is not None:
            limits = replace(limits, wall_s=self.diagnosis_wall_s)
        if limits != settings.diagnosis_limits:
            out["diagnosis_limits"] = limits
            out["limits"] = replace(settings.limits, read_limits=limits)
        if self.diagnosis_lease_s is not None:
            out["diagnosis_lease_s"] = self.diagnosis_lease_s
        if self.worker_poll_s is not None:
            out["worker_poll_s"] = self.worker_poll_s
        return out


_SECRET_FIELDS = frozenset({"secret_key", "smtp_password"})


def env_settings() -> EnvSettings:
    """The ``PYLONDIAG_*`` variables, checked; :class:`SettingsError` names the first one at fault,
    what it holds (not for secrets) and what is expected, on one line."""
    try:
        return EnvSettings()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    info = EnvSettings.model_fields.get(name)
    variable = f"PYLONDIAG_{name.upper()}"
    shown = "" if name in _SECRET_FIELDS else f"={str(first.get('input'))[:80]!r}"
    expected = info.description if info and info.description else first["msg"]
    error = first.get("ctx", {}).get("error")
    reason = f" ({error})" if error else ""
    others = sorted({f"PYLONDIAG_{str(e['loc'][0]).upper()}" for e in errors[1:] if e["loc"]} - {variable})
    more = f" (also invalid: {', '.join(others)})" if others else ""
    return f"{variable}{shown} is not valid{reason}: expected {expected}{more}"
