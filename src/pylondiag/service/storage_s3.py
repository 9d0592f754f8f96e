"""The evidence store on an S3-compatible object store (AWS S3, MinIO, Ceph, Garage...; extra ``[s3]``).

``PYLONDIAG_EVIDENCE_STORE=s3://bucket/prefix`` selects it. Credentials, region and endpoint come from
boto3's usual sources (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL_S3`` or ``PYLONDIAG_S3_ENDPOINT_URL`` for a non-AWS server, profiles, instance roles).
The bucket must exist.

Keys under the prefix: ``cases/<id>/<path>`` (each object carries its SHA-256 in the metadata and is
checked on every read), ``reports/<id>/vN.<variant>.<fmt>``, ``held/<digest>/<path>``. A case's objects are
written before its database row is committed, so a kill in between leaves unreferenced objects, never a
half case; new evidence is written with ``If-None-Match: *`` (never over an existing object).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pylondiag.extras import require
from pylondiag.service.storage import (
    Blob,
    Blobs,
    EvidenceStore,
    StagedCase,
    StoreUnavailable,
    check_key,
    check_pk,
    copy_into,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
ATTEMPTS = 3
"""Tries per request (boto3's standard retry mode: back-off between them)."""

_MISSING = {"NoSuchKey", "404", "NotFound"}
_EXISTS = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _client(endpoint_url: str | None) -> Any:
    require("s3", "an s3:// evidence store (PYLONDIAG_EVIDENCE_STORE)")  # one line, not an ImportError
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


@contextlib.contextmanager
def _answers(what: str) -> Iterator[None]:
    """botocore's errors as the store's: a missing object is ``FileNotFoundError``, a refused conditional
    write ``FileExistsError``, anything else (unreachable, timed out, denied) ``StoreUnavailable``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            raise FileNotFoundError(what) from exc
        if code in _EXISTS:
            raise FileExistsError(what) from exc
        raise StoreUnavailable(f"{what}: {code or exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"{what}: {exc}") from exc


class CorruptObject(OSError):
    """An object whose bytes do not match the SHA-256 written with it (damaged or cut short)."""


class S3Blobs(Blobs):
    """Blobs as objects ``<prefix><key>`` in ``bucket``."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        extra = {"IfNoneMatch": "*"} if exclusive else {}
        with _answers(f"writing {key}"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + check_key(key),
                Body=data,
                Metadata={"sha256": hashlib.sha256(data).hexdigest()},
                **extra,
            )

    def get(self, key: str) -> bytes:
        with _answers(f"reading {key}"):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + check_key(key))
            data: bytes = answer["Body"].read()
        recorded = answer.get("Metadata", {}).get("sha256")
        if recorded and hashlib.sha256(data).hexdigest() != recorded:
            raise CorruptObject(f"{key}: the bytes read do not match their SHA-256 {recorded}")
        return data

    def listing(self, prefix: str) -> list[Blob]:
        out = []
        with _answers(f"listing {prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    out.append(Blob(key, int(item["Size"]), item["LastModified"].timestamp()))
        return sorted(out, key=lambda b: b.key)

    def delete(self, keys: Iterable[str]) -> None:
        batch = [{"Key": self.prefix + check_key(k)} for k in keys]
        for start in range(0, len(batch), 1000):  # the API's limit per request
            with _answers("deleting objects"):
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch[start : start + 1000], "Quiet": True}
                )
            if answer.get("Errors"):
                raise StoreUnavailable(f"deleting objects: {answer['Errors'][0]}")


class S3Store(EvidenceStore):
    """Cases as objects ``cases/<id>/<path>``; staging and diagnosis copies on this machine's disk."""

    blobs: S3Blobs

    def __init__(self, blobs: S3Blobs, data_dir: Path, url: str) -> None:
        super().__init__(data_dir)
        self.blobs = blobs
        self.url = url

    @classmethod
    def from_url(cls, url: str, data_dir: Path, *, endpoint_url: str | None = None) -> S3Store:
        bucket, prefix = parse_url(url)
        return cls(S3Blobs(_client(endpoint_url), bucket, prefix), data_dir, url)

    def describe(self) -> str:
        return f"object store {self.url}"

    def check(self) -> None:
        """The bucket answers (reachable, exists, credentials accepted)."""
        try:
            with _answers(f"bucket {self.blobs.bucket}"):
                self.blobs.client.head_bucket(Bucket=self.blobs.bucket)
        except FileNotFoundError:
            raise StoreUnavailable(f"the bucket {self.blobs.bucket!r} does not exist") from None

    def _case(self, case_pk: str) -> str:
        return f"cases/{check_pk(case_pk)}/"

    def commit(self, staged: StagedCase, case_pk: str) -> None:
        """Upload every staged file; on failure delete what was uploaded (best effort) and raise."""
        self._upload(staged, case_pk, [f.path for f in staged.files], exclusive=False)
        self.discard(staged)

    def adopt(self, staged: StagedCase, case_pk: str, paths: list[str]) -> None:
        self._upload(staged, case_pk, paths, exclusive=True)

    def _upload(self, staged: StagedCase, case_pk: str, paths: list[str], *, exclusive: bool) -> None:
        done: list[str] = []
        try:
            for path in paths:
                data = (staged.directory / path).read_bytes()
                try:
                    self.blobs.put(self._case(case_pk) + path, data, exclusive=exclusive)
                except FileExistsError:
                    raise FileExistsError(f"{path} is already stored in case {case_pk}") from None
                done.append(path)
        except BaseException:
            with contextlib.suppress(StoreUnavailable):
                self.withdraw(case_pk, done)
            raise

    def withdraw(self, case_pk: str, paths: list[str]) -> None:
        self.blobs.delete(self._case(case_pk) + p for p in paths)

    def remove_case(self, case_pk: str) -> None:
        self.blobs.delete_prefix(self._case(case_pk))
        self.blobs.delete_prefix(f"reports/{check_pk(case_pk)}/")

    def exists(self, case_pk: str) -> bool:
        return bool(self.blobs.listing(self._case(case_pk)))

    def read(self, case_pk: str, path: str) -> bytes:
        return self.blobs.get(self._case(case_pk) + path)

    @contextlib.contextmanager
    def local_copy(self, case_pk: str) -> Iterator[Path]:
        """The case's objects downloaded into a fresh directory under ``staging/`` (removed afterwards,
        or by the next start's ``clean_staging`` after a crash)."""
        directory = self._scratch()
        try:
            copy_into(directory, self.blobs, self._case(case_pk))
            yield directory
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")`` (prefix may be empty)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"evidence store {url!r}: expected s3://bucket or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""
