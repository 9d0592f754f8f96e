"""Reports of a stored diagnosis version (``pylondiag.report``), rendered once and cached on disk."""

from __future__ import annotations

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


def report_bytes(store: EvidenceStore, case_pk: str, version: DiagnosisVersion, fmt: str) -> bytes:
    """``fmt`` ``html`` or ``pdf`` of one diagnosis version (cached under the data directory)."""
    cached = store.cached_report(case_pk, version.version, fmt)
    if cached is not None:
        return cached
    diagnosis = Diagnosis.model_validate(version.document)
    view = _view(store, case_pk)
    data = render_pdf(diagnosis, view) if fmt == "pdf" else render_html(diagnosis, view).encode("utf-8")
    store.cache_report(case_pk, version.version, fmt, data)
    return data


def document_of(version: DiagnosisVersion) -> dict[str, Any]:
    return version.document
