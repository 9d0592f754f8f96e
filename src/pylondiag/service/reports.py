"""Reports of a stored diagnosis version (``pylondiag.report``), rendered once and cached
in the evidence store.

A report is *preliminary* until the case is signed off (the banner on page one, "PRELIMINARY" in every PDF
page header); the signed-off report names the engineer and the time. Both variants of a version are
cached separately (``reports/<id>/vN.preliminary.pdf``, ``vN.signed.pdf``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from pylondiag.casedir import load_case
from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView
from pylondiag.report import SignOff, render_html, render_pdf
from pylondiag.service.db.models import CaseRecord, CaseStatus
from pylondiag.service.storage import EvidenceStore


def _view(case_dir: Path) -> CaseView | None:
    try:
        return load_case(case_dir)
    except PylondiagError:
        return None


_locks: defaultdict[tuple[str, int, str], threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def sign_off_of(record: CaseRecord, version: int) -> SignOff | None:
    """Who signed ``version`` of the case off and when; ``None`` while it is preliminary.

    Only the latest version of a signed-off case is signed (nothing is amended after a sign-off).
    """
    if record.status != CaseStatus.SIGNED_OFF.value or not record.diagnoses:
        return None
    if record.diagnoses[-1].version != version or record.signed_off_at is None:
        return None
    signer = next((r.user.email for r in reversed(record.reviews) if r.action == "sign_off"), None)
    return SignOff(engineer=signer or "an engineer", at=record.signed_off_at)


def variant(signed_off: SignOff | None) -> str:
    return "preliminary" if signed_off is None else "signed"


def render_cached(
    store: EvidenceStore,
    case_pk: str,
    version: int,
    document: dict[str, Any],
    fmt: str,
    signed_off: SignOff | None,
) -> bytes:
    """``fmt`` ``html`` or ``pdf`` of one diagnosis version, rendered once and cached under the data dir.

    Preliminary unless ``signed_off`` is given. Concurrent requests for the same report wait for the one
    rendering instead of rendering again.
    """
    suffix = f"{variant(signed_off)}.{fmt}"
    cached = store.cached_report(case_pk, version, suffix)
    if cached is not None:
        return cached
    key = (case_pk, version, suffix)
    with _locks_guard:
        lock = _locks[key]
    with lock:
        cached = store.cached_report(case_pk, version, suffix)
        if cached is not None:
            return cached
        diagnosis = Diagnosis.model_validate(document)
        marks: dict[str, Any] = {"preliminary": signed_off is None, "signed_off": signed_off}
        with store.local_copy(case_pk) as case_dir:  # photos are read while rendering
            view = _view(case_dir)
            data = (
                render_pdf(diagnosis, view, **marks)
                if fmt == "pdf"
                else render_html(diagnosis, view, **marks).encode("utf-8")
            )
        store.cache_report(case_pk, version, suffix, data)
    with _locks_guard:
        _locks.pop(key, None)
    return data
