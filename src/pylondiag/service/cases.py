"""The service layer for cases: submit, look up, describe. The API and the web pages both call this.

A submission is checked (``uploads``), staged on disk (``storage``), validated as a whole case by the
project's one case reader (``pylondiag.casedir.load_case``: a ``case.yaml`` it refuses is refused here
with its message), then recorded in the database and moved into place. Nothing partial is kept when any
step fails.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from pylondiag.casedir import load_case
from pylondiag.errors import CaseError
from pylondiag.report import SignOff
from pylondiag.service.auth import new_owner_token, token_digest
from pylondiag.service.db.models import (
    CaseRecord,
    CaseStatus,
    DiagnosisState,
    DiagnosisVersion,
    EvidenceFile,
    Review,
    User,
    utcnow,
)
from pylondiag.service.db.session import Database
from pylondiag.service.settings import Limits
from pylondiag.service.storage import EvidenceStore
from pylondiag.service.uploads import CASE_YAML, IncomingFile, UploadRefused, check_files


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
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UploadRefused(
            f"case.yaml{where}: not valid YAML ({problem})", status=422, source=CASE_YAML
        ) from exc
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


def validate_case_dir(directory: Path) -> None:
    """The whole case as the diagnosis will read it; ``UploadRefused`` (422) with the reader's message."""
    try:
        load_case(directory)
    except CaseError as exc:
        where = exc.source or CASE_YAML
        if exc.line is not None:
            where = f"{where} line {exc.line}"
        raise UploadRefused(f"{where}: {exc.message}", status=422, source=exc.source) from exc


def submit_case(
    db: Database, store: EvidenceStore, files: list[IncomingFile], *, source: str, limits: Limits
) -> tuple[CaseRecord, str]:
    """Store a checked case; returns the record and the owner's access token (shown only now)."""
    check_files(files, limits)
    observations: dict[str, Any] | None = None
    for f in files:
        if f.path == CASE_YAML:
            observations = jsonable(parse_case_yaml(f.data))
    staged = store.stage(files)
    pk = new_case_pk()
    try:
        validate_case_dir(staged.directory)
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
            EvidenceFile(path=s.path, kind=s.kind, size=s.size, sha256=s.sha256) for s in staged.files
        ]
        with db.session() as session:
            session.add(record)
            session.flush()
            store.commit(staged, pk)
    except BaseException:
        store.discard(staged)
        if store.case_dir(pk).exists():
            store.remove_case(pk)
        raise
    return record, token


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


def latest_diagnosis(record: CaseRecord) -> dict[str, Any] | None:
    return record.diagnoses[-1].document if record.diagnoses else None


@dataclass(frozen=True)
class FileInfo:
    path: str
    kind: str
    size: int
    sha256: str


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
            select(EvidenceFile.path, EvidenceFile.kind, EvidenceFile.size, EvidenceFile.sha256)
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
        "files": [{"path": f.path, "kind": f.kind, "size": f.size, "sha256": f.sha256} for f in snap.files],
        "diagnosis": {
            "state": record.diagnosis_state,
            "attempts": record.diagnosis_attempts,
            "error": record.diagnosis_error,
            "version": snap.version,
            "kind": snap.kind,
            "preliminary": record.status != CaseStatus.SIGNED_OFF.value,
        },
        "signed_off_at": record.signed_off_at.isoformat() if record.signed_off_at else None,
    }
    if for_engineer:
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
