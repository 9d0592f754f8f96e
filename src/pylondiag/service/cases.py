"""The service layer for cases: submit, look up, describe. The API and the web pages both call this.

A submission is checked (``uploads``), staged on disk (``storage``), validated as a whole case by the
project's one case reader (``pylondiag.casedir.load_case``: a ``case.yaml`` it refuses is refused here
with its message), then recorded in the database and moved into place. Nothing partial is kept when any
step fails.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pylondiag.casedir import load_case
from pylondiag.casedir.caseyaml import load_yaml_text
from pylondiag.errors import CaseError
from pylondiag.report import SignOff
from pylondiag.service.auth import new_owner_token, token_digest
from pylondiag.service.db.models import (
    CaseRecord,
    CaseStatus,
    DiagnosisState,
    DiagnosisVersion,
    EvidenceFile,
    FormSubmission,
    Review,
    User,
    utcnow,
)
from pylondiag.service.db.session import Database
from pylondiag.service.diagnose_child import ChildLimits, DiagnosisCrashed, LimitExceeded, check_limited
from pylondiag.service.mail import hold_owner_mails
from pylondiag.service.owner import case_title
from pylondiag.service.settings import Limits
from pylondiag.service.storage import EvidenceStore, StoreUnavailable
from pylondiag.service.uploads import CASE_YAML, IncomingFile, UploadRefused, check_files

log = logging.getLogger(__name__)


def new_case_pk() -> str:
    return secrets.token_urlsafe(12)


def parse_case_yaml(data: bytes) -> dict[str, Any]:
    """``case.yaml`` as a mapping, or ``UploadRefused`` (422) naming the line that cannot be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused(
            f"case.yaml: not UTF-8 text (byte {exc.start})", status=422, source=CASE_YAML
        ) from exc
    try:
        loaded = load_yaml_text(text, CASE_YAML)  # anchors refused, depth and size capped first
    except CaseError as exc:
        where = f" line {exc.line}" if exc.line is not None else ""
        raise UploadRefused(f"case.yaml{where}: {exc.message}", status=422, source=CASE_YAML) from exc
    if not isinstance(loaded, dict):
        raise UploadRefused(
            "case.yaml: expected a mapping of keys (schema: pylondiag.case/1, ...)",
            status=422,
            source=CASE_YAML,
        )
    return loaded


def jsonable(value: Any) -> Any:
    """YAML values made JSON-safe (dates as ISO 8601 strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def validate_case_dir(directory: Path, limits: ChildLimits | None = None) -> None:
    """The whole case as the diagnosis will read it; ``UploadRefused`` (422) with the reader's message.

    Read in a child process with ``limits`` (``diagnose_child``), never in the web process: a case that
    needs more than the limits to read (or breaks the reader) is accepted, and its diagnosis, which hits
    the same limit, tells the engineer why; ``limits=None`` reads it here (trusted callers).
    """
    try:
        if limits is None:
            load_case(directory)
        else:
            check_limited(directory, limits)
    except (LimitExceeded, DiagnosisCrashed) as exc:
        log.warning("case in %s accepted unchecked: %s", directory.name, exc)
    except CaseError as exc:
        source = without_paths(exc.source or CASE_YAML, directory)
        where = source if exc.line is None else f"{source} line {exc.line}"
        raise UploadRefused(
            f"{where}: {without_paths(exc.message, directory)}", status=422, source=source
        ) from exc


def without_paths(text: str, *directories: Path) -> str:
    """``text`` with the server's directories taken out: a file inside one is named by its path inside
    the case (``case.yaml``), the directory itself as ``the case``. Messages go to owners and engineers,
    who have no business with where the service keeps its files."""
    for directory in directories:
        for form in {str(directory), str(directory.resolve())}:
            text = text.replace(form + "/", "").replace(form, "the case")
    return text


@dataclass(frozen=True)
class Contact:
    """What the owner gave about themselves at intake (both optional; the address already validated)."""

    email: str | None = None
    name: str | None = None


def search_text(observations: dict[str, Any] | None, case_id: str, name: str | None) -> str:
    """What the engineers' queue search matches: site location, serials, owner name, case id (lower case)."""
    obs = observations or {}
    site = obs.get("site") if isinstance(obs.get("site"), dict) else {}
    parts = [str((site or {}).get("location") or ""), case_id, name or ""]
    parts += [str(m.get("serial") or "") for m in obs.get("stack") or [] if isinstance(m, dict)]
    return " ".join(p for p in parts if p).lower()[:2000]


def _seal(token: str, key: str) -> str:
    """The owner token XORed with a SHAKE-256 stream of the form's own (random, secret) idempotency key."""
    data = token.encode()
    pad = hashlib.shake_256(("seal:" + key).encode()).digest(len(data))
    return base64.urlsafe_b64encode(bytes(a ^ b for a, b in zip(data, pad, strict=True))).decode()


def _unseal(sealed: str, key: str) -> str:
    data = base64.urlsafe_b64decode(sealed.encode())
    pad = hashlib.shake_256(("seal:" + key).encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, pad, strict=True)).decode()


def key_digest(key: str) -> str:
    return hashlib.sha256(("idem:" + key).encode()).hexdigest()


def submitted_before(db: Database, key: str | None) -> tuple[str, str] | None:
    """``(case id, token)`` of the case this form (idempotency ``key``) already made, if it made one."""
    if not key:
        return None
    with db.session() as session:
        row = session.get(FormSubmission, key_digest(key))
        return (row.case_pk, _unseal(row.sealed_token, key)) if row else None


def submit_case(
    db: Database,
    store: EvidenceStore,
    files: list[IncomingFile],
    *,
    source: str,
    limits: Limits,
    contact: Contact | None = None,
    base_url: str = "",
    idem_key: str | None = None,
) -> tuple[CaseRecord, str]:
    """Store a checked case; returns the record and the owner's access token (shown only now).

    With ``contact.email`` the owner's two mails are written (held until their events) with the private
    link under ``base_url``. With ``idem_key`` (one per intake form) the same form sent twice makes one
    case: the second answer is the first case (``FormSubmission``).
    """
    check_files(files, limits)
    observations: dict[str, Any] | None = None
    for f in files:
        if f.path == CASE_YAML:
            observations = jsonable(parse_case_yaml(f.data))
    staged = store.stage(files)
    pk = new_case_pk()
    try:
        validate_case_dir(staged.directory, limits.read_limits)
        token = new_owner_token()
        case_id = observations.get("case_id") if observations else None
        record = CaseRecord(
            id=pk,
            token_sha256=token_digest(token),
            case_id=str(case_id) if case_id not in (None, "") else pk,
            status=CaseStatus.SUBMITTED.value,
            source=source,
            observations=observations,
            diagnosis_state=DiagnosisState.QUEUED.value,
            diagnosis_attempts=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        record.files = [
            EvidenceFile(path=s.path, kind=s.kind, size=s.size, sha256=s.sha256, batch=0)
            for s in staged.files
        ]
        contact = contact or Contact()
        record.contact_email = contact.email
        record.contact_name = contact.name
        record.search_text = search_text(observations, record.case_id, contact.name)
        with db.session() as session:
            session.add(record)
            if idem_key:
                session.add(
                    FormSubmission(
                        key_sha256=key_digest(idem_key), case_pk=pk, sealed_token=_seal(token, idem_key)
                    )
                )
            hold_owner_mails(session, record, f"{base_url}/c/{pk}?token={token}", case_title(record))
            session.flush()
            store.commit(staged, pk)
    except BaseException:
        store.discard(staged)
        with contextlib.suppress(StoreUnavailable):  # unreachable: nothing refers to what it holds
            if store.exists(pk):
                store.remove_case(pk)
        raise
    return record, token


class Addition:
    """Evidence added to an open case: its batch number, the stored paths, the version it will make."""

    def __init__(self, batch: int, paths: list[str], next_version: int) -> None:
        self.batch = batch
        self.paths = paths
        self.next_version = next_version


def unique_paths(files: list[IncomingFile], taken: set[str]) -> list[IncomingFile]:
    """``files`` renamed where a path is already in the case (``pwr.txt`` → ``pwr-2.txt``): evidence
    is never overwritten."""
    out = []
    for f in files:
        path, k = f.path, 2
        while path in taken:
            stem, dot, ext = f.path.rpartition(".")
            path = f"{stem}-{k}.{ext}" if dot and "/" not in ext else f"{f.path}-{k}"
            k += 1
        taken.add(path)
        out.append(IncomingFile(path, f.data))
    return out


def add_files(
    db: Database, store: EvidenceStore, case_pk: str, files: list[IncomingFile], *, limits: Limits
) -> Addition:
    """Add evidence to a case that is not signed off: stored as the next batch and queued for a new
    automatic diagnosis. The same refusals as a submission (``UploadRefused``); nothing partial is kept."""
    if not files:
        raise UploadRefused("no files: choose at least one file (or a .zip) to add")
    empty = [f.path for f in files if not f.data]
    if empty:
        raise UploadRefused(f"{empty[0]} is empty (0 bytes): nothing to add", source=empty[0])
    if any(f.path == CASE_YAML for f in files):
        raise UploadRefused(
            "case.yaml cannot be replaced once a case is submitted; add evidence files only", source=CASE_YAML
        )
    with db.session() as session:
        record = get_case(session, case_pk)
        if record is None:
            raise UploadRefused("no such case", status=404)
        if record.status == CaseStatus.SIGNED_OFF.value:
            raise UploadRefused(
                "this case is signed off; its report is final. Start a new case for new evidence", status=409
            )
        existing = [(f.path, f.size) for f in record.files]
        known_sums = [f.sha256 for f in record.files]
        batch = max((f.batch for f in record.files), default=0) + 1
        latest = record.diagnoses[-1].version if record.diagnoses else 0
    known = set(known_sums)
    files = [f for f in files if hashlib.sha256(f.data).hexdigest() not in known]  # sent again: nothing new
    if not files:
        return Addition(batch - 1, [], latest)
    files = unique_paths(files, {p for p, _ in existing})
    if len(existing) + len(files) > limits.max_files:
        raise UploadRefused(
            f"{len(existing) + len(files)} files: at most {limits.max_files} per case", status=413
        )
    total = sum(size for _, size in existing) + sum(len(f.data) for f in files)
    if total > limits.max_total_bytes:
        raise UploadRefused(
            f"{total} bytes in all, over the limit of {limits.max_total_bytes} per case", status=413
        )
    check_files(files, limits)
    whole = [IncomingFile(p, store.read(case_pk, p)) for p, _ in existing] + files
    staged = store.stage(whole)
    paths = [f.path for f in files]
    try:
        validate_case_dir(staged.directory, limits.read_limits)
        now = utcnow()
        store.adopt(staged, case_pk, paths)
        try:
            with db.session() as session:
                record = get_case(session, case_pk)
                if record is None or record.status == CaseStatus.SIGNED_OFF.value:
                    raise UploadRefused("this case was signed off meanwhile; its report is final", status=409)
                for s in staged.files:
                    if s.path in paths:
                        record.files.append(
                            EvidenceFile(
                                path=s.path,
                                kind=s.kind,
                                size=s.size,
                                sha256=s.sha256,
                                batch=batch,
                                added_at=now,
                            )
                        )
                record.diagnosis_state = DiagnosisState.QUEUED.value
                record.diagnosis_attempts = 0
                record.diagnosis_error = None
                record.updated_at = now
        except BaseException:
            with contextlib.suppress(StoreUnavailable):
                store.withdraw(case_pk, paths)
            raise
    finally:
        store.discard(staged)
    return Addition(batch, paths, latest + 1)


def get_case(session: Session, case_pk: str) -> CaseRecord | None:
    if len(case_pk) > 32:
        return None
    return session.get(CaseRecord, case_pk)


def queue(session: Session) -> list[CaseRecord]:
    """Cases not yet signed off, oldest first."""
    stmt = (
        select(CaseRecord)
        .where(CaseRecord.status != CaseStatus.SIGNED_OFF.value)
        .order_by(CaseRecord.created_at, CaseRecord.id)
    )
    return list(session.scalars(stmt))


QUEUE_STATUSES = ("open", "submitted", "diagnosed", "in_review", "signed_off", "all")
"""The queue's status filter: ``open`` = not signed off (the default), ``all`` = every case."""


def queue_page(
    session: Session, *, status: str = "open", search: str = "", page: int = 1, size: int = 25
) -> tuple[list[CaseRecord], int]:
    """One page of the engineers' queue, oldest first: cases of ``status`` whose site, serials, owner name
    or case id contain ``search`` (any case); returns the page's cases and how many match in all."""
    stmt = select(CaseRecord)
    if status == "open":
        stmt = stmt.where(CaseRecord.status != CaseStatus.SIGNED_OFF.value)
    elif status in {s.value for s in CaseStatus}:
        stmt = stmt.where(CaseRecord.status == status)
    words = [w for w in search.lower().split() if w][:5]
    for word in words:
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")[:100] + "%"
        stmt = stmt.where(
            or_(
                CaseRecord.search_text.like(like, escape="\\"),
                func.lower(CaseRecord.case_id).like(like, escape="\\"),
                CaseRecord.id == word,
            )
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(CaseRecord.created_at, CaseRecord.id).offset((max(page, 1) - 1) * size).limit(size)
    )
    return list(rows), total


def latest_diagnosis(record: CaseRecord) -> dict[str, Any] | None:
    return record.diagnoses[-1].document if record.diagnoses else None


@dataclass(frozen=True)
class FileInfo:
    path: str
    kind: str
    size: int
    sha256: str
    batch: int = 0
    """0 = sent with the case, N = the N-th addition."""


@dataclass(frozen=True)
class CaseSnapshot:
    """What the owner's views read of a case besides its row: the latest diagnosis version, the files and
    who signed it off. Loaded with two or three small queries instead of every version and review.

    Diagnoses are only appended, files never change, and every append or sign-off sets the row's
    ``updated_at`` in the same transaction (``worker.process``, ``review.apply_review``): a snapshot stays
    right while ``(id, updated_at, status)`` is unchanged, which is its key in :class:`SnapshotCache`.
    """

    version: int | None
    kind: str | None
    document: dict[str, Any] | None
    files: tuple[FileInfo, ...]
    sign_off: SignOff | None


def load_snapshot(session: Session, record: CaseRecord) -> CaseSnapshot:
    latest = session.execute(
        select(DiagnosisVersion.version, DiagnosisVersion.kind, DiagnosisVersion.document)
        .where(DiagnosisVersion.case_pk == record.id)
        .order_by(DiagnosisVersion.version.desc())
        .limit(1)
    ).first()
    files = tuple(
        FileInfo(*row)
        for row in session.execute(
            select(
                EvidenceFile.path,
                EvidenceFile.kind,
                EvidenceFile.size,
                EvidenceFile.sha256,
                EvidenceFile.batch,
            )
            .where(EvidenceFile.case_pk == record.id)
            .order_by(EvidenceFile.path)
        )
    )
    sign_off = None
    if record.status == CaseStatus.SIGNED_OFF.value and latest is not None and record.signed_off_at:
        signer = session.scalars(
            select(User.email)
            .join(Review, Review.user_id == User.id)
            .where(Review.case_pk == record.id, Review.action == "sign_off")
            .order_by(Review.id.desc())
            .limit(1)
        ).first()
        sign_off = SignOff(engineer=signer or "an engineer", at=record.signed_off_at)
    return CaseSnapshot(
        version=latest.version if latest else None,
        kind=latest.kind if latest else None,
        document=latest.document if latest else None,
        files=files,
        sign_off=sign_off,
    )


class SnapshotCache:
    """Case snapshots by ``(id, updated_at, status)``, least recently used dropped beyond ``size``.

    Keyed by the database row's own state, so it stays right with several processes on one database.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str, str], CaseSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, record: CaseRecord) -> CaseSnapshot:
        key = (record.id, record.updated_at.isoformat(), record.status)
        with self._lock:
            snap = self._items.get(key)
            if snap is not None:
                self._items.move_to_end(key)
                return snap
        snap = load_snapshot(session, record)
        with self._lock:
            self._items[key] = snap
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return snap


def case_json(
    record: CaseRecord, snap: CaseSnapshot, *, base_url: str = "", for_engineer: bool = False
) -> dict[str, Any]:
    """The contract's case description: observations, file list, status."""
    out: dict[str, Any] = {
        "id": record.id,
        "case_id": record.case_id,
        "status": record.status,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "observations": record.observations,
        "files": [
            {"path": f.path, "kind": f.kind, "size": f.size, "sha256": f.sha256, "added_in": f.batch}
            for f in snap.files
        ],
        "diagnosis": {
            "state": record.diagnosis_state,
            "attempts": record.diagnosis_attempts,
            "error": record.diagnosis_error,
            "version": snap.version,
            "kind": snap.kind,
            "preliminary": record.status != CaseStatus.SIGNED_OFF.value,
        },
        "signed_off_at": record.signed_off_at.isoformat() if record.signed_off_at else None,
        "diagnosis_version": snap.version,
    }
    if for_engineer:
        out["contact_email"] = record.contact_email
        out["contact_name"] = record.contact_name
        out["reviews"] = [
            {
                "at": r.created_at.isoformat(),
                "by": r.user.email,
                "action": r.action,
                "changes": r.changes,
                "note": r.note,
                "diagnosis_version": r.diagnosis_version,
            }
            for r in record.reviews
        ]
    return out
