"""The FastAPI application: ``create_app(settings)``.

``create_app`` migrates the database to Alembic's head and takes the cookie-signing key from it (or from
``PYLONDIAG_SECRET_KEY``: ``service.shared``); on start-up (the app's lifespan) half-written submissions a
crash left in ``staging/`` are removed, and the diagnosis worker starts when this process runs one
(requeueing any case a crash interrupted). Middlewares add security headers, cap request bodies and hand
every browser a CSRF seed. ``app_from_env`` is the factory the web processes of ``serve --workers N``
start: their settings come from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jinja2
from anyio import CapacityLimiter
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import pylondiag
from pylondiag.service import api, web
from pylondiag.service.auth import CSRF_COOKIE, Signer, new_csrf_seed
from pylondiag.service.context import STATIC_DIR, TEMPLATES_DIR, ServiceContext
from pylondiag.service.db.session import Database
from pylondiag.service.mail import Mailer
from pylondiag.service.settings import Settings, env_settings
from pylondiag.service.shared import SharedRateLimiter, signing_key
from pylondiag.service.storage import StoreUnavailable, open_store
from pylondiag.service.worker import DiagnosisWorker, Runner

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class _BodyTooLarge(Exception):
    pass


class GuardMiddleware:
    """Security headers on every answer, a cap on request bodies (413), and the CSRF seed cookie."""

    def __init__(self, app: ASGIApp, max_body: int, secure_cookies: bool | None) -> None:
        self.app = app
        self.max_body = max_body
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _send_json(send, 413, f"request body over the limit of {self.max_body} bytes")
            return
        seed = _cookie(headers.get(b"cookie", b""), CSRF_COOKIE)
        new_seed = None
        if seed is None:
            new_seed = new_csrf_seed()
        scope.setdefault("state", {})["csrf_seed"] = seed or new_seed
        secure = self.secure_cookies if self.secure_cookies is not None else scope.get("scheme") == "https"
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = list(message.get("headers", []))
                present = {k.lower() for k, _ in out}
                out.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if new_seed is not None:
                    cookie = f"{CSRF_COOKIE}={new_seed}; Path=/; HttpOnly; SameSite=Lax"
                    if secure:
                        cookie += "; Secure"
                    out.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": out}
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, f"request body over the limit of {self.max_body} bytes")


def _cookie(raw: bytes, name: str) -> str | None:
    for part in raw.decode("latin-1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


async def _send_json(send: Send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, *, runner: Runner | None = None) -> FastAPI:
    """The service for ``settings``. ``runner`` diagnoses one case directory (default: the pipeline in a
    child process with ``settings.diagnosis_limits``)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    # The rate limits' own small pool: a request holding a connection of the main pool (HTTP Basic is
    # checked inside the request's session) must never wait for a second one from the same pool.
    limits_db = Database(settings.resolved_database_url, pool=(2, 8))
    store = open_store(settings)
    worker = DiagnosisWorker(
        db,
        store,
        max_attempts=settings.max_diagnosis_attempts,
        runner=runner,
        limits=settings.diagnosis_limits,
        lease_s=settings.diagnosis_lease_s,
        poll_s=settings.worker_poll_s,
    )
    mailer = Mailer(db, settings.smtp)
    env = jinja2.Environment(  # templates ship with the package: compiled once, not re-checked per request
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, auto_reload=False
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals["tool_version"] = pylondiag.__version__
    limits = settings.limits
    context = ServiceContext(
        settings=settings,
        db=db,
        store=store,
        worker=worker,
        signer=Signer(signing_key(db, settings.data_dir, settings.secret), settings.session_max_age_s),
        submit_limiter=SharedRateLimiter(
            limits_db, "submit", limits.submissions_per_window, limits.rate_window_s
        ),
        login_limiter=SharedRateLimiter(limits_db, "login", limits.logins_per_window, limits.rate_window_s),
        templates=templates,
        view_limiter=CapacityLimiter(settings.view_threads),
        mailer=mailer,
        held=store.held,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        leftovers = store.clean_staging()
        if leftovers:
            log.warning("removed %d half-written submission(s) from %s", leftovers, store.staging)
        if settings.run_worker:
            worker.start()
        if settings.run_mailer:
            mailer.start()
        try:
            yield {}
        finally:
            mailer.stop()
            worker.stop()
            db.dispose()
            limits_db.dispose()

    app = FastAPI(
        title="pylondiag remote diagnostic service",
        version=pylondiag.__version__,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads scripts from a CDN; the service links nothing external
        redoc_url=None,
    )
    app.state.ctx = context

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """JSON for the API and machines; a page for people browsing."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if request.url.path.startswith("/api/") or not wants_html:
            return await http_exception_handler(request, exc)
        page = templates.TemplateResponse(
            request,
            "error.html",
            {"message": exc.detail, "csrf_token": "", "csrf_field": "csrf_token"},
            status_code=exc.status_code,
        )
        return page

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        """The object store did not answer: 503 with a plain message (the detail goes to the log)."""
        log.error("evidence store (%s): %s", store.describe(), exc.detail)
        return await http_error(request, StarletteHTTPException(503, str(exc)))

    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(
        GuardMiddleware, max_body=limits.max_request_bytes, secure_cookies=settings.secure_cookies
    )
    if settings.trusted_proxies:  # outermost: the client address is settled before anything counts it
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app


def app_from_env() -> FastAPI:
    """The app of one web process started by ``pylondiag serve --workers N`` (uvicorn's factory): every
    setting from the ``PYLONDIAG_*`` environment the ``serve`` command handed down."""
    return create_app(env_settings().service_settings())
