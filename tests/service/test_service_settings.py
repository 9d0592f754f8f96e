"""The service's settings from the environment (pydantic-settings): every documented ``PYLONDIAG_*``
variable reaches :class:`Settings`, the command line wins over it, and an invalid value is one line
naming the variable and what is expected (exit 2, no traceback, no secret echoed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pylondiag.service.commands import settings_for
from pylondiag.service.settings import SettingsError, env_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PYLONDIAG_") and name not in ("PYLONDIAG_SHARED", "PYLONDIAG_CAPTURES"):
            monkeypatch.delenv(name)


def test_defaults_without_variables() -> None:
    settings = settings_for(None, None)
    assert settings.data_dir == Path("pylondiag-data")
    assert settings.database_url is None and settings.secure_cookies is None
    assert settings.trusted_proxies == () and settings.secret is None and settings.run_worker
    assert settings.smtp.host is None and settings.smtp.port == 25 and settings.smtp.tls == "none"


def test_every_documented_variable_reaches_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "k" * 40
    for name, value in {
        "DATA_DIR": str(tmp_path / "d"),
        "DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:5/db",
        "SECURE_COOKIES": "1",
        "TRUSTED_PROXIES": " 127.0.0.1 , 10.0.0.0/8,,::1 ",
        "SECRET_KEY": secret,
        "RUN_WORKER": "0",
        "SMTP_HOST": "mail.example.com",
        "SMTP_TLS": "STARTTLS",
        "SMTP_USER": "robot",
        "SMTP_PASSWORD": "pw",
        "SMTP_FROM": "diag <d@example.com>",
    }.items():
        monkeypatch.setenv(f"PYLONDIAG_{name}", value)
    s = settings_for(None, None)
    assert s.data_dir == tmp_path / "d"
    assert s.resolved_database_url == "postgresql+psycopg://u@127.0.0.1:5/db"
    assert s.secure_cookies is True and s.run_worker is False
    assert s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert s.secret == secret
    assert (s.smtp.host, s.smtp.port, s.smtp.tls) == ("mail.example.com", 587, "starttls")
    assert (s.smtp.user, s.smtp.password, s.smtp.sender) == ("robot", "pw", "diag <d@example.com>")
    monkeypatch.setenv("PYLONDIAG_SECURE_COOKIES", "0")
    monkeypatch.setenv("PYLONDIAG_SMTP_PORT", "2525")
    s = settings_for(None, None)
    assert s.secure_cookies is False and s.smtp.port == 2525
    # the command line's --data-dir / --database win over the variables
    s = settings_for(tmp_path / "cli", "sqlite:///x.db")
    assert s.data_dir == tmp_path / "cli" and s.database_url == "sqlite:///x.db"


def test_empty_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURE_COOKIES", "SMTP_HOST", "SMTP_PORT", "DATABASE_URL", "TRUSTED_PROXIES"):
        monkeypatch.setenv(f"PYLONDIAG_{name}", "")
    s = settings_for(None, None)
    assert s.secure_cookies is None and s.smtp.host is None and s.smtp.port == 25
    assert s.database_url is None and s.trusted_proxies == ()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SECURE_COOKIES", "maybe", "expected 1 (always mark cookies Secure) or 0"),
        ("SMTP_PORT", "abc", "expected a TCP port number 1-65535"),
        ("SMTP_PORT", "70000", "expected a TCP port number 1-65535"),
        ("SMTP_TLS", "tls", "expected none, starttls or ssl"),
        ("TRUSTED_PROXIES", "10.0.0.1,proxy.local", "'proxy.local' is not an IP address or network"),
        ("RUN_WORKER", "sometimes", "expected 1 (diagnose in this web process) or 0"),
    ],
)
def test_an_invalid_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(f"PYLONDIAG_{name}", value)
    with pytest.raises(SettingsError) as caught:
        env_settings()
    message = str(caught.value)
    assert message.startswith(f"PYLONDIAG_{name}={value!r} is not valid"), message
    assert expected in message and "\n" not in message


def test_secrets_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLONDIAG_SECRET_KEY", "too-short-secret")
    with pytest.raises(SettingsError) as caught:
        env_settings()
    assert "too-short-secret" not in str(caught.value)
    assert str(caught.value).startswith("PYLONDIAG_SECRET_KEY is not valid: expected at least 32")


def test_several_invalid_variables_are_all_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLONDIAG_SMTP_PORT", "x")
    monkeypatch.setenv("PYLONDIAG_SECURE_COOKIES", "x")
    with pytest.raises(SettingsError) as caught:
        env_settings()
    assert str(caught.value).startswith("PYLONDIAG_SECURE_COOKIES='x' is not valid")
    assert str(caught.value).endswith("(also invalid: PYLONDIAG_SMTP_PORT)")


@pytest.mark.parametrize(
    "command", [["serve"], ["admin", "create-user", "a@example.com", "--password", "x" * 12]]
)
def test_the_commands_refuse_an_invalid_variable_with_exit_2(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "PYLONDIAG_SMTP_PORT": "25x", "PYLONDIAG_DATA_DIR": str(tmp_path / "data")}
    r = subprocess.run(
        [sys.executable, "-m", "pylondiag", *command], capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: PYLONDIAG_SMTP_PORT='25x' is not valid: expected a TCP port number 1-65535 "
        "(unset: 25, 587 or 465 after SMTP_TLS)"
    ]
    assert not (tmp_path / "data").exists(), "nothing is created before the settings are checked"


def test_the_evidence_store_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYLONDIAG_EVIDENCE_STORE", "s3://evidence/pylondiag")
    monkeypatch.setenv("PYLONDIAG_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    settings = settings_for(None, None)
    assert settings.evidence_store == "s3://evidence/pylondiag"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    monkeypatch.setenv("PYLONDIAG_EVIDENCE_STORE", "/srv/evidence")
    with pytest.raises(SettingsError) as caught:
        env_settings()
    message = str(caught.value)
    assert message.startswith("PYLONDIAG_EVIDENCE_STORE='/srv/evidence' is not valid")
    assert "expected s3://bucket or s3://bucket/prefix" in message and "\n" not in message


def test_diagnosis_limits_and_queue_timings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DIAGNOSIS_CPU_S": "12.5",
        "DIAGNOSIS_MEMORY_MIB": "512",
        "DIAGNOSIS_WALL_S": "40",
        "DIAGNOSIS_LEASE_S": "5",
        "WORKER_POLL_S": "0.5",
    }.items():
        monkeypatch.setenv(f"PYLONDIAG_{name}", value)
    s = settings_for(None, None)
    limits = s.diagnosis_limits
    assert (limits.cpu_s, limits.memory_bytes, limits.wall_s) == (12.5, 512 * 1024 * 1024, 40.0)
    assert s.limits.read_limits == limits  # the check of a submission reads under the same limits
    assert (s.diagnosis_lease_s, s.worker_poll_s) == (5.0, 0.5)
    monkeypatch.setenv("PYLONDIAG_DIAGNOSIS_MEMORY_MIB", "12")
    with pytest.raises(SettingsError, match=r"PYLONDIAG_DIAGNOSIS_MEMORY_MIB='12'.*at least 256"):
        env_settings()
