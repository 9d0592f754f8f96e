"""``pylondiag worker``: a process that diagnoses queued cases from the shared database.

Run one or more, on any machine that reaches the database and the evidence store (the data directory
on a shared filesystem, or the store named in the settings). Each claims one case at a time
(``service/worker.py``: ``FOR UPDATE SKIP LOCKED``, claim token, lease with heartbeat); SIGTERM or
SIGINT stops it after the job in hand (a diagnosis, bounded by ``Settings.diagnosis_limits``, or one
version's report pre-rendering).
A worker killed outright loses nothing: its lease expires and another worker takes the case again.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from pylondiag.service.db.session import Database
from pylondiag.service.settings import Settings
from pylondiag.service.storage import open_store
from pylondiag.service.worker import DiagnosisWorker

log = logging.getLogger(__name__)


def build_worker(settings: Settings, db: Database) -> DiagnosisWorker:
    """The worker for ``settings`` on ``db`` (the same construction as ``pylondiag serve``'s thread)."""
    return DiagnosisWorker(
        db,
        open_store(settings),
        max_attempts=settings.max_diagnosis_attempts,
        limits=settings.diagnosis_limits,
        lease_s=settings.diagnosis_lease_s,
        poll_s=settings.worker_poll_s,
    )


def run_worker(settings: Settings, *, once: bool = False) -> int:
    """Diagnose queued cases until SIGTERM/SIGINT (``once``: until none is queued). Returns 0."""
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()  # idempotent; serialised with other starting processes on PostgreSQL
        worker = build_worker(settings, db)
        if once:
            worker.reap()
            worker.drain(timeout=float("inf"))
            return 0
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.warning(
                "worker %s: %s, stopping after the case in hand", worker.name, signal.Signals(signum).name
            )
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        print(f"pylondiag worker {worker.name}: waiting for cases (lease {worker.lease_s:g} s)", flush=True)
        worker.run_forever(stop)
        return 0
    finally:
        db.dispose()
