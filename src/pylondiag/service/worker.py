"""The diagnosis worker: runs ``pylondiag.pipeline.run_case`` off the request path, one case at a time.

The job state lives in the database (``cases.diagnosis_state``: queued → running → done | failed), not
in memory: the in-process queue only wakes the thread up, and the thread also polls the database. On
start, a case left ``running`` (the process died mid-diagnosis) is put back to ``queued`` and retried;
``Settings.max_diagnosis_attempts`` bounds the retries, so a case that crashes the process every time
ends ``failed`` with its error instead of looping.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from pylondiag.service import mail
from pylondiag.service.db.models import CaseRecord, CaseStatus, DiagnosisState, DiagnosisVersion, utcnow
from pylondiag.service.db.session import Database
from pylondiag.service.diagnose_child import ChildLimits, LimitExceeded, run_limited
from pylondiag.service.review import lock_case
from pylondiag.service.storage import EvidenceStore

if TYPE_CHECKING:
    from pylondiag.report import SignOff

log = logging.getLogger(__name__)

Runner = Callable[[Path], dict[str, Any]]
POLL_S = 2.0
"""How often the worker looks in the database for queued cases it was not told about (s)."""


def run_pipeline(case_dir: Path) -> dict[str, Any]:
    """The pipeline in this process, without limits (tests, and tools that trust their input)."""
    from pylondiag.pipeline import run_case

    return run_case(case_dir).diagnosis.to_json_dict()


def limited_runner(limits: ChildLimits) -> Runner:
    """The service's runner: the pipeline in a child process with ``limits`` (``diagnose_child``)."""

    def run(case_dir: Path) -> dict[str, Any]:
        return run_limited(case_dir, limits)

    return run


class DiagnosisWorker:
    def __init__(
        self,
        db: Database,
        store: EvidenceStore,
        *,
        max_attempts: int = 3,
        runner: Runner | None = None,
        limits: ChildLimits | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.max_attempts = max_attempts
        self.runner = runner or limited_runner(limits or ChildLimits())
        self._wake: queue.Queue[str | None] = queue.Queue()
        self._renders: queue.Queue[tuple[str, int]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()

    # -- life cycle -------------------------------------------------------------------------------
    def recover(self) -> int:
        """Requeue cases a crash left ``running``; fail those out of attempts. Returns how many requeued."""
        with self.db.session() as session:
            stuck = session.scalars(
                select(CaseRecord).where(CaseRecord.diagnosis_state == DiagnosisState.RUNNING.value)
            ).all()
            n = 0
            for case in stuck:
                if case.diagnosis_attempts >= self.max_attempts:
                    case.diagnosis_state = DiagnosisState.FAILED.value
                    case.diagnosis_error = (
                        f"interrupted {case.diagnosis_attempts} times (the service stopped mid-diagnosis); "
                        "not retried again"
                    )
                else:
                    case.diagnosis_state = DiagnosisState.QUEUED.value
                    case.diagnosis_error = "interrupted by a restart; retried"
                    n += 1
                case.updated_at = utcnow()
        return n

    def start(self) -> None:
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pylondiag-diagnosis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def enqueue(self, case_pk: str) -> None:
        self._wake.put(case_pk)

    def enqueue_render(self, case_pk: str, version: int) -> None:
        """Render a new diagnosis version's reports in the background (a cache: lost on a crash, the
        first view renders it then)."""
        self._renders.put((case_pk, version))
        self._wake.put(None)

    # -- work -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Empty):
                self._wake.get(timeout=POLL_S)
            while not self._stop.is_set():
                pk = self._next_queued()
                if pk is None:
                    break
                self.idle.clear()
                try:
                    self.process(pk)
                except Exception:  # the DB went away, etc.: keep the thread alive, retry later
                    log.exception("diagnosis worker: case %s", pk)
                    self._stop.wait(1.0)
            # reports after diagnoses: an owner waits for a diagnosis, nobody waits for a cache
            while not self._stop.is_set() and self._next_queued() is None:
                try:
                    pk, version = self._renders.get_nowait()
                except queue.Empty:
                    break
                self.idle.clear()
                self._render_version(pk, version)
            self.idle.set()

    def _render_version(self, pk: str, version: int) -> None:
        from pylondiag.service.reports import sign_off_of

        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            stored = next((d for d in case.diagnoses if d.version == version), None) if case else None
            if case is None or stored is None:
                return
            document, signed = stored.document, sign_off_of(case, version)
        self.prerender(pk, version, document, signed)

    def _next_queued(self) -> str | None:
        with self.db.session() as session:
            return session.scalars(
                select(CaseRecord.id)
                .where(CaseRecord.diagnosis_state == DiagnosisState.QUEUED.value)
                .order_by(CaseRecord.created_at, CaseRecord.id)
                .limit(1)
            ).first()

    def _claim(self, pk: str) -> bool:
        """queued → running, atomically (only one worker wins a case)."""
        with self.db.session() as session:
            result = session.execute(
                update(CaseRecord)
                .where(CaseRecord.id == pk, CaseRecord.diagnosis_state == DiagnosisState.QUEUED.value)
                .values(
                    diagnosis_state=DiagnosisState.RUNNING.value,
                    diagnosis_attempts=CaseRecord.diagnosis_attempts + 1,
                    updated_at=utcnow(),
                )
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def process(self, pk: str) -> None:
        """Diagnose one queued case and store the result as its next diagnosis version."""
        if not self._claim(pk):
            return
        case_dir = self.store.data_dir
        try:
            with self.store.local_copy(pk) as case_dir:  # the local directory, or a copy of the S3 objects
                document = self.runner(case_dir)
        except LimitExceeded as exc:  # the case itself needs too much: retrying gives the same answer
            log.warning("diagnosis of case %s stopped: %s", pk, exc)
            self._fail(pk, str(exc), retry=False)
            return
        except Exception as exc:
            from pylondiag.service.cases import without_paths

            detail = without_paths(f"{type(exc).__name__}: {exc}", case_dir, self.store.data_dir)
            log.warning("diagnosis of case %s failed: %s\n%s", pk, detail, traceback.format_exc())
            self._fail(pk, detail, retry=True)
            return
        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            if case is None:
                return
            lock_case(case)  # an engineer's amendment may be adding a version right now
            version = (case.diagnoses[-1].version + 1) if case.diagnoses else 1
            case.diagnoses.append(
                DiagnosisVersion(version=version, kind="automatic", document=document, created_at=utcnow())
            )
            if case.diagnosis_state == DiagnosisState.RUNNING.value:  # else evidence came in meanwhile: again
                case.diagnosis_state = DiagnosisState.DONE.value
            case.diagnosis_error = None
            if case.status == CaseStatus.SUBMITTED.value:
                case.status = CaseStatus.DIAGNOSED.value
            case.updated_at = utcnow()
            mail.release(session, pk, mail.PRELIMINARY_READY)
        self.enqueue_render(pk, version)

    def _fail(self, pk: str, detail: str, *, retry: bool) -> None:
        """Record a failed attempt: queued again while attempts remain (``retry``), else ``failed``."""
        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            if case is None:
                return
            again = retry and case.diagnosis_attempts < self.max_attempts
            case.diagnosis_state = (DiagnosisState.QUEUED if again else DiagnosisState.FAILED).value
            case.diagnosis_error = detail
            case.updated_at = utcnow()

    def prerender(
        self, pk: str, version: int, document: dict[str, Any], signed: SignOff | None = None
    ) -> None:
        """Render the new version's reports now, off the request path, so the first view is fast
        (preliminary, or signed off when ``signed`` says by whom and when)."""
        from pylondiag.service.reports import render_cached

        for fmt in ("html", "pdf"):
            try:
                render_cached(self.store, pk, version, document, fmt, signed)
            except Exception:  # a report failure must not fail the diagnosis; the view will retry
                log.exception("pre-rendering the %s report of case %s v%d", fmt, pk, version)

    def rerun(self, pk: str) -> bool:
        """Queue a failed automatic diagnosis again (engineer action); False when it has not failed."""
        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            if case is None or case.diagnosis_state != DiagnosisState.FAILED.value:
                return False
            case.diagnosis_state = DiagnosisState.QUEUED.value
            case.diagnosis_attempts = 0
            case.diagnosis_error = None
        self.enqueue(pk)
        return True

    def drain(self, timeout: float = 60.0) -> bool:
        """Process every queued case in the calling thread; True when none is left."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pk = self._next_queued()
            if pk is None:
                return True
            self.process(pk)
        return False
