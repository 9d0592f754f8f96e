"""Accounts, sessions, CSRF, owner tokens and rate limits.

- Passwords: argon2id (argon2-cffi defaults).
- Engineer sessions: a signed, timed cookie (``itsdangerous``), ``HttpOnly``, ``SameSite=Lax``, ``Secure``
  when the request came over TLS (or when forced in settings). It names the account's session generation:
  logout increments it, so a copied cookie stops working on the server (every session of that account
  ends), as does a password change.
- CSRF: every form carries a token derived (HMAC) from a random per-browser cookie; checked in constant
  time on every form POST. JSON API calls are not forms: a cross-site page cannot send them with
  ``Content-Type: application/json`` without CORS, which the service never grants.
- Owner tokens: 256-bit random, shown once; only their SHA-256 is stored; compared in constant time.
- Rate limits (``service.shared.SharedRateLimiter``, in the database so every process shares them): a
  sliding window per client address for submissions; failed logins per address and per e-mail (a blocked
  address or e-mail waits even with the right password).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE: Final = "pylondiag_session"
CSRF_COOKIE: Final = "pylondiag_csrf"
CSRF_FIELD: Final = "csrf_token"
ROLES: Final = ("engineer", "admin")

_hasher = PasswordHasher()
_DUMMY_HASH: Final = _hasher.hash("not a password: used to spend the same time on unknown e-mails")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; unknown users (``None``) cost the same time as wrong passwords."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_owner_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def token_matches(token: str | None, stored_digest: str) -> bool:
    """Constant-time comparison of an owner token with the stored SHA-256."""
    if not token:
        return False
    return hmac.compare_digest(token_digest(token), stored_digest)


class Signer:
    """Session cookies and CSRF tokens, both keyed by the service's secret."""

    def __init__(self, secret: str, session_max_age_s: int) -> None:
        self._secret = secret.encode()
        self._sessions = URLSafeTimedSerializer(secret, salt="pylondiag.session")
        self.session_max_age_s = session_max_age_s

    def session_cookie(self, user_id: int, password_hash: str, generation: int) -> str:
        # A fingerprint of the password hash ends every session when the password changes; the
        # account's session generation (incremented on logout) ends them on the server at logout.
        return self._sessions.dumps({"uid": user_id, "pw": password_hash[-16:], "gen": generation})

    def read_session(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=self.session_max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._secret, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, seed: str | None, token: str | None) -> bool:
        if not seed or not token:
            return False
        return hmac.compare_digest(self.csrf_token(seed), token)


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(24)
