"""All case-file reading: a case directory or a single evidence file → one :class:`CaseView`.

``load_case(path)`` validates ``case.yaml`` strictly (:class:`~pylondiag.errors.CaseError` when it is
invalid or the path is missing: the CLI's exit 2), recognises every other file by its content, reads
console captures and inverter logs, and reports anything it cannot use in ``view.gaps`` — the rest
of the case is still read. Nothing in the case directory is ever modified.

The steps, one module each: :mod:`~pylondiag.casedir.files` (walk, recognise and read each file),
:mod:`~pylondiag.casedir.addresses` (address → position), :mod:`~pylondiag.casedir.records` (one
handler per console record type), :mod:`~pylondiag.casedir.view` (timeline, temperature series, the
view) and :mod:`~pylondiag.casedir.gaps` (every gap message).

Address → position (``case-format.md`` "Module identity"): ``stack[].address`` maps a BMS address to
a physical position; without any addresses in ``case.yaml``, position = address. Duplicate addresses
are ambiguous: records at that address are kept with ``position=None`` and the conflict is listed in
``view.address_conflicts`` (the diagnosis says so instead of guessing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pylondiag.casedir.caseyaml import parse_case_yaml
from pylondiag.casedir.files import (
    MAX_CONSOLE_BYTES,
    MAX_FILE_BYTES,
    MAX_FILES,
    Loaded,
    Site,
    read_file,
    walk,
)
from pylondiag.casedir.view import build_view, zone_of
from pylondiag.errors import CaseError
from pylondiag.model.case import CaseFile
from pylondiag.model.stack import CaseView

__all__ = ["MAX_CONSOLE_BYTES", "MAX_FILES", "MAX_FILE_BYTES", "FileRead", "evidence_bytes", "load_case"]

FileRead = Callable[[str, int], None]
"""``on_file(relative path, its size in bytes)``: called after each evidence file has been read (for a
progress bar; sizes as on disk, so they add up to :func:`evidence_bytes`)."""


def evidence_bytes(path: Path) -> int:
    """The bytes :func:`load_case` will read from ``path`` (a case directory or one file), as on disk."""
    path = Path(path)
    if not path.is_dir():
        return _size(path)
    return sum(_size(full) for _, full in walk(path, Loaded()))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def load_case(path: Path, on_file: FileRead | None = None) -> CaseView:
    """Read a case directory, or a single evidence file as a case holding just that file; ``on_file`` is
    told of each file once it has been read."""
    path = Path(path)
    if not path.exists():
        raise CaseError(
            "no such file or directory. Fix: give a case directory or an evidence file.", source=str(path)
        )
    if path.is_dir():
        return _load_directory(path, on_file)
    case: CaseFile | None = None
    loaded = Loaded()
    if path.name == "case.yaml":
        case = parse_case_yaml(path.read_bytes(), source=str(path))
    else:
        read_file(path, path.name, loaded, Site(zone_of(None), None))
        if on_file is not None:
            on_file(path.name, _size(path))
    case_id = (case.case_id if case and case.case_id else None) or path.stem
    return build_view(case_id, str(path), case, loaded)


def _load_directory(path: Path, on_file: FileRead | None) -> CaseView:
    case = _case_yaml(path / "case.yaml")
    brand = case.inverter.brand.value if case and case.inverter and case.inverter.brand else None
    site = Site(zone_of(case), brand)
    loaded = Loaded()
    for rel, full in walk(path, loaded):
        read_file(full, rel, loaded, site)
        if on_file is not None:
            on_file(rel, _size(full))
    case_id = (case.case_id if case and case.case_id else None) or path.resolve().name
    return build_view(case_id, str(path), case, loaded)


def _case_yaml(yaml_path: Path) -> CaseFile | None:
    """The validated ``case.yaml`` when the directory has one (:class:`CaseError` when it is invalid)."""
    if not yaml_path.is_file():
        return None
    try:
        data = yaml_path.read_bytes()
    except OSError as exc:
        raise CaseError(
            f"cannot be read ({exc.strerror}). Fix: check its permissions.", source=str(yaml_path)
        ) from None
    return parse_case_yaml(data, source=str(yaml_path))
