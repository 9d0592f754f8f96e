"""The machine interface of ``shared/spec/service-api.md``. The web pages use the same service layer."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from pylondiag.report import SignOff
from pylondiag.service.access import NOT_FOUND, case_for, client_key, current_user, login_keys
from pylondiag.service.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_seed, verify_password
from pylondiag.service.cases import Contact, add_files, case_json, latest_diagnosis, queue, submit_case
from pylondiag.service.context import ctx, run_view
from pylondiag.service.db.models import User
from pylondiag.service.mail import BadAddress, normalise_address
from pylondiag.service.reports import render_cached
from pylondiag.service.review import ReviewError, ReviewRequest, apply_review
from pylondiag.service.settings import Limits
from pylondiag.service.storage import StoreUnavailable
from pylondiag.service.uploads import (
    CASE_YAML,
    ZIP_CONTENT_TYPES,
    IncomingFile,
    UploadRefused,
    check_content,
    image_type,
    read_zip,
    safe_relpath,
)

router = APIRouter()
log = logging.getLogger(__name__)

MAX_TEXT_FIELD_BYTES = 1024 * 1024
PRIVATE = {"Cache-Control": "private, no-store"}
"""Owners' data must not stay in shared caches or the browser's disk cache."""

SUBMIT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "case": {
                            "type": "string",
                            "format": "binary",
                            "description": "a .zip of a case directory",
                        },
                        "case_yaml": {"type": "string", "description": "the case.yaml text"},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "evidence files; the file name is the relative path",
                        },
                    },
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "an evidence file whose field name is its relative path "
                        "(console/pwr.txt)",
                    },
                }
            }
        },
    },
    "responses": {
        "201": {"description": "created: {id, access_token, url}"},
        "400": {"description": "bad upload (traversal, not a zip, ...), with a message"},
        "413": {"description": "over a size or count limit, or a zip bomb"},
        "415": {"description": "content type does not fit"},
        "422": {"description": "case.yaml cannot be read"},
        "429": {"description": "too many submissions from this address"},
    },
}


def refused(exc: UploadRefused) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "source": exc.source}, status_code=exc.status)


async def read_form(request: Request, limits: Limits) -> FormData:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise UploadRefused(
            f"expected multipart/form-data, got {ctype.split(';')[0] or 'no content type'}", status=415
        )
    try:
        return await request.form(
            max_files=limits.max_files + 2,
            max_fields=limits.max_files + 200,
            max_part_size=MAX_TEXT_FIELD_BYTES,
        )
    except HTTPException as exc:
        raise UploadRefused(f"the multipart body cannot be read: {exc.detail}", status=400) from exc


async def _bytes(value: UploadFile | str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return await value.read()


def _contact(form: FormData) -> Contact:
    """The optional ``contact_email`` field, validated (``UploadRefused`` 422 saying what is wrong)."""
    raw = form.get("contact_email")
    try:
        return Contact(email=normalise_address(raw if isinstance(raw, str) else ""))
    except BadAddress as exc:
        raise UploadRefused(f"contact_email: {exc}", status=422, source="contact_email") from exc


async def incoming_from_api_form(
    form: FormData, limits: Limits, *, skip: tuple[str, ...] = ()
) -> list[IncomingFile]:
    """The contract's fields: ``case`` (zip), ``case_yaml``, ``files`` / fields named by relative path
    (``skip``: other text fields the caller reads itself)."""
    files: list[IncomingFile] = []
    for key, value in form.multi_items():
        if key in skip and isinstance(value, str):
            continue
        if key == "case":
            if not isinstance(value, UploadFile):
                raise UploadRefused("`case` must be a file upload (a .zip of the case directory)")
            declared = (value.content_type or "").split(";")[0].strip().lower()
            if declared not in ZIP_CONTENT_TYPES:
                raise UploadRefused(
                    f"`case` is declared as {declared!r}; expected application/zip",
                    status=415,
                    source=value.filename,
                )
            zipped = await value.read()  # inflating is CPU work: off the event loop
            files.extend(await run_in_threadpool(read_zip, zipped, limits, name=value.filename or "case.zip"))
            continue
        if key == "case_yaml":
            data = await _bytes(value)
            check_content(CASE_YAML, data, None if isinstance(value, str) else value.content_type)
            files.append(IncomingFile(CASE_YAML, data))
            continue
        if key == "files":
            if not isinstance(value, UploadFile) or not value.filename:
                raise UploadRefused("each `files` part must be a file whose name is its relative path")
            path = safe_relpath(value.filename)
        elif isinstance(value, UploadFile):
            path = safe_relpath(key)
        else:
            raise UploadRefused(f"unknown field {key!r}: send `case`, `case_yaml` or files")
        data = await _bytes(value)
        check_content(path, data, value.content_type)
        files.append(IncomingFile(path, data))
    if not files:
        raise UploadRefused(
            "empty submission: send `case` (a .zip of the case directory) or `case_yaml` "
            "and/or evidence files"
        )
    for f in files:
        if f.path == CASE_YAML:
            continue
        check_content(f.path, f.data)
    return files


def rate_limited(wait: float) -> JSONResponse:
    return JSONResponse(
        {"detail": "too many submissions from this address; try again later"},
        status_code=429,
        headers={"Retry-After": str(int(wait) + 1)},
    )


@router.post("/api/cases", status_code=201, openapi_extra=SUBMIT_OPENAPI, tags=["cases"])
async def submit(request: Request) -> Response:
    """Submit a case: answers ``201 {"id", "access_token", "url"}``."""
    c = ctx(request)
    wait = await run_in_threadpool(c.submit_limiter.acquire, client_key(request))
    if wait is not None:
        return rate_limited(wait)
    try:
        form = await read_form(request, c.settings.limits)
        try:
            contact = _contact(form)
            files = await incoming_from_api_form(form, c.settings.limits, skip=("contact_email",))
        finally:
            await form.close()
        record, token = await run_in_threadpool(
            partial(
                submit_case,
                c.db,
                c.store,
                files,
                source="api",
                limits=c.settings.limits,
                contact=contact,
                base_url=str(request.base_url).rstrip("/"),
            )
        )
    except UploadRefused as exc:
        return refused(exc)
    c.worker.enqueue(record.id)
    url = f"{str(request.base_url).rstrip('/')}/c/{record.id}?token={token}"
    return JSONResponse({"id": record.id, "access_token": token, "url": url}, status_code=201)


@router.post("/api/cases/{case_pk}/files", openapi_extra=SUBMIT_OPENAPI, tags=["cases"])
async def add_evidence(case_pk: str, request: Request) -> Response:
    """Add evidence to a case that is not signed off (owner token or engineer): ``files`` / fields named by
    relative path, or ``case`` (a .zip). Answers ``200 {"id", "files", "diagnosis_version"}``; the same files
    sent again add nothing."""
    c = ctx(request)
    await run_view(request, _may_see, case_pk, request)
    try:
        form = await read_form(request, c.settings.limits)
        try:
            files = await incoming_from_api_form(form, c.settings.limits)
        finally:
            await form.close()
        addition = await run_in_threadpool(
            partial(add_files, c.db, c.store, case_pk, files, limits=c.settings.limits)
        )
    except UploadRefused as exc:
        return refused(exc)
    if addition.paths:
        c.worker.enqueue(case_pk)
    return JSONResponse(
        {"id": case_pk, "files": addition.paths, "diagnosis_version": addition.next_version}, headers=PRIVATE
    )


def _may_see(case_pk: str, request: Request) -> None:
    with ctx(request).db.session() as session:
        case_for(request, session, case_pk, allow_basic=True)


@router.get("/api/cases/{case_pk}", tags=["cases"])
async def get_case_api(case_pk: str, request: Request) -> Response:
    """The case: observations, file list, status (owner token or engineer)."""
    response: Response = await run_view(request, _case_view, case_pk, request)
    return response


def _case_view(case_pk: str, request: Request) -> Response:
    with ctx(request).db.session() as session:
        record, role, _ = case_for(request, session, case_pk, allow_basic=True)
        snap = ctx(request).snapshots.get(session, record)
        return JSONResponse(case_json(record, snap, for_engineer=role == "engineer"), headers=PRIVATE)


@router.get("/api/cases/{case_pk}/diagnosis", tags=["cases"])
async def get_diagnosis(case_pk: str, request: Request) -> Response:
    """The latest diagnosis, ``pylondiag.diagnosis/1`` JSON (409 while there is none yet)."""
    response: Response = await run_view(request, _diagnosis_view, case_pk, request)
    return response


def _diagnosis_view(case_pk: str, request: Request) -> Response:
    with ctx(request).db.session() as session:
        record, _, _ = case_for(request, session, case_pk, allow_basic=True)
        doc = ctx(request).snapshots.get(session, record).document
        if doc is None:
            return JSONResponse(
                {
                    "detail": f"no diagnosis yet (automatic diagnosis {record.diagnosis_state})",
                    "status": record.status,
                },
                status_code=409,
            )
        status = "signed_off" if record.status == "signed_off" else "preliminary"
        return JSONResponse(doc, headers={"X-Pylondiag-Report": status, **PRIVATE})


def _report(case_pk: str, request: Request, fmt: str) -> Response:
    c = ctx(request)
    with c.db.session() as session:
        record, _, _ = case_for(request, session, case_pk, allow_basic=True)
        snap = c.snapshots.get(session, record)
        if snap.version is None or snap.document is None:
            return JSONResponse(
                {"detail": f"no report yet (automatic diagnosis {record.diagnosis_state})"}, status_code=409
            )
        number, document, signed = snap.version, snap.document, snap.sign_off
    try:
        data = render_cached(c.store, case_pk, number, document, fmt, signed)
    except StoreUnavailable:
        raise  # 503, not a rendering failure
    except Exception as exc:  # a rendering bug must not look like a missing case
        log.exception("rendering the %s report of case %s v%d", fmt, case_pk, number)
        return JSONResponse(
            {
                "detail": f"the report could not be rendered ({type(exc).__name__}); "
                "the diagnosis itself is at .../diagnosis"
            },
            status_code=500,
        )
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    headers = {"X-Pylondiag-Report": variant_header(signed), "Cache-Control": "private, no-store"}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="pylondiag-{case_pk}-v{number}.pdf"'
    return Response(data, media_type=media, headers=headers)


def variant_header(signed: SignOff | None) -> str:
    return "preliminary" if signed is None else "signed_off"


@router.get("/api/cases/{case_pk}/report.pdf", tags=["cases"])
async def get_report_pdf(case_pk: str, request: Request) -> Response:
    """The report of the latest diagnosis as PDF (``X-Pylondiag-Report: preliminary|signed_off``)."""
    response: Response = await run_view(request, _report, case_pk, request, "pdf")
    return response


@router.get("/api/cases/{case_pk}/report.html", tags=["cases"])
async def get_report_html(case_pk: str, request: Request) -> Response:
    """The same report as HTML."""
    response: Response = await run_view(request, _report, case_pk, request, "html")
    return response


@router.post("/api/cases/{case_pk}/review", tags=["engineer"])
async def review(case_pk: str, request: Request) -> Response:
    """Engineer: amend outcome / findings / actions / on-site spec (JSON body), optionally sign off."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"detail": "send the review as application/json"}, status_code=415)
    try:
        body = ReviewRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"detail": exc.errors(include_url=False, include_context=False)}, status_code=422)
    return await run_in_threadpool(_review, case_pk, request, body)


def _review(case_pk: str, request: Request, body: ReviewRequest) -> Response:
    c = ctx(request)
    with c.db.session() as session:
        record, role, user = case_for(request, session, case_pk, allow_basic=True)
        if role != "engineer" or user is None:
            return JSONResponse({"detail": "only an engineer can review a case"}, status_code=403)
        try:
            rev, version = apply_review(record, body, user, c.store)
        except ReviewError as exc:
            session.rollback()
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        session.flush()
        rendered = record.diagnoses[-1].version if (version is not None or body.sign_off) else None
        out = {
            "status": record.status,
            "diagnosis_version": rev.diagnosis_version,
            "changes": rev.changes,
            "diagnosis": record.diagnoses[-1].document,
        }
    if rendered is not None:  # committed: render the new version / the signed-off report in the background
        c.worker.enqueue_render(case_pk, rendered)
    return JSONResponse(out)


def rotate_csrf(request: Request, response: Response) -> None:
    """A fresh CSRF seed at login and logout: a token seen before the change of identity (planted by
    someone who shared the browser, or read from a page served to the anonymous visitor) stops working."""
    secure = ctx(request).settings.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(CSRF_COOKIE, new_csrf_seed(), httponly=True, samesite="lax", secure=secure, path="/")


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


@router.post("/api/login", tags=["engineer"])
async def api_login(request: Request) -> Response:
    """Engineer: JSON ``{"email", "password"}`` → the session cookie (``HttpOnly``, ``SameSite=Lax``).

    JSON only, so a cross-site form cannot log a browser in; failed attempts are rate limited.
    """
    c = ctx(request)
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"detail": "send the login as application/json"}, status_code=415)
    try:
        body = LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"detail": exc.errors(include_url=False, include_context=False)}, status_code=422)
    email = body.email.strip().lower()
    keys = login_keys(request, email)
    wait = await run_in_threadpool(c.login_limiter.acquire, *keys)
    if wait is not None:
        return JSONResponse(
            {"detail": "too many failed logins; try again later"},
            status_code=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )

    def check() -> User | None:
        with c.db.session() as session:
            user = session.scalars(select(User).where(User.email == email)).first()
            if not verify_password(user.password_hash if user else None, body.password):
                return None
        c.login_limiter.release(*keys)
        return user

    user = await run_in_threadpool(check)
    if user is None:
        return JSONResponse({"detail": "wrong e-mail or password"}, status_code=401)
    response = JSONResponse({"email": user.email, "role": user.role})
    secure = c.settings.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    cookie = c.signer.session_cookie(user.id, user.password_hash, user.session_generation)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=c.settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    rotate_csrf(request, response)
    return response


@router.get("/api/queue", tags=["engineer"])
def get_queue(request: Request) -> Response:
    """Engineer: cases waiting for review (not signed off), oldest first."""
    with ctx(request).db.session() as session:
        user = current_user(request, session, allow_basic=True)
        if user is None:
            return JSONResponse(
                {"detail": "engineers only: log in or use HTTP Basic"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="pylondiag"'},
            )
        items = []
        for r in queue(session):
            doc = latest_diagnosis(r)
            items.append(
                {
                    "id": r.id,
                    "case_id": r.case_id,
                    "status": r.status,
                    "created_at": r.created_at.isoformat(),
                    "diagnosis_state": r.diagnosis_state,
                    "outcome": doc.get("outcome") if doc else None,
                }
            )
    return JSONResponse({"cases": items})


@router.get("/api/cases/{case_pk}/files/{path:path}", tags=["cases"])
def get_file(case_pk: str, path: str, request: Request) -> Response:
    """One stored evidence file, as submitted (owner token or engineer)."""
    c = ctx(request)
    with c.db.session() as session:
        record, _, _ = case_for(request, session, case_pk, allow_basic=True)
        stored = next((f for f in record.files if f.path == path), None)
        if stored is None:
            raise HTTPException(404, "no such file in this case")
        kind = stored.kind
    data = c.store.read(record.id, path)
    picture = image_type(data)
    media = f"image/{picture}" if picture else "text/plain; charset=utf-8"
    if kind == "photo" and picture is None:
        media = "application/octet-stream"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": "inline", "Cache-Control": "private, no-store"},
    )


@router.get("/healthz", tags=["service"])
def healthz(request: Request) -> Response:
    """200 when the database answers."""
    if ctx(request).db.ping():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


__all__ = ["NOT_FOUND", "router"]
