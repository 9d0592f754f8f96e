"""The whole path from files to a diagnosis: ``run_case(path) -> CaseResult``.

``load_case`` does all the reading (raises :class:`~pylondiag.errors.CaseError` when the case cannot be
used at all); ``diagnose`` is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pylondiag.casedir import FileRead, load_case
from pylondiag.diagnosis import diagnose
from pylondiag.model.diagnosis import Diagnosis
from pylondiag.model.stack import CaseView


@dataclass(frozen=True)
class CaseResult:
    view: CaseView
    diagnosis: Diagnosis


def run_case(path: Path, on_file: FileRead | None = None) -> CaseResult:
    """Read the case (``on_file`` told of each evidence file read, see :data:`FileRead`) and diagnose it."""
    view = load_case(Path(path), on_file)
    return CaseResult(view=view, diagnosis=diagnose(view))
