"""What every request handler needs, built once per app: settings, database, store, worker, signer, limits,
and the cache of case snapshots the owner views read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from pylondiag.service.auth import RateLimiter, Signer
from pylondiag.service.cases import SnapshotCache
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings
from pylondiag.service.storage import EvidenceStore
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
    submit_limiter: RateLimiter
    login_limiter: RateLimiter
    templates: Jinja2Templates
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.ctx
    return context
