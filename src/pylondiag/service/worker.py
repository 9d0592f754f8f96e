"""The diagnosis worker: claims queued cases from the database and diagnoses them off the request path.

The job queue is the ``cases`` table itself (``diagnosis_state``: queued → running → done | failed),
shared by every process on the database: the thread inside ``pylondiag serve`` (``Settings.run_worker``)
and any number of ``pylondiag worker`` processes on any machine (``service/worker_main.py``).

- **Claim**: one transaction picks the oldest queued case with ``SELECT … FOR UPDATE SKIP LOCKED``
  (PostgreSQL: concurrent workers never wait for each other nor take the same case; SQLite, one
  process, ignores the clause and the conditional ``UPDATE … WHERE state='queued'`` decides) and marks
  it ``running`` with a fresh random **claim token**, the worker's name and a **lease**
  (``lease_until`` = the database's clock + ``lease_s``).
- **Heartbeat**: while the diagnosis runs, a thread extends the lease every ``lease_s / 3`` — only
  while the row still carries this worker's token.
- **Reap**: any worker, before each claim, puts a ``running`` case whose lease has expired (its worker
  was killed, or lost the database for longer than the lease) back to ``queued``, or to ``failed``
  once it has been tried ``max_attempts`` times. At start, ``pylondiag serve`` on SQLite (one process
  by design) requeues every ``running`` case.
- **Complete**: the new :class:`DiagnosisVersion`, ``done``, the owner's mail release and the report
  rendering request are written in ONE transaction, under the case's row lock, and only if the row
  still carries this worker's claim token. A worker presumed dead that finishes late finds another
  token (or none) and its result is discarded: each claim produces at most one version.

The diagnosis itself runs in a limited child process (``diagnose_child``); a case over its limits ends
``failed`` at once with the reason (not retried); another failure is retried up to ``max_attempts``.

Reports: a new version's HTML and PDF are pre-rendered into the report cache by a worker (the
``render_version`` column is the request; any worker takes it), so the first view is a file read. It
is a cache: a request lost in a crash only means the first view renders it.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from pylondiag.service import mail
from pylondiag.service.db.models import CaseRecord, CaseStatus, DiagnosisState, DiagnosisVersion, utcnow
from pylondiag.service.db.session import Database
from pylondiag.service.diagnose_child import ChildLimits, LimitExceeded, run_limited
from pylondiag.service.review import lock_case
from pylondiag.service.storage import EvidenceStore, StoreUnavailable

if TYPE_CHECKING:
    from pylondiag.report import SignOff

log = logging.getLogger(__name__)

Runner = Callable[[Path], dict[str, Any]]
POLL_S = 1.0
"""How often an idle worker looks in the database for queued cases it was not told about (s)."""
ORPHAN_AGE_S = 3600.0
"""A case's files with no database row are removed once their newest file is this old (s): a submission
writes its files, then commits its row within seconds, so only a process killed in between leaves them."""
SWEEP_EVERY_S = 3600.0
"""How often a worker looks for such files (s; first at its start)."""
STORE_WAIT_S = 10.0
"""How long a worker waits after the evidence store could not be reached before it tries again (s)."""
LEASE_S = 30.0
"""How long a claim stays valid without a heartbeat (s); heartbeats come every third of it."""


def run_pipeline(case_dir: Path) -> dict[str, Any]:
    """The pipeline in this process, without limits (tests, and tools that trust their input)."""
    from pylondiag.pipeline import run_case

    return run_case(case_dir).diagnosis.to_json_dict()


def limited_runner(limits: ChildLimits) -> Runner:
    """The service's runner: the pipeline in a child process with ``limits`` (``diagnose_child``)."""

    def run(case_dir: Path) -> dict[str, Any]:
        return run_limited(case_dir, limits)

    return run


def worker_name() -> str:
    """``host:pid``: who holds a claim (shown to nobody but operators reading the database)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one case: the case and the token that proves the hold."""

    pk: str
    token: str


class DiagnosisWorker:
    def __init__(
        self,
        db: Database,
        store: EvidenceStore,
        *,
        max_attempts: int = 3,
        runner: Runner | None = None,
        limits: ChildLimits | None = None,
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.db = db
        self.store = store
        self.max_attempts = max_attempts
        self.runner = runner or limited_runner(limits or ChildLimits())
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.name = worker_name()
        self._wake: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()

    # -- life cycle -------------------------------------------------------------------------------
    def recover(self) -> int:
        """Requeue what crashed workers left ``running``; returns how many were requeued.

        On SQLite (one process) every ``running`` case is orphaned at start; elsewhere only those whose
        lease has expired (the others belong to live workers).
        """
        return self.reap(everything=self.db.is_sqlite)

    def start(self) -> None:
        """Run the worker loop in a background thread of this process (``pylondiag serve``)."""
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pylondiag-diagnosis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def run_forever(self, stop: threading.Event) -> None:
        """The loop in the calling thread until ``stop`` is set (``pylondiag worker``); the case being
        diagnosed when it is set is finished first."""
        self._stop = stop
        self.reap()
        self._loop()

    def enqueue(self, case_pk: str) -> None:
        """Wake this process's worker (a case was queued); other processes find it by polling."""
        self._wake.put(case_pk)

    def enqueue_render(self, case_pk: str, version: int) -> None:
        """Ask a worker (any process) to render a version's reports into the cache. Called after the
        caller's commit: a failure here only loses a cache warm-up, never the caller's answer."""
        try:
            with self.db.session() as session:
                session.execute(
                    update(CaseRecord).where(CaseRecord.id == case_pk).values(render_version=version)
                )
        except Exception:
            log.exception("asking for the reports of case %s v%d", case_pk, version)
        self._wake.put(None)

    # -- the loop ---------------------------------------------------------------------------------
    def _loop(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
                    sweep_orphans(self.db, self.store)
                self._work_once()
            except StoreUnavailable as exc:  # cases stay queued, uncounted: wait for the store
                log.warning(
                    "evidence store unreachable (%s); queued cases wait, next try in %g s", exc, STORE_WAIT_S
                )
                self._stop.wait(STORE_WAIT_S)
            except Exception:  # the database went away, etc.: keep the worker alive, retry later
                log.exception("diagnosis worker %s", self.name)
                self._stop.wait(1.0)
            self.idle.set()
            with suppress(queue.Empty):
                self._wake.get(timeout=self.poll_s)

    def _work_once(self) -> None:
        """Diagnose until nothing is queued, then render what was asked (owners wait for diagnoses,
        nobody waits for a cache)."""
        while not self._stop.is_set():
            self.reap()
            claim = self.claim_next()
            if claim is None:
                break
            self.idle.clear()
            self.diagnose(claim)
        while not self._stop.is_set():
            job = self._claim_render()
            if job is None:
                break
            self.idle.clear()
            self._render_version(*job)

    # -- claims -----------------------------------------------------------------------------------
    def _now(self) -> datetime | ColumnElement[datetime]:
        """The database's clock on a server (one clock for every machine); this process's on SQLite."""
        return utcnow() if self.db.is_sqlite else func.now()

    def _lease_end(self) -> datetime | ColumnElement[datetime]:
        return self._now() + timedelta(seconds=self.lease_s)

    def claim_next(self) -> Claim | None:
        """Claim the oldest queued case (``None`` when there is none)."""
        with self.db.session() as session:
            pk = session.scalars(
                select(CaseRecord.id)
                .where(CaseRecord.diagnosis_state == DiagnosisState.QUEUED.value)
                .order_by(CaseRecord.created_at, CaseRecord.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if pk is None:
                return None
            token = secrets.token_hex(16)
            result = session.execute(
                update(CaseRecord)
                .where(CaseRecord.id == pk, CaseRecord.diagnosis_state == DiagnosisState.QUEUED.value)
                .values(
                    diagnosis_state=DiagnosisState.RUNNING.value,
                    diagnosis_attempts=CaseRecord.diagnosis_attempts + 1,
                    claim_token=token,
                    claimed_by=self.name,
                    lease_until=self._lease_end(),
                    updated_at=utcnow(),
                )
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
        return Claim(pk, token)

    def _holds(self, claim: Claim) -> ColumnElement[bool]:
        return (CaseRecord.id == claim.pk) & (CaseRecord.claim_token == claim.token)

    def extend(self, claim: Claim) -> bool:
        """Heartbeat: push the lease forward; False when the claim is no longer this worker's."""
        with self.db.session() as session:
            result = session.execute(
                update(CaseRecord).where(self._holds(claim)).values(lease_until=self._lease_end())
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def reap(self, *, everything: bool = False) -> int:
        """Requeue ``running`` cases whose lease expired (``everything``: all of them); a case already
        tried ``max_attempts`` times ends ``failed``. Returns how many were requeued."""
        with self.db.session() as session:
            query = select(CaseRecord).where(CaseRecord.diagnosis_state == DiagnosisState.RUNNING.value)
            if not everything:
                query = query.where(
                    or_(CaseRecord.lease_until.is_(None), CaseRecord.lease_until < self._now())
                )
            n = 0
            for case in session.scalars(query.with_for_update(skip_locked=True)).all():
                if case.diagnosis_attempts >= self.max_attempts:
                    case.diagnosis_state = DiagnosisState.FAILED.value
                    case.diagnosis_error = (
                        f"interrupted {case.diagnosis_attempts} times (the worker stopped mid-diagnosis); "
                        "not retried again"
                    )
                else:
                    case.diagnosis_state = DiagnosisState.QUEUED.value
                    case.diagnosis_error = "interrupted (the worker stopped mid-diagnosis); retried"
                    n += 1
                log.warning(
                    "case %s: claim of %s expired; %s", case.id, case.claimed_by, case.diagnosis_state
                )
                _release(case)
                case.updated_at = utcnow()
        return n

    # -- one diagnosis ----------------------------------------------------------------------------
    def _case_dir(self, pk: str) -> AbstractContextManager[Path]:
        """The case's evidence as a local directory for the diagnosis (the local store's own directory,
        or a temporary copy of the S3 objects) — the one place the worker asks the evidence store."""
        return self.store.local_copy(pk)

    def diagnose(self, claim: Claim) -> None:
        """Run the diagnosis of a claimed case, holding the lease, and record the outcome. When the evidence
        store cannot be reached the case goes back to the queue uncounted and :class:`StoreUnavailable`
        is raised (the worker waits before it tries again)."""
        beat = _Heartbeat(self, claim)
        beat.start()
        try:
            with self._case_dir(claim.pk) as case_dir:
                document = self._run(claim, case_dir)
        except StoreUnavailable:
            self._hand_back(claim)
            raise
        finally:
            beat.finish()
        if document is not None:
            self.complete(claim, document)

    def _run(self, claim: Claim, case_dir: Path) -> dict[str, Any] | None:
        """The diagnosis document, or None when it failed (the failure recorded)."""
        try:
            return self.runner(case_dir)
        except LimitExceeded as exc:  # the case itself needs too much: retrying gives the same
            log.warning("diagnosis of case %s stopped: %s", claim.pk, exc)
            self._fail(claim, str(exc), retry=False)
        except Exception as exc:
            from pylondiag.service.cases import without_paths

            detail = without_paths(f"{type(exc).__name__}: {exc}", case_dir, self.store.data_dir)
            log.warning("diagnosis of case %s failed: %s\n%s", claim.pk, detail, traceback.format_exc())
            self._fail(claim, detail, retry=True)
        return None

    def _hand_back(self, claim: Claim) -> None:
        """The evidence store could not be reached: the case is queued again and this attempt is not
        counted — the case did nothing wrong, and an outage longer than ``max_attempts`` leases must not
        fail every case that waits."""
        with self._let_go(claim) as case:
            if case is None:
                return
            if case.diagnosis_state == DiagnosisState.RUNNING.value:
                case.diagnosis_state = DiagnosisState.QUEUED.value
            case.diagnosis_attempts = max(case.diagnosis_attempts - 1, 0)

    def complete(self, claim: Claim, document: dict[str, Any]) -> int | None:
        """Store ``document`` as the case's next version if ``claim`` still holds; the version, or None
        when the claim was lost (the result is discarded: another worker has or will have diagnosed it)."""
        with self.db.session() as session:
            case = session.get(CaseRecord, claim.pk)
            if case is None:
                return None
            lock_case(case)  # an engineer's amendment may be adding a version right now
            if case.claim_token != claim.token:
                session.rollback()
                log.warning("case %s: claim lost (lease expired); late result discarded", claim.pk)
                return None
            version = (case.diagnoses[-1].version + 1) if case.diagnoses else 1
            case.diagnoses.append(
                DiagnosisVersion(version=version, kind="automatic", document=document, created_at=utcnow())
            )
            if case.diagnosis_state == DiagnosisState.RUNNING.value:  # else evidence came in meanwhile: again
                case.diagnosis_state = DiagnosisState.DONE.value
            case.diagnosis_error = None
            _release(case)
            case.render_version = version
            if case.status == CaseStatus.SUBMITTED.value:
                case.status = CaseStatus.DIAGNOSED.value
            case.updated_at = utcnow()
            mail.release(session, claim.pk, mail.PRELIMINARY_READY)
        return version

    def _fail(self, claim: Claim, detail: str, *, retry: bool) -> None:
        """Record a failed attempt (if the claim holds): queued again while attempts remain (``retry``),
        else ``failed``."""
        with self._let_go(claim) as case:
            if case is None:
                return
            again = retry and case.diagnosis_attempts < self.max_attempts
            if case.diagnosis_state == DiagnosisState.RUNNING.value:
                case.diagnosis_state = (DiagnosisState.QUEUED if again else DiagnosisState.FAILED).value
            case.diagnosis_error = detail

    @contextmanager
    def _let_go(self, claim: Claim) -> Iterator[CaseRecord | None]:
        """The claimed case's row, locked, while this worker still holds ``claim`` (None when it does not);
        the claim is released when the block ends (what :meth:`_fail` and :meth:`_hand_back` share)."""
        with self.db.session() as session:
            case = session.scalars(select(CaseRecord).where(self._holds(claim)).with_for_update()).first()
            yield case
            if case is not None:
                _release(case)
                case.updated_at = utcnow()

    # -- reports ----------------------------------------------------------------------------------
    def _claim_render(self) -> tuple[str, int] | None:
        """Take one report-rendering request (``render_version``) off the database."""
        with self.db.session() as session:
            row = session.execute(
                select(CaseRecord.id, CaseRecord.render_version)
                .where(CaseRecord.render_version.is_not(None))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            pk, version = row
            if version is None:
                return None
            session.execute(
                update(CaseRecord)
                .where(CaseRecord.id == pk, CaseRecord.render_version == version)
                .values(render_version=None)
            )
        return pk, version

    def _render_version(self, pk: str, version: int) -> None:
        from pylondiag.service.reports import sign_off_of

        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            stored = next((d for d in case.diagnoses if d.version == version), None) if case else None
            if case is None or stored is None:
                return
            document, signed = stored.document, sign_off_of(case, version)
        self.prerender(pk, version, document, signed)

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

    # -- engineer actions and tests ---------------------------------------------------------------
    def rerun(self, pk: str) -> bool:
        """Queue a failed automatic diagnosis again (engineer action); False when it has not failed."""
        with self.db.session() as session:
            case = session.get(CaseRecord, pk)
            if case is None or case.diagnosis_state != DiagnosisState.FAILED.value:
                return False
            case.diagnosis_state = DiagnosisState.QUEUED.value
            case.diagnosis_attempts = 0
            case.diagnosis_error = None
            _release(case)
        self.enqueue(pk)
        return True

    def drain(self, timeout: float = 60.0) -> bool:
        """Diagnose every queued case in the calling thread; True when none is left."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            claim = self.claim_next()
            if claim is None:
                return True
            self.diagnose(claim)
        return False


def _release(case: CaseRecord) -> None:
    case.claim_token = None
    case.claimed_by = None
    case.lease_until = None


class _Heartbeat:
    """Extends a claim's lease every third of the lease while the diagnosis runs."""

    def __init__(self, worker: DiagnosisWorker, claim: Claim) -> None:
        self.worker, self.claim = worker, claim
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{claim.pk}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        while not self._done.wait(self.worker.lease_s / 3):
            try:
                if not self.worker.extend(self.claim):
                    log.warning("case %s: claim lost while diagnosing", self.claim.pk)
                    return
            except Exception:  # the database is away: keep trying until the lease is lost for good
                log.exception("heartbeat of case %s", self.claim.pk)


def sweep_orphans(db: Database, store: EvidenceStore, older_than_s: float = ORPHAN_AGE_S) -> list[str]:
    """Remove the files of cases the database has no row for — what a process killed between storing a
    submission's files and committing its row leaves behind (nothing refers to them, nobody sees them) —
    once their newest file is older than ``older_than_s``. Returns the ids removed."""
    cutoff = time.time() - older_than_s
    old = [pk for pk, newest in store.stored_cases().items() if newest < cutoff]
    if not old:
        return []
    with db.session() as session:
        known = set(session.scalars(select(CaseRecord.id).where(CaseRecord.id.in_(old))))
    gone = [pk for pk in old if pk not in known]
    for pk in gone:
        store.remove_case(pk)
        log.warning(
            "removed the files of case %s: stored without a database row (an interrupted submission)", pk
        )
    return gone
