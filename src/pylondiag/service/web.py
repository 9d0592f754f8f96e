"""The web pages: owner intake and private case page, engineer login, queue, case review; admin users.

Every form carries a CSRF token (``auth.Signer.csrf_token`` of the browser's seed cookie) checked before
anything else. Templates are Jinja2 with autoescaping; nothing the owner typed is rendered unescaped.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from pylondiag.model.diagnosis import Cause, FindingSeverity, Outcome, Verdict
from pylondiag.service import intake
from pylondiag.service.access import case_for, client_key, current_user, login_keys
from pylondiag.service.api import read_form, rotate_csrf
from pylondiag.service.auth import (
    CSRF_FIELD,
    ROLES,
    SESSION_COOKIE,
    hash_password,
    verify_password,
)
from pylondiag.service.cases import (
    QUEUE_STATUSES,
    Contact,
    add_files,
    latest_diagnosis,
    queue_page,
    submit_case,
    submitted_before,
)
from pylondiag.service.context import ServiceContext, ctx, run_view
from pylondiag.service.db.models import CaseRecord, CaseStatus, User
from pylondiag.service.mail import BadAddress, normalise_address
from pylondiag.service.owner import case_title, owner_view, what_changed
from pylondiag.service.reports import render_cached
from pylondiag.service.review import ReviewError, ReviewRequest, apply_review, reopen
from pylondiag.service.review_words import FormFieldError, field_of, plain_errors
from pylondiag.service.storage import StoreUnavailable, split_lines
from pylondiag.service.uploads import (
    ZIP_CONTENT_TYPES,
    IncomingFile,
    UploadRefused,
    check_content,
    read_zip,
)

router = APIRouter(include_in_schema=False)

UPLOAD_FIELDS = (
    ("up_console", "console"),
    ("up_inverter", "inverter"),
    ("up_can", "can"),
    ("up_rs485", "rs485"),
    ("up_photos", "photos"),
)
OWNER_UPLOADS = (
    ("up_console", "Console captures", ".txt,.log,text/plain"),
    ("up_inverter", "Inverter event log", ".csv,.txt,.log,.json,text/*,application/json"),
    ("up_can", "CAN frames (candump)", ".log,.txt,text/*"),
    ("up_rs485", "RS485 frames", ".log,.txt,text/*"),
    ("up_photos", "Photos", "image/*"),
    ("up_zip", "One .zip of files", ".zip,application/zip"),
)
VIEWER_MAX_LINES = 4000


# -- helpers --------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    return ctx(request).signer.csrf_token(request.state.csrf_seed)


def check_csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not ctx(request).signer.csrf_ok(request.state.csrf_seed, token if isinstance(token, str) else None):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and retry")


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    c = ctx(request)
    email = role = None
    if request.cookies.get(SESSION_COOKIE):  # owners have none: no database session for them
        with c.db.session() as session:
            user = current_user(request, session)
            email = user.email if user else None
            role = user.role if user else None
    response = c.templates.TemplateResponse(
        request,
        name,
        {
            "csrf_token": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "user_email": email,
            "user_role": role,
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    secure = ctx(request).settings.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")


def _safe_name(name: str) -> str:
    base = re.split(r"[/\\]", name)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .") or "file"
    return base[:100]


def _engineer(request: Request) -> User | None:
    with ctx(request).db.session() as session:
        return current_user(request, session)


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


# -- owner ----------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/new", response_class=HTMLResponse)
def new_case(request: Request, modules: str | None = None) -> HTMLResponse:
    n = intake.module_count(modules)
    if n is None:
        return render(
            request,
            "intake_start.html",
            max_modules=intake.MAX_MODULES,
            error="Give a number from 1 to 16." if modules else None,
        )
    return render(request, "intake.html", **_intake_context(n, {}, [], idem=new_form_key()))


def new_form_key() -> str:
    """A fresh idempotency key for one intake form (random; it also unlocks the files held for it)."""
    return secrets.token_urlsafe(24)


def _intake_context(
    n: int,
    values: dict[str, Any],
    errors: list[str],
    *,
    idem: str,
    fields: dict[str, str] | None = None,
    held: list[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    return {
        "n": n,
        "values": values,
        "errors": errors,
        "fields": fields or {},
        "idem": idem,
        "held": held or [],
        "models": intake.MODELS,
        "leds": intake.LEDS,
        "brands": intake.BRANDS,
        "symptoms": intake.SYMPTOMS,
        "history_events": intake.HISTORY_EVENTS,
        "history_rows": intake.HISTORY_ROWS,
        "time_zones": intake.time_zones(),
    }


async def _form_files(
    form: FormData, request: Request, taken: set[str] | None = None
) -> tuple[list[IncomingFile], dict[str, str]]:
    """The uploaded files of a form, each checked on its own: the good ones, and a message per upload field
    whose file is refused (so the good ones can be kept while the owner fixes the bad one)."""
    limits = ctx(request).settings.limits
    files: list[IncomingFile] = []
    problems: dict[str, str] = {}
    used: set[str] = set(taken or ())
    for field, folder in UPLOAD_FIELDS:
        for value in form.getlist(field):
            if not isinstance(value, UploadFile) or not value.filename:
                continue
            name = _safe_name(value.filename)
            path = f"{folder}/{name}"
            k = 2
            while path in used:
                stem, dot, ext = name.rpartition(".")
                path = f"{folder}/{stem}-{k}.{ext}" if dot else f"{folder}/{name}-{k}"
                k += 1
            data = await value.read()
            try:
                if not data:
                    raise UploadRefused(
                        f"{value.filename} is empty (0 bytes): choose the file again or leave it out"
                    )
                check_content(path, data, value.content_type)
            except UploadRefused as exc:
                problems.setdefault(field, exc.message)
                continue
            used.add(path)
            files.append(IncomingFile(path, data))
    zipped = form.get("up_zip")
    if isinstance(zipped, UploadFile) and zipped.filename:
        try:
            files.extend(await _zip_files(zipped, limits, used))
        except UploadRefused as exc:
            problems["up_zip"] = exc.message
    return files, problems


async def _zip_files(zipped: UploadFile, limits: Any, used: set[str]) -> list[IncomingFile]:
    declared = (zipped.content_type or "").split(";")[0].strip().lower()
    if declared not in ZIP_CONTENT_TYPES:
        raise UploadRefused(f"{zipped.filename}: declared as {declared!r}; expected a .zip", status=415)
    data = await zipped.read()
    if not data:
        raise UploadRefused(f"{zipped.filename} is empty (0 bytes): choose the file again or leave it out")
    out = []
    name = _safe_name(zipped.filename or "case.zip")
    for f in await run_in_threadpool(read_zip, data, limits, name=name):  # inflating: off the event loop
        if f.path == "case.yaml":
            raise UploadRefused(
                f"{zipped.filename}: holds a case.yaml, but this form writes case.yaml itself; remove it "
                "from the zip (or submit the zip alone through the API)"
            )
        if not f.data:
            raise UploadRefused(f"{zipped.filename}: {f.path} is empty (0 bytes)")
        check_content(f.path, f.data)
        if f.path in used:
            raise UploadRefused(f"{f.path} is both in the zip and uploaded on its own")
        used.add(f.path)
        out.append(f)
    return out


def _form_key(form: FormData) -> str:
    raw = form.get("idem")
    key = raw if isinstance(raw, str) else ""
    return key if re.fullmatch(r"[A-Za-z0-9_-]{20,64}", key) else new_form_key()


@router.post("/new", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    """The intake form. Junk makes no case (an empty form, a 0-byte file, the same form twice); a refusal
    answers the form again with every value typed, the good files kept (held) and each message next to its
    field as well as at the top."""
    c = ctx(request)
    try:
        form = await read_form(request, c.settings.limits)
    except UploadRefused as exc:
        return render(request, "error.html", status=exc.status, message=exc.message)
    try:
        check_csrf(request, form)
        key = _form_key(form)
        before = await run_in_threadpool(submitted_before, c.db, key)
        if before is not None:  # the same form again (back button, second click): the case it made
            return RedirectResponse(f"/c/{before[0]}?token={before[1]}&new=1", status_code=303)
        values: dict[str, Any] = {k: (v if isinstance(v, str) else "") for k, v in form.multi_items()}
        values["symptoms"] = [v for v in form.getlist("symptoms") if isinstance(v, str)]
        n = intake.module_count(values.get("modules")) or 1
        errors: list[str] = []
        fields: dict[str, str] = {}
        case: dict[str, Any] = {}
        try:
            case = intake.case_from_form({**values, "symptoms": values["symptoms"]})
        except intake.IntakeErrors as exc:
            errors, fields = list(exc.errors), dict(exc.fields)
        contact = Contact(name=(values.get("contact_name") or "").strip()[:120] or None)
        try:
            contact = Contact(email=normalise_address(values.get("contact_email") or ""), name=contact.name)
        except BadAddress as exc:
            errors.append(f"E-mail address: {exc}")
            fields["contact_email"] = f"{exc}"
        kept = {v for v in form.getlist("keep_held") if isinstance(v, str)}
        held = await run_in_threadpool(c.held.take, key, kept)  # the store may be across the network
        files, problems = await _form_files(form, request, taken={f.path for f in held})
        for field, message in problems.items():
            errors.append(message)
            fields[field] = message
        files = held + files
        if not errors and intake.is_empty(case) and not files:
            errors.append(
                "The form is empty: describe at least one module (its lights, model or switch) or add a file."
            )
        if errors:
            await run_in_threadpool(c.held.keep, key, [f for f in files if f not in held])
            return _intake_refused(request, n, values, errors, fields, key, status=422)
        wait = await run_in_threadpool(c.submit_limiter.acquire, client_key(request))
        if wait is not None:
            return render(
                request,
                "error.html",
                status=429,
                message="Too many submissions from your address; try again in a minute.",
            )
        try:
            files.insert(0, IncomingFile("case.yaml", intake.case_yaml_text(case).encode()))
            record, token = await run_in_threadpool(
                partial(
                    submit_case,
                    c.db,
                    c.store,
                    files,
                    source="form",
                    limits=c.settings.limits,
                    contact=contact,
                    base_url=str(request.base_url).rstrip("/"),
                    idem_key=key,
                )
            )
        except IntegrityError:  # the same form raced itself: the other request made the case
            before = await run_in_threadpool(submitted_before, c.db, key)
            if before is None:
                raise
            return RedirectResponse(f"/c/{before[0]}?token={before[1]}&new=1", status_code=303)
        except UploadRefused as exc:
            await run_in_threadpool(c.held.keep, key, [f for f in files[1:] if f not in held])
            bad = _upload_field(exc.source)
            return _intake_refused(
                request,
                n,
                values,
                [exc.message],
                {bad: exc.message} if bad else {},
                key,
                status=exc.status,
            )
    finally:
        await form.close()
    await run_in_threadpool(c.held.drop, key)
    c.worker.enqueue(record.id)
    return RedirectResponse(f"/c/{record.id}?token={token}&new=1", status_code=303)


def _upload_field(source: str | None) -> str | None:
    """The form field a refused file came from (by its folder)."""
    if not source or "/" not in source:
        return None
    folder = source.split("/", 1)[0]
    return next((field for field, f in UPLOAD_FIELDS if f == folder), None)


def _intake_refused(
    request: Request,
    n: int,
    values: dict[str, Any],
    errors: list[str],
    fields: dict[str, str],
    key: str,
    *,
    status: int,
) -> HTMLResponse:
    held = ctx(request).held.listed(key)
    return render(
        request,
        "intake.html",
        status=status,
        **_intake_context(n, values, errors, idem=key, fields=fields, held=held),
    )


@router.get("/c/{case_pk}", response_class=HTMLResponse)
async def owner_case(
    case_pk: str, request: Request, token: str | None = None, new: str | None = None
) -> Response:
    response: Response = await run_view(request, _owner_case, case_pk, request, token, new)
    return response


def _owner_case(case_pk: str, request: Request, token: str | None, new: str | None) -> Response:
    return render(request, "owner_case.html", **_owner_context(request, case_pk, token, new=bool(new)))


def _owner_context(request: Request, case_pk: str, token: str | None, **extra: Any) -> dict[str, Any]:
    c = ctx(request)
    with c.db.session() as session:
        record, role, _ = case_for(request, session, case_pk)
        snap = c.snapshots.get(session, record)
        changes = what_changed(session, record)
    link = f"{str(request.base_url).rstrip('/')}/c/{case_pk}?token={token}" if token else None
    page = owner_page(record, snap, role=role, token=token, link=link, **extra)
    page["changes"] = changes
    page["pending"] = page["pending"] or any("being diagnosed again" in x for x in changes)
    page["contact_email"] = mask_address(record.contact_email) if token else None
    page["idem"] = new_form_key()
    return page


def mask_address(address: str | None) -> str | None:
    """``jane.doe@example.com`` → ``j…@example.com``: enough for the owner to recognise, little for others."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


@router.post("/c/{case_pk}/files", response_class=HTMLResponse)
async def owner_add_files(case_pk: str, request: Request, token: str | None = None) -> Response:
    """More evidence for an open case from its private page: stored as the next batch, diagnosed again."""
    c = ctx(request)
    try:
        form = await read_form(request, c.settings.limits)
    except UploadRefused as exc:
        return render(request, "error.html", status=exc.status, message=exc.message)
    try:
        check_csrf(request, form)
        # 404 unless the token (or an engineer session) fits
        await run_view(request, _owner_context, request, case_pk, token)
        files, problems = await _form_files(form, request)
        message = next(iter(problems.values()), None)
        if message is None and not files:
            message = "Choose at least one file (or a .zip) to send."
        if message is None:
            try:
                addition = await run_in_threadpool(
                    partial(add_files, c.db, c.store, case_pk, files, limits=c.settings.limits)
                )
            except UploadRefused as exc:
                message = exc.message
    finally:
        await form.close()
    if message is not None:
        page = await run_view(request, _owner_context, request, case_pk, token)
        return render(request, "owner_case.html", status=422, add_error=message, **page)
    if addition.paths:
        c.worker.enqueue(case_pk)
    where = f"/c/{case_pk}?token={token}" if token else f"/cases/{case_pk}"
    return RedirectResponse(f"{where}#what-changed", status_code=303)


def owner_page(record: CaseRecord, snap: Any, **extra: Any) -> dict[str, Any]:
    """The owner case page's context (also used when an added-evidence form is refused)."""
    signed = record.status == CaseStatus.SIGNED_OFF.value
    return {
        "case": record,
        "title": case_title(record),
        "files": owner_files(snap.files),
        "view": owner_view(snap.document, record.observations) if snap.document else None,
        "version": snap.version,
        "signed_off": signed,
        "pending": record.diagnosis_state in ("queued", "running"),
        "can_add": extra.get("token") is not None and not signed,
        "upload_fields": OWNER_UPLOADS,
        "changes": [],
        **extra,
    }


KIND_WORDS = {
    "case_yaml": "your answers to the form",
    "console": "console capture",
    "inverter": "inverter event log",
    "can": "CAN frame log",
    "rs485": "RS485 frame log",
    "photo": "photo",
    "other": "other file",
}


def owner_files(files: Any) -> list[dict[str, Any]]:
    """The case's files as the owner knows them: file name and what it is, no folder paths."""
    out = []
    for f in files:
        name = "The form you filled in" if f.kind == "case_yaml" else f.path.rsplit("/", 1)[-1]
        out.append({"name": name, "kind": KIND_WORDS.get(f.kind, f.kind), "size": f.size})
    return out


def _case_page_context(record: CaseRecord) -> dict[str, Any]:
    doc = latest_diagnosis(record)
    latest = record.diagnoses[-1] if record.diagnoses else None
    automatic = next((d.document for d in record.diagnoses if d.kind == "automatic"), None)
    return {
        "case": record,
        "files": list(record.files),
        "diagnosis": doc,
        "automatic": automatic,
        "version": latest.version if latest else None,
        "kind": latest.kind if latest else None,
        "signed_off": record.status == CaseStatus.SIGNED_OFF.value,
        "pending": record.diagnosis_state in ("queued", "running"),
        "reviews": [
            {
                "at": r.created_at,
                "by": r.user.email,
                "action": r.action,
                "changes": r.changes,
                "note": r.note,
                "version": r.diagnosis_version,
            }
            for r in record.reviews
        ],
    }


@router.get("/c/{case_pk}/report.{fmt}")
async def owner_report(case_pk: str, fmt: str, request: Request) -> Response:
    """The report: preliminary (marked so on every page) until an engineer signs it off, then signed."""
    response: Response = await run_view(request, _owner_report, case_pk, fmt, request)
    return response


def _owner_report(case_pk: str, fmt: str, request: Request) -> Response:
    if fmt not in ("html", "pdf"):
        raise HTTPException(404, "no such report format")
    c = ctx(request)
    with c.db.session() as session:
        record, _role, _ = case_for(request, session, case_pk)
        snap = c.snapshots.get(session, record)
        if snap.version is None or snap.document is None:
            raise HTTPException(404, "no report yet")
        number, document, signed = snap.version, snap.document, snap.sign_off
    try:
        data = render_cached(c.store, case_pk, number, document, fmt, signed)
    except StoreUnavailable:
        raise  # 503, not a rendering failure
    except Exception as exc:
        raise HTTPException(500, f"the report could not be rendered ({type(exc).__name__})") from exc
    headers = {
        "Cache-Control": "private, no-store",
        # the report's own HTML carries its styles inline; it runs no script
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "font-src data:; frame-ancestors 'none'",
    }
    if fmt == "pdf":
        return Response(data, media_type="application/pdf", headers=headers)
    return Response(data, media_type="text/html; charset=utf-8", headers=headers)


# -- engineer -------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/queue") -> HTMLResponse:
    return render(
        request, "login.html", next=next if next.startswith("/") and not next.startswith("//") else "/queue"
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    c = ctx(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    email = str(form.get("email") or "").strip().lower()
    password = str(form.get("password") or "")
    target = str(form.get("next") or "/queue")
    if not target.startswith("/") or target.startswith("//"):
        target = "/queue"
    keys = login_keys(request, email)
    if await run_in_threadpool(c.login_limiter.acquire, *keys) is not None:
        return render(
            request,
            "login.html",
            status=429,
            next=target,
            error="Too many failed logins. Wait a minute and try again.",
        )

    def check() -> User | None:
        with c.db.session() as session:
            user = session.scalars(select(User).where(User.email == email)).first()
            if not verify_password(user.password_hash if user else None, password):
                return None
        c.login_limiter.release(*keys)
        return user

    user = await run_in_threadpool(check)
    if user is None:
        return render(request, "login.html", status=401, next=target, error="Wrong e-mail or password.")
    response = RedirectResponse(target, status_code=303)
    cookie = c.signer.session_cookie(user.id, user.password_hash, user.session_generation)
    set_cookie(request, response, SESSION_COOKIE, cookie, c.settings.session_max_age_s)
    rotate_csrf(request, response)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form)
    await run_in_threadpool(end_sessions, request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    rotate_csrf(request, response)
    return response


def end_sessions(request: Request) -> None:
    """Logout on the server: the account's session generation moves on, so no copy of the cookie (this
    browser's or another device's) is accepted again."""
    with ctx(request).db.session() as session:
        user = current_user(request, session)
        if user is not None:
            user.session_generation += 1


@router.get("/queue", response_class=HTMLResponse)
def queue_page_view(request: Request, status: str = "open", q: str = "", page: int = 1) -> Response:
    """The engineers' queue: filter by status, search site / serial / owner name / case id, paged, oldest
    first; cases waiting longer than ``Settings.queue_old_after_h`` are marked."""
    c = ctx(request)
    status = status if status in QUEUE_STATUSES else "open"
    q = q.strip()[:100]
    size = c.settings.queue_page_size
    now = datetime.now(UTC)
    old_after = timedelta(hours=c.settings.queue_old_after_h)
    with c.db.session() as session:
        user = current_user(request, session)
        if user is None:
            return _login_redirect(request)
        records, total = queue_page(session, status=status, search=q, page=page, size=size)
        rows = []
        for r in records:
            created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
            waiting = now - created
            rows.append(
                {
                    "case": r,
                    "title": case_title(r),
                    "owner": r.contact_name or "",
                    "outcome": (latest_diagnosis(r) or {}).get("outcome"),
                    "modules": len((r.observations or {}).get("stack") or []),
                    "old": r.status != CaseStatus.SIGNED_OFF.value and waiting > old_after,
                    "waiting": _waited(waiting),
                }
            )
    pages = max(1, -(-total // size))
    return render(
        request,
        "queue.html",
        rows=rows,
        total=total,
        filter_status=status,
        statuses=QUEUE_STATUSES,
        q=q,
        page=min(max(page, 1), pages),
        pages=pages,
        old_after_h=c.settings.queue_old_after_h,
    )


def _waited(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return "under an hour"
    if hours < 48:
        return f"{int(hours)} h"
    return f"{int(hours // 24)} days"


def _citations(doc: dict[str, Any] | None) -> dict[str, set[int]]:
    cited: dict[str, set[int]] = {}
    for finding in (doc or {}).get("findings") or []:
        for ref in finding.get("evidence") or []:
            if ref.get("line"):
                end = ref.get("end_line") or ref["line"]
                cited.setdefault(ref["source"], set()).update(range(ref["line"], end + 1))
    return cited


@router.get("/cases/{case_pk}", response_class=HTMLResponse)
def engineer_case(case_pk: str, request: Request, error: str | None = None) -> Response:
    c = ctx(request)
    with c.db.session() as session:
        user = current_user(request, session)
        if user is None:
            return _login_redirect(request)
        record, _, _ = case_for(request, session, case_pk)
        page = _engineer_page(c, record, error=error)
    return render(request, "engineer_case.html", **page)


def _engineer_page(
    c: ServiceContext,
    record: CaseRecord,
    error: str | None = None,
    submitted: dict[str, str] | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """The engineer case page's context. ``submitted`` (a refused amendment's form values) fills the
    amend form instead of the stored diagnosis, and ``error`` is then shown next to that form."""
    page = _case_page_context(record)
    viewer = _viewer(c, record, page["diagnosis"])
    form_shown = page["diagnosis"] is not None and not page["signed_off"]
    in_form = submitted is not None and form_shown

    def typed(key: str, default: Any = "") -> Any:
        """What the engineer typed in ``key`` on a refused amendment, else the page's default."""
        return submitted.get(key, "") if in_form and submitted is not None else default

    return {
        **page,
        "title": case_title(record),
        "viewer": viewer,
        "anchors": {f["path"]: f["anchor"] for f in viewer},
        "error": None if in_form else error,
        "review_error": error if in_form else None,
        "bad_field": field if in_form else None,
        "submitted": in_form,
        "typed": typed,
        "outcomes": [o.value for o in Outcome],
        "causes": [x.value for x in Cause],
        "verdicts": [v.value for v in Verdict],
        "severities": [s.value for s in FindingSeverity],
    }


def _viewer(c: ServiceContext, record: CaseRecord, doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    cited = _citations(doc)
    out = []
    for idx, f in enumerate(record.files):
        item: dict[str, Any] = {
            "path": f.path,
            "kind": f.kind,
            "size": f.size,
            "sha256": f.sha256,
            "batch": f.batch,
            "anchor": f"f{idx}",
            "lines": None,
            "truncated": False,
        }
        if f.kind != "photo":
            try:
                lines = split_lines(c.store.read(record.id, f.path))
            except OSError:
                lines = ["(file missing from the data directory)"]
            marks = cited.get(f.path, set())
            item["truncated"] = len(lines) > VIEWER_MAX_LINES
            item["lines"] = [(n, text, n in marks) for n, text in enumerate(lines[:VIEWER_MAX_LINES], 1)]
            item["cited"] = sorted(marks)
        out.append(item)
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def review_from_form(form: FormData, doc: dict[str, Any]) -> ReviewRequest:
    """The engineer's amendment form as a review (every amendable field given; unchanged ones diff away)."""

    def get(key: str) -> str:
        return str(form.get(key) or "").strip()

    def number(key: str, default: Any, label: str, *, integer: bool = False) -> Any:
        raw = get(key)
        if not raw:
            return default
        try:
            return int(raw) if integer else float(raw.replace(",", "."))
        except ValueError:
            raise FormFieldError(
                key, f"{label}: {raw!r} is not a{'' if integer else ' decimal'} number"
            ) from None

    modules = []
    for i, m in enumerate(doc.get("modules") or []):
        causes = [x.strip() for x in get(f"mod{i}_causes").split(",") if x.strip()]
        modules.append({**m, "verdict": get(f"mod{i}_verdict") or m["verdict"], "causes": causes})
    findings = []
    for i, f in enumerate(doc.get("findings") or []):
        if not get(f"f{i}_keep"):
            continue
        findings.append(
            {
                **f,
                "severity": get(f"f{i}_severity") or f["severity"],
                "message": get(f"f{i}_message") or f["message"],
                "confidence": number(f"f{i}_confidence", f["confidence"], f"Finding {i + 1} confidence"),
            }
        )
    if get("new_code"):
        ref: dict[str, Any] = {"source": get("new_source")}
        if get("new_source") == "case.yaml":
            ref["key"] = get("new_key") or "notes"
        else:
            ref["line"] = number("new_line", None, "New finding line", integer=True)
        findings.append(
            {
                "code": get("new_code"),
                "severity": get("new_severity") or "fault",
                "module": number("new_module", None, "New finding module position", integer=True),
                "confidence": number("new_confidence", 0.8, "New finding confidence"),
                "message": get("new_message"),
                "evidence": [ref],
            }
        )
    actions = []
    for step, line in enumerate(_lines(get("actions")), 1):
        on_site = line.lower().startswith("on-site:")
        actions.append(
            {"step": step, "text": line.split(":", 1)[1].strip() if on_site else line, "on_site": on_site}
        )
    work, parts, checks = _lines(get("spec_work")), _lines(get("spec_parts")), _lines(get("spec_checks"))
    spec = {"work": work, "parts": parts, "checks_after": checks} if (work or parts or checks) else None
    return ReviewRequest.model_validate(
        {
            "outcome": get("outcome") or doc.get("outcome"),
            "primary_cause": get("primary_cause") or None,
            "summary": get("summary") or doc.get("summary"),
            "modules": modules,
            "findings": findings,
            "actions": actions,
            "on_site_spec": spec,
            "note": get("note") or None,
            "sign_off": get("do") == "sign_off",
        }
    )


@router.post("/cases/{case_pk}/review")
async def review_form(case_pk: str, request: Request) -> Response:
    """Apply the amend form. A refusal stores nothing and answers the page again (the refusal's status,
    422 for content) with the engineer's values still in the form and the reason next to it."""
    c = ctx(request)
    form = await request.form(max_files=0, max_fields=2000)
    check_csrf(request, form)
    submitted = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != CSRF_FIELD}

    def work() -> tuple[int, dict[str, Any]] | None:
        with c.db.session() as session:
            user = current_user(request, session)
            if user is None:
                raise HTTPException(404, "no such case")
            record, _, _ = case_for(request, session, case_pk)
            doc = latest_diagnosis(record)
            if doc is None:
                return 409, _engineer_page(c, record, "There is no diagnosis to amend yet.")
            positions = [m.get("position") for m in doc.get("modules") or []]
            try:
                body = review_from_form(form, doc)
                _, version = apply_review(record, body, user, c.store)
            except ReviewError as exc:
                session.rollback()
                field = field_of(exc.message, positions)
                return exc.status, _engineer_page(c, record, exc.message, submitted, field=field)
            except FormFieldError as exc:
                session.rollback()
                return 422, _engineer_page(c, record, exc.message, submitted, field=exc.field)
            except ValidationError as exc:
                session.rollback()
                problems = plain_errors(exc, positions)
                message = "The amendment is not valid: " + "; ".join(m for _, m in problems)
                return 422, _engineer_page(c, record, message, submitted, field=problems[0][0])
            session.commit()
            if version is not None or body.sign_off:
                c.worker.enqueue_render(record.id, record.diagnoses[-1].version)
            return None

    return _case_page_or_review(request, await run_in_threadpool(work), case_pk)


@router.post("/cases/{case_pk}/reopen")
async def reopen_form(case_pk: str, request: Request) -> Response:
    """Reopen a signed-off case with a reason: a new version to amend; the signed one stays in the history."""
    c = ctx(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    reason = str(form.get("reason") or "")

    def work() -> tuple[int, dict[str, Any]] | None:
        with c.db.session() as session:
            user = current_user(request, session)
            if user is None:
                raise HTTPException(404, "no such case")
            record, _, _ = case_for(request, session, case_pk)
            try:
                reopen(record, user, reason)
            except ReviewError as exc:
                session.rollback()
                page = _engineer_page(c, record)
                page.update(reopen_error=exc.message, reopen_reason=reason)
                return exc.status, page
            session.commit()
            c.worker.enqueue_render(record.id, record.diagnoses[-1].version)
            return None

    return _case_page_or_review(request, await run_in_threadpool(work), case_pk)


def _case_page_or_review(
    request: Request, refused: tuple[int, dict[str, Any]] | None, case_pk: str
) -> Response:
    """A refused engineer action answers the case page again (with its status); a done one goes to it."""
    if refused is not None:
        status, page = refused
        return render(request, "engineer_case.html", status=status, **page)
    return RedirectResponse(f"/cases/{case_pk}#review", status_code=303)


@router.post("/cases/{case_pk}/rerun")
async def rerun(case_pk: str, request: Request) -> Response:
    c = ctx(request)
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form)
    if _engineer(request) is None:
        raise HTTPException(404, "no such case")
    c.worker.rerun(case_pk)
    return RedirectResponse(f"/cases/{case_pk}", status_code=303)


# -- admin ----------------------------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, error: str | None = None) -> Response:
    c = ctx(request)
    with c.db.session() as session:
        user = current_user(request, session)
        if user is None:
            return _login_redirect(request)
        if user.role != "admin":
            raise HTTPException(403, "admins only")
        users = list(session.scalars(select(User).order_by(User.email)))
    return render(request, "admin_users.html", users=users, roles=ROLES, error=error)


@router.post("/admin/users")
async def create_user_form(request: Request) -> Response:
    c = ctx(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    email = str(form.get("email") or "").strip().lower()
    password = str(form.get("password") or "")
    role = str(form.get("role") or "engineer")
    with c.db.session() as session:
        user = current_user(request, session)
        if user is None or user.role != "admin":
            raise HTTPException(403, "admins only")
        problem = validate_new_user(email, password, role)
        if problem is None and session.scalars(select(User).where(User.email == email)).first():
            problem = f"{email} already has an account"
        if problem is None:
            session.add(User(email=email, password_hash=hash_password(password), role=role))
    if problem:
        return RedirectResponse(f"/admin/users?error={quote(problem)}", status_code=303)
    return RedirectResponse("/admin/users", status_code=303)


def validate_new_user(email: str, password: str, role: str) -> str | None:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        return f"{email!r} is not an e-mail address"
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if len(password) < 10:
        return "the password needs at least 10 characters"
    return None
