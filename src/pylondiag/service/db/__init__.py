"""The service's database: SQLAlchemy 2 models (``models``) and engine/session set-up (``session``)."""

from pylondiag.service.db.models import (
    Base,
    CaseRecord,
    CaseStatus,
    DiagnosisState,
    DiagnosisVersion,
    EvidenceFile,
    Review,
    User,
)
from pylondiag.service.db.session import Database

__all__ = [
    "Base",
    "CaseRecord",
    "CaseStatus",
    "Database",
    "DiagnosisState",
    "DiagnosisVersion",
    "EvidenceFile",
    "Review",
    "User",
]
