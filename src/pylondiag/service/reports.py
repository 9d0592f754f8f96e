"""Reports of a stored diagnosis version (``pylondiag.report``), rendered once and cached on disk."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from pylondiag.casedir import load_case
from pylondiag.errors import PylondiagError
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView
from pylondiag.report import render_html, render_pdf
from pylondiag.service.db.models import DiagnosisVersion
from pylondiag.service.storage import EvidenceStore


def _view(store: EvidenceStore, case_pk: str) -> CaseView | None:
    try:
        return load_case(store.case_dir(case_pk))
    except PylondiagError:
        return None


_locks: defaultdict[tuple[str, int, str], threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def report_bytes(store: EvidenceStore, case_pk: str, version: DiagnosisVersion, fmt: str) -> bytes:
    """``fmt`` ``html`` or ``pdf`` of one diagnosis version, rendered once and cached under the data dir.

    Concurrent requests for the same report wait for the one rendering instead of rendering again.
    """
    return render_cached(store, case_pk, version.version, version.document, fmt)


def render_cached(
    store: EvidenceStore, case_pk: str, version: int, document: dict[str, Any], fmt: str
) -> bytes:
    cached = store.cached_report(case_pk, version, fmt)
    if cached is not None:
        return cached
    with _locks_guard:
        lock = _locks[(case_pk, version, fmt)]
    with lock:
        cached = store.cached_report(case_pk, version, fmt)
        if cached is not None:
            return cached
        diagnosis = Diagnosis.model_validate(document)
        view = _view(store, case_pk)
        data = render_pdf(diagnosis, view) if fmt == "pdf" else render_html(diagnosis, view).encode("utf-8")
        store.cache_report(case_pk, version, fmt, data)
    with _locks_guard:
        _locks.pop((case_pk, version, fmt), None)
    return data


