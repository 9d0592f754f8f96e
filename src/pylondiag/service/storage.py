"""Evidence files on disk: one directory per case under ``<data_dir>/cases/``, each file with its SHA-256.

A submission is written to ``<data_dir>/staging/<random>/`` first and moved into place with one rename
only once it has been accepted, so a refused or interrupted submission leaves nothing behind under
``cases/`` (``clean_staging`` removes what a crash left in ``staging/``). Stored files are made read-only:
nothing in a case directory is ever modified. Rendered reports are cached under ``<data_dir>/reports/``.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pylondiag.service.uploads import IncomingFile

LINE_END: Final = re.compile(r"\r\n|\r|\n")
"""Universal-newline line ends, as the diagnosis counts lines (``\\r\\r\\n`` ends two lines)."""


@dataclass(frozen=True)
class StoredFile:
    path: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True)
class StagedCase:
    directory: Path
    files: tuple[StoredFile, ...]


class EvidenceStore:
    """The data directory's evidence and report files."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.cases = data_dir / "cases"
        self.staging = data_dir / "staging"
        self.reports = data_dir / "reports"
        for d in (self.cases, self.staging, self.reports):
            d.mkdir(parents=True, exist_ok=True)

    def clean_staging(self) -> int:
        """Remove submissions a crash left half-written; returns how many."""
        n = 0
        for entry in self.staging.iterdir():
            shutil.rmtree(entry, ignore_errors=True)
            n += 1
        return n

    def case_dir(self, case_pk: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,32}", case_pk):
            raise ValueError(f"not a case id: {case_pk!r}")
        return self.cases / case_pk

    def stage(self, files: list[IncomingFile]) -> StagedCase:
        """Write ``files`` under a fresh staging directory (fsync'd); nothing is visible yet."""
        directory = self.staging / secrets.token_hex(12)
        directory.mkdir()
        stored: list[StoredFile] = []
        try:
            for f in files:
                target = directory / f.path
                if directory.resolve() not in target.resolve().parents:  # defence in depth
                    raise ValueError(f"{f.path} escapes the case directory")
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as out:
                    out.write(f.data)
                    out.flush()
                    os.fsync(out.fileno())
                target.chmod(0o444)
                stored.append(StoredFile(f.path, f.kind, len(f.data), hashlib.sha256(f.data).hexdigest()))
        except BaseException:
            self.discard(StagedCase(directory, ()))
            raise
        return StagedCase(directory, tuple(sorted(stored, key=lambda s: s.path)))

    def commit(self, staged: StagedCase, case_pk: str) -> Path:
        """Move a staged case into place under its id (one atomic rename)."""
        target = self.case_dir(case_pk)
        os.rename(staged.directory, target)
        _fsync_dir(self.cases)
        return target

    def adopt(self, staged: StagedCase, case_pk: str, paths: list[str]) -> None:
        """Move ``paths`` of a staged copy into an existing case (evidence added later; each an atomic
        rename, never over an existing file)."""
        target = self.case_dir(case_pk)
        for path in paths:
            dest = target / path
            if dest.exists():
                raise FileExistsError(f"{path} is already stored in case {case_pk}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged.directory / path, dest)
            _fsync_dir(dest.parent)

    def withdraw(self, case_pk: str, paths: list[str]) -> None:
        """Remove files :meth:`adopt` moved in, when the database refused to record them."""
        for path in paths:
            (self.case_dir(case_pk) / path).unlink(missing_ok=True)

    def discard(self, staged: StagedCase) -> None:
        shutil.rmtree(staged.directory, ignore_errors=True)

    def remove_case(self, case_pk: str) -> None:
        shutil.rmtree(self.case_dir(case_pk), ignore_errors=True)
        shutil.rmtree(self.reports / case_pk, ignore_errors=True)

    def read(self, case_pk: str, path: str) -> bytes:
        """The bytes of one stored file (``path`` must be one of the case's recorded paths)."""
        base = self.case_dir(case_pk).resolve()
        target = (base / path).resolve()
        if base not in target.parents:
            raise ValueError(f"{path} is outside the case")
        return target.read_bytes()

    def verify(self, case_pk: str, files: list[StoredFile]) -> list[str]:
        """Paths whose bytes on disk no longer match their recorded SHA-256 (or are missing)."""
        bad = []
        for f in files:
            try:
                data = self.read(case_pk, f.path)
            except OSError:
                bad.append(f.path)
                continue
            if hashlib.sha256(data).hexdigest() != f.sha256:
                bad.append(f.path)
        return bad

    def report_path(self, case_pk: str, version: int, suffix: str) -> Path:
        return self.reports / self.case_dir(case_pk).name / f"v{version}.{suffix}"

    def cached_report(self, case_pk: str, version: int, suffix: str) -> bytes | None:
        path = self.report_path(case_pk, version, suffix)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def cache_report(self, case_pk: str, version: int, suffix: str, data: bytes) -> None:
        path = self.report_path(case_pk, version, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def split_lines(data: bytes) -> list[str]:
    """A text file's lines, numbered as the diagnosis cites them (1-based = index + 1)."""
    text = data.decode("utf-8", errors="replace")
    lines = LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
