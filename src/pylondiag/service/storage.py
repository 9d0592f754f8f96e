"""The evidence store: every case's files (each with its SHA-256), the rendered-report cache and the uploads
held for a refused intake form, behind one interface (:class:`EvidenceStore`).

Two stores:

- :class:`LocalStore` (the default): files under the data directory, ``<data_dir>/cases/<id>/``,
  ``reports/<id>/``, ``held/``. A submission is written to ``<data_dir>/staging/<random>/`` first and moved
  into place with one rename only once it has been accepted.
- ``S3Store`` (``storage_s3``, extra ``[s3]``): the same keys as objects in an S3-compatible bucket under a
  prefix, for web processes and workers on several machines (``PYLONDIAG_EVIDENCE_STORE=s3://bucket/prefix``).

Either way a case is *visible* only through its database row, and the row is committed after its files are
written: a refused, failed or killed submission leaves at most unreferenced files, never a half case. Both
stage a submission on the local disk first (the whole case is validated there by the case reader), and
both give the diagnosis a local directory (:meth:`EvidenceStore.local_copy`). A store that does not answer
raises :class:`StoreUnavailable`; the app answers 503 with a plain message, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pylondiag.service.uploads import IncomingFile

if TYPE_CHECKING:
    from pylondiag.service.held import HeldUploads
    from pylondiag.service.settings import Settings
STAGING_MAX_AGE_S: Final = 15 * 60
"""A staging entry older than this (s) is a crash's leftover; younger ones may be another process's."""

LINE_END: Final = re.compile(r"\r\n|\r|\n")
"""Universal-newline line ends, as the diagnosis counts lines (``\\r\\r\\n`` ends two lines)."""

_CASE_PK: Final = re.compile(r"[A-Za-z0-9_-]{8,32}")


class StoreUnavailable(RuntimeError):
    """The evidence store did not answer or refused (object store unreachable, timed out, access denied).

    ``str()`` is safe to show to anyone (no endpoint, bucket or path); ``detail`` is for the log.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            "the evidence store is not reachable right now; nothing was changed. Try again later."
        )
        self.detail = detail


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


@dataclass(frozen=True)
class Blob:
    key: str
    size: int
    modified: float
    """Seconds since the epoch."""


class Blobs(ABC):
    """A flat key → bytes space (keys use ``/``); what the held uploads, the report cache and the S3 case
    files are kept in."""

    @abstractmethod
    def put(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        """Write ``data`` at ``key`` whole or not at all; ``exclusive``: ``FileExistsError`` if present."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes at ``key``; ``FileNotFoundError`` when there are none."""

    @abstractmethod
    def listing(self, prefix: str) -> list[Blob]:
        """Every blob whose key starts with ``prefix`` (a folder: ends with ``/``), sorted by key."""

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> None:
        """Remove ``keys`` (missing ones are no error)."""

    def get_or_none(self, key: str) -> bytes | None:
        try:
            return self.get(key)
        except FileNotFoundError:
            return None

    def delete_prefix(self, prefix: str) -> None:
        self.delete(b.key for b in self.listing(prefix))


def check_key(key: str) -> str:
    """``key`` if it is a plain relative key (no empty, ``.`` or ``..`` part, not absolute)."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in ("", ".", "..") for p in parts[:-1])
        or parts[-1]
        in (
            ".",
            "..",
        )
    ):
        raise ValueError(f"not a store key: {key!r}")
    return key


class LocalBlobs(Blobs):
    """Blobs as files under ``root`` (``key`` = relative path); writes are a temporary file + rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_bytes(data)
        try:
            if exclusive:
                os.link(tmp, path)  # FileExistsError when present: never replaces
            else:
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def listing(self, prefix: str) -> list[Blob]:
        folder = prefix.rpartition("/")[0]
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return []
        out = []
        for p in base.rglob("*"):
            rel = p.relative_to(self.root).as_posix()
            if p.name.startswith(".") or not rel.startswith(prefix) or not p.is_file():
                continue
            st = p.stat()
            out.append(Blob(rel, st.st_size, st.st_mtime))
        return sorted(out, key=lambda b: b.key)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            for parent in path.parents:  # empty folders go with their last file
                if parent == self.root or not parent.is_relative_to(self.root):
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break


def report_key(case_pk: str, version: int, suffix: str) -> str:
    return f"reports/{check_pk(case_pk)}/v{version}.{suffix}"


def check_pk(case_pk: str) -> str:
    if not _CASE_PK.fullmatch(case_pk):
        raise ValueError(f"not a case id: {case_pk!r}")
    return case_pk


class EvidenceStore(ABC):
    """Where evidence, cached reports and held uploads live. ``data_dir`` is this machine's own directory
    (the local store keeps everything there; any store stages submissions in ``data_dir/staging``)."""

    blobs: Blobs
    """Report cache and held uploads (``reports/<id>/vN.<variant>.<fmt>``, ``held/<digest>/<path>``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.staging = data_dir / "staging"
        self.staging.mkdir(parents=True, exist_ok=True)

    @property
    def held(self) -> HeldUploads:
        from pylondiag.service.held import HeldUploads

        return HeldUploads(self.blobs)

    # -- staging on this machine's disk (the case reader validates the staged copy) -------------------
    def clean_staging(self, older_than_s: float = STAGING_MAX_AGE_S) -> int:
        """Remove submissions and copies a crash left half-written; returns how many.

        Only entries older than ``older_than_s`` (s): other web processes on this data directory may be
        staging a submission right now (a process started or restarted by ``serve --workers N`` must not
        remove theirs); one submission stays in staging for seconds.
        """
        n = 0
        limit = time.time() - older_than_s
        for entry in self.staging.iterdir():
            try:
                if entry.stat().st_mtime > limit:
                    continue
            except FileNotFoundError:  # committed or discarded meanwhile
                continue
            shutil.rmtree(entry, ignore_errors=True)
            n += 1
        return n

    def _scratch(self) -> Path:
        directory = self.staging / secrets.token_hex(12)
        directory.mkdir()
        return directory

    def stage(self, files: list[IncomingFile]) -> StagedCase:
        """Write ``files`` under a fresh staging directory (fsync'd); nothing is visible yet."""
        directory = self._scratch()
        stored: list[StoredFile] = []
        try:
            for f in files:
                _write_new(directory, f.path, f.data)
                stored.append(StoredFile(f.path, f.kind, len(f.data), hashlib.sha256(f.data).hexdigest()))
        except BaseException:
            self.discard(StagedCase(directory, ()))
            raise
        return StagedCase(directory, tuple(sorted(stored, key=lambda s: s.path)))

    def discard(self, staged: StagedCase) -> None:
        shutil.rmtree(staged.directory, ignore_errors=True)

    def verify(self, case_pk: str, files: list[StoredFile]) -> list[str]:
        """Paths whose stored bytes no longer match their recorded SHA-256 (or are missing)."""
        bad = []
        for f in files:
            try:
                data = self.read(case_pk, f.path)
            except (OSError, ValueError):
                bad.append(f.path)
                continue
            if hashlib.sha256(data).hexdigest() != f.sha256:
                bad.append(f.path)
        return bad

    # -- the report cache (any store: its blobs) ---------------------------------------------------
    def cached_report(self, case_pk: str, version: int, suffix: str) -> bytes | None:
        return self.blobs.get_or_none(report_key(case_pk, version, suffix))

    def cache_report(self, case_pk: str, version: int, suffix: str, data: bytes) -> None:
        self.blobs.put(report_key(case_pk, version, suffix), data)

    @abstractmethod
    def check(self) -> None:
        """``StoreUnavailable`` (the reason in ``detail``) when the store cannot be used; run at start."""

    # -- cases -------------------------------------------------------------------------------------
    @abstractmethod
    def describe(self) -> str:
        """Where the evidence is, for the operator's log (never shown to users)."""

    @abstractmethod
    def commit(self, staged: StagedCase, case_pk: str) -> None:
        """Store a staged case under its (new) id: every file written before this returns; on failure
        nothing of it stays. Call it before the database row is committed."""

    @abstractmethod
    def adopt(self, staged: StagedCase, case_pk: str, paths: list[str]) -> None:
        """Store ``paths`` of a staged copy into an existing case (evidence added later), never over an
        existing file (``FileExistsError``); on failure none of them stays."""

    @abstractmethod
    def withdraw(self, case_pk: str, paths: list[str]) -> None:
        """Remove files :meth:`adopt` stored, when the database refused to record them."""

    @abstractmethod
    def remove_case(self, case_pk: str) -> None:
        """Remove a case's files and cached reports."""

    def stored_cases(self) -> dict[str, float]:
        """Every case id that has files in the store, with when its newest file was written (seconds
        since the epoch, the store's clock). Both stores keep a case's files at ``cases/<id>/...``."""
        newest: dict[str, float] = {}
        for blob in self.blobs.listing("cases/"):
            parts = blob.key.split("/", 2)
            if len(parts) == 3 and _CASE_PK.fullmatch(parts[1]):
                newest[parts[1]] = max(newest.get(parts[1], 0.0), blob.modified)
        return newest

    @abstractmethod
    def exists(self, case_pk: str) -> bool:
        """Whether any file is stored under ``case_pk``."""

    @abstractmethod
    def read(self, case_pk: str, path: str) -> bytes:
        """The bytes of one stored file (``path`` must be one of the case's recorded paths)."""

    @abstractmethod
    def local_copy(self, case_pk: str) -> contextlib.AbstractContextManager[Path]:
        """A local directory holding the case's files while the ``with`` block runs (what the diagnosis
        and the report read). The local store gives its own directory; others a temporary copy."""


class LocalStore(EvidenceStore):
    """The data directory's evidence and report files. Stored files are made read-only: nothing in a
    case directory is ever modified."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.cases = data_dir / "cases"
        self.reports = data_dir / "reports"
        for d in (self.cases, self.reports):
            d.mkdir(parents=True, exist_ok=True)
        self.blobs = LocalBlobs(data_dir)

    def describe(self) -> str:
        return f"local directory {self.data_dir.resolve()}"

    def check(self) -> None:
        for d in (self.cases, self.reports, self.staging):
            if not os.access(d, os.W_OK | os.X_OK):
                raise StoreUnavailable(f"{d} is not writable by this process")

    def case_dir(self, case_pk: str) -> Path:
        return self.cases / check_pk(case_pk)

    @contextlib.contextmanager
    def local_copy(self, case_pk: str) -> Iterator[Path]:
        yield self.case_dir(case_pk)

    def commit(self, staged: StagedCase, case_pk: str) -> None:
        """Move a staged case into place under its id (one atomic rename)."""
        os.rename(staged.directory, self.case_dir(case_pk))
        _fsync_dir(self.cases)

    def adopt(self, staged: StagedCase, case_pk: str, paths: list[str]) -> None:
        """Each an atomic rename, never over an existing file."""
        target = self.case_dir(case_pk)
        moved: list[str] = []
        try:
            for path in paths:
                dest = target / path
                if dest.exists():
                    raise FileExistsError(f"{path} is already stored in case {case_pk}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staged.directory / path, dest)
                moved.append(path)
                _fsync_dir(dest.parent)
        except BaseException:
            self.withdraw(case_pk, moved)
            raise

    def withdraw(self, case_pk: str, paths: list[str]) -> None:
        for path in paths:
            (self.case_dir(case_pk) / path).unlink(missing_ok=True)

    def remove_case(self, case_pk: str) -> None:
        shutil.rmtree(self.case_dir(case_pk), ignore_errors=True)
        shutil.rmtree(self.reports / check_pk(case_pk), ignore_errors=True)

    def exists(self, case_pk: str) -> bool:
        return self.case_dir(case_pk).exists()

    def read(self, case_pk: str, path: str) -> bytes:
        base = self.case_dir(case_pk).resolve()
        target = (base / path).resolve()
        if base not in target.parents:
            raise ValueError(f"{path} is outside the case")
        return target.read_bytes()

    def report_path(self, case_pk: str, version: int, suffix: str) -> Path:
        return self.data_dir / report_key(case_pk, version, suffix)


def open_store(settings: Settings) -> EvidenceStore:
    """The store ``settings.evidence_store`` names: ``None`` = the local data directory,
    ``s3://bucket/prefix`` = an S3-compatible object store (extra ``[s3]``)."""
    url = settings.evidence_store
    if not url:
        return LocalStore(settings.data_dir)
    from pylondiag.service.storage_s3 import S3Store

    return S3Store.from_url(url, settings.data_dir, endpoint_url=settings.s3_endpoint_url)


def split_lines(data: bytes) -> list[str]:
    """A text file's lines, numbered as the diagnosis cites them (1-based = index + 1)."""
    text = data.decode("utf-8", errors="replace")
    lines = LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def copy_into(directory: Path, blobs: Blobs, prefix: str) -> None:
    """Every blob under ``prefix`` written into ``directory`` (key minus prefix = relative path)."""
    for blob in blobs.listing(prefix):
        _write_new(directory, blob.key[len(prefix) :], blobs.get(blob.key))


def _write_new(directory: Path, rel: str, data: bytes) -> None:
    target = directory / check_key(rel)
    if directory.resolve() not in target.resolve().parents:  # defence in depth
        raise ValueError(f"{rel} escapes the case directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    target.chmod(0o444)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def older_than(blobs: Iterable[Blob], age_s: float) -> list[str]:
    """Keys of ``blobs`` last written more than ``age_s`` seconds ago."""
    cutoff = time.time() - age_s
    return [b.key for b in blobs if b.modified < cutoff]
