"""What every request handler needs, built once per app: settings, database, store, worker, signer, limits,
and the cache of case snapshots the owner views read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request
from fastapi.templating import Jinja2Templates

from pylondiag.service.auth import Signer
from pylondiag.service.cases import SnapshotCache
from pylondiag.service.db.session import Database
from pylondiag.service.held import HeldUploads
from pylondiag.service.mail import Mailer
from pylondiag.service.settings import Settings
from pylondiag.service.shared import SharedRateLimiter
from pylondiag.service.storage import EvidenceStore, LocalBlobs
from pylondiag.service.worker import DiagnosisWorker

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    store: EvidenceStore
    worker: DiagnosisWorker
    signer: Signer
    submit_limiter: SharedRateLimiter
    login_limiter: SharedRateLimiter
    templates: Jinja2Templates
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)
    view_limiter: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(4))
    mailer: Mailer | None = None
    held: HeldUploads = field(default_factory=lambda: HeldUploads(LocalBlobs(Path("pylondiag-data"))))


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.ctx
    return context


async def run_view(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking owner view (database, files) in the views' own small thread pool.

    Requests with HTTP Basic credentials (an engineer's argon2 check, tens of ms) go to the default pool
    instead, so they never hold the threads the owners' views need.
    """
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    limiter = None if basic else ctx(request).view_limiter
    return await anyio.to_thread.run_sync(partial(fn, *args), limiter=limiter)
