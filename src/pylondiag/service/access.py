"""Who is asking: the engineer behind a session cookie (or HTTP Basic on the API), or the owner holding a
case's token. A case asked for without either gets 404, exactly like a case that does not exist.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from pylondiag.service.auth import SESSION_COOKIE, token_matches, verify_password
from pylondiag.service.cases import get_case
from pylondiag.service.context import ctx
from pylondiag.service.db.models import CaseRecord, User

NOT_FOUND = "no such case (or the link's token is wrong)"


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_user(request: Request, session: Session) -> User | None:
    """The engineer/admin of a valid session cookie."""
    data = ctx(request).signer.read_session(request.cookies.get(SESSION_COOKIE))
    if not data:
        return None
    user = session.get(User, data.get("uid"))
    if user is None or user.password_hash[-16:] != data.get("pw"):
        return None
    if data.get("gen") != user.session_generation:  # logged out since (or a cookie from before 0002)
        return None
    return user


def basic_user(request: Request, session: Session) -> User | None:
    """HTTP Basic (``email:password``) for machine clients of the API; rate limited like logins."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        email, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    limiter = ctx(request).login_limiter
    keys = login_keys(request, email)
    wait = limiter.acquire(*keys)
    if wait is not None:
        raise HTTPException(
            429, "too many failed logins; try again later", headers={"Retry-After": str(int(wait) + 1)}
        )
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if not verify_password(user.password_hash if user else None, password):
        return None
    limiter.release(*keys)
    return user


def login_keys(request: Request, email: str) -> tuple[str, str]:
    """What login attempts are counted under: the client address and the e-mail tried.

    Every attempt is recorded *before* the password is checked (``acquire``) and taken back when it was
    right (``release``): parallel attempts through any number of processes cannot outrun the limit.
    """
    return (f"ip:{client_key(request)}", f"email:{email.strip().lower()}")


def current_user(request: Request, session: Session, *, allow_basic: bool = False) -> User | None:
    user = session_user(request, session)
    if user is None and allow_basic:
        user = basic_user(request, session)
    return user


def owner_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def case_for(
    request: Request, session: Session, case_pk: str, *, allow_basic: bool = False
) -> tuple[CaseRecord, Literal["owner", "engineer"], User | None]:
    """The case if the caller may see it, else 404 (never telling whether it exists)."""
    record = get_case(session, case_pk)
    token = owner_token(request)
    if record is not None and token and token_matches(token, record.token_sha256):
        return record, "owner", None
    user = current_user(request, session, allow_basic=allow_basic)
    if record is not None and user is not None:
        return record, "engineer", user
    raise HTTPException(404, NOT_FOUND)
