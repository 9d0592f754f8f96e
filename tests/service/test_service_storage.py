"""The evidence store's one interface, the same tests on both stores: the local data directory and an
S3-compatible object store (moto's server on 127.0.0.1, started by the tests)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from _service_helpers import S3Bucket, check_orphan_sweep, free_port
from fastapi.testclient import TestClient

from pylondiag.service.held import MAX_AGE_S
from pylondiag.service.settings import Settings
from pylondiag.service.storage import EvidenceStore, LocalStore, StoredFile, StoreUnavailable, open_store
from pylondiag.service.storage_s3 import CorruptObject, S3Store, parse_url
from pylondiag.service.uploads import IncomingFile

PK = "case-0123456789ab"
FILES = [
    IncomingFile("case.yaml", b"schema: pylondiag.case/1\n"),
    IncomingFile("console/pwr.txt", b"pwr\r\n1  49000\r\n"),
    IncomingFile("photos/stack.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"),
]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EvidenceStore:
    if request.param == "local":
        return open_store(Settings(data_dir=tmp_path / "data"))
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return open_store(bucket.settings(tmp_path / "data"))


def stored(store: EvidenceStore, pk: str = PK) -> EvidenceStore:
    staged = store.stage(FILES)
    store.commit(staged, pk)
    store.discard(staged)
    return store


def test_the_settings_choose_the_store(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    assert isinstance(open_store(Settings(data_dir=tmp_path)), LocalStore)
    s3 = open_store(Settings(data_dir=tmp_path, evidence_store=s3_bucket.url("a/b")))
    assert isinstance(s3, S3Store) and s3.describe() == f"object store s3://{s3_bucket.name}/a/b"
    assert parse_url("s3://bucket") == ("bucket", "")
    assert parse_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    for bad in ("bucket/prefix", "https://bucket/x", "s3:///prefix", "s3://b/p?x=1"):
        with pytest.raises(ValueError, match="expected s3://bucket"):
            parse_url(bad)


def test_commit_read_verify_and_local_copy(store: EvidenceStore) -> None:
    assert not store.exists(PK)
    stored(store)
    assert store.exists(PK)
    for f in FILES:
        assert store.read(PK, f.path) == f.data
    records = [StoredFile(f.path, f.kind, len(f.data), hashlib.sha256(f.data).hexdigest()) for f in FILES]
    assert store.verify(PK, records) == []
    wrong = StoredFile("console/pwr.txt", "console", 3, "0" * 64)
    missing = StoredFile("console/gone.txt", "console", 3, "0" * 64)
    assert store.verify(PK, [*records, wrong, missing]) == ["console/pwr.txt", "console/gone.txt"]
    with store.local_copy(PK) as case_dir:
        got = {p.relative_to(case_dir).as_posix(): p.read_bytes() for p in case_dir.rglob("*") if p.is_file()}
        assert got == {f.path: f.data for f in FILES}
    if isinstance(store, S3Store):
        assert not case_dir.exists()  # a temporary copy, gone after the block
    assert list(store.staging.iterdir()) == []


def test_staged_files_are_invisible_until_committed(store: EvidenceStore) -> None:
    staged = store.stage(FILES)
    assert not store.exists(PK)
    with pytest.raises(FileNotFoundError):
        store.read(PK, "case.yaml")
    store.discard(staged)
    assert list(store.staging.iterdir()) == []


def test_adopt_never_overwrites_and_withdraw_removes(store: EvidenceStore) -> None:
    stored(store)
    more = [*FILES, IncomingFile("console/bat.txt", b"bat 1\n")]
    staged = store.stage(more)
    store.adopt(staged, PK, ["console/bat.txt"])
    assert store.read(PK, "console/bat.txt") == b"bat 1\n"
    store.withdraw(PK, ["console/bat.txt"])
    with pytest.raises(FileNotFoundError):
        store.read(PK, "console/bat.txt")
    store.discard(staged)

    clash = store.stage([IncomingFile("console/new.txt", b"new\n"), IncomingFile("console/pwr.txt", b"x")])
    with pytest.raises(FileExistsError, match=r"console/pwr.txt is already stored"):
        store.adopt(clash, PK, ["console/new.txt", "console/pwr.txt"])
    store.discard(clash)
    assert store.read(PK, "console/pwr.txt") == FILES[1].data  # untouched
    with pytest.raises(FileNotFoundError):  # nothing of the refused batch stays
        store.read(PK, "console/new.txt")


def test_report_cache_and_remove_case(store: EvidenceStore) -> None:
    stored(store)
    stored(store, "other-case-0000")
    assert store.cached_report(PK, 1, "preliminary.pdf") is None
    store.cache_report(PK, 1, "preliminary.pdf", b"%PDF-1")
    store.cache_report(PK, 1, "preliminary.pdf", b"%PDF-2")  # a render again replaces
    assert store.cached_report(PK, 1, "preliminary.pdf") == b"%PDF-2"
    store.remove_case(PK)
    assert not store.exists(PK)
    assert store.cached_report(PK, 1, "preliminary.pdf") is None
    assert store.read("other-case-0000", "case.yaml") == FILES[0].data


def test_paths_and_ids_cannot_leave_the_case(store: EvidenceStore) -> None:
    stored(store)
    for path in ("../other/case.yaml", "/etc/passwd", "console/../../x"):
        with pytest.raises((ValueError, FileNotFoundError)):
            store.read(PK, path)
    with pytest.raises(ValueError, match="not a case id"):
        store.read("../cases", "case.yaml")


def test_held_uploads_keep_list_take_drop_and_expire(store: EvidenceStore) -> None:
    held = store.held
    assert held.listed("form-a") == []
    held.keep("form-a", [IncomingFile("console/a.txt", b"aaa"), IncomingFile("photos/p.jpg", b"jpg")])
    held.keep("form-b", [IncomingFile("console/b.txt", b"b")])
    assert held.listed("form-a") == [("console/a.txt", 3), ("photos/p.jpg", 3)]
    assert held.take("form-a", {"console/a.txt", "console/b.txt"}) == [IncomingFile("console/a.txt", b"aaa")]
    held.drop("form-a")
    assert held.listed("form-a") == [] and held.listed("form-b") == [("console/b.txt", 1)]
    assert held.listed("") == []


def test_held_uploads_older_than_a_day_are_swept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data")  # the age comes from the file time, which only a file can fake
    store.held.keep("old-form", [IncomingFile("console/a.txt", b"a")])
    old = time.time() - MAX_AGE_S - 60
    for p in (tmp_path / "data" / "held").rglob("*"):
        os.utime(p, (old, old))
    store.held.keep("new-form", [IncomingFile("console/b.txt", b"b")])
    assert store.held.listed("old-form") == [] and store.held.listed("new-form") == [("console/b.txt", 1)]


def test_s3_objects_carry_their_sha256_and_a_damaged_one_is_refused(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    store = stored(open_store(s3_bucket.settings(tmp_path, "p")))
    assert isinstance(store, S3Store)
    key = f"p/cases/{PK}/console/pwr.txt"
    client = s3_bucket.client()
    head = client.head_object(Bucket=s3_bucket.name, Key=key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(FILES[1].data).hexdigest()
    # cut short / damaged in place: the recorded checksum no longer matches
    client.put_object(Bucket=s3_bucket.name, Key=key, Body=b"pwr\r\n", Metadata=head["Metadata"])
    with pytest.raises(CorruptObject, match="do not match their SHA-256"):
        store.read(PK, "console/pwr.txt")
    record = StoredFile("console/pwr.txt", "console", len(FILES[1].data), head["Metadata"]["sha256"])
    assert store.verify(PK, [record]) == ["console/pwr.txt"]
    assert s3_bucket.keys("p/cases/") == sorted(f"p/cases/{PK}/{f.path}" for f in FILES)


def test_an_unreachable_object_store_is_a_plain_error(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = open_store(Settings(data_dir=tmp_path, evidence_store=s3_bucket.url(), s3_endpoint_url=dead))
    staged = store.stage(FILES)
    with pytest.raises(StoreUnavailable) as caught:
        store.commit(staged, PK)
    assert str(caught.value).startswith("the evidence store is not reachable right now")
    assert "127.0.0.1" not in str(caught.value) and "127.0.0.1" in caught.value.detail
    with pytest.raises(StoreUnavailable):
        store.read(PK, "case.yaml")
    with pytest.raises(StoreUnavailable):
        store.exists(PK)
    with pytest.raises(StoreUnavailable):
        store.held.listed("form")
    with pytest.raises(StoreUnavailable):
        store.verify(PK, [StoredFile("case.yaml", "case_yaml", 1, "0" * 64)])  # not "tampered": unknown
    assert s3_bucket.keys() == []


def test_s3_commit_cut_off_half_way_takes_back_what_it_wrote(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(s3_bucket.settings(tmp_path))
    real_put = store.blobs.put
    puts: list[str] = []

    def third_put_fails(key: str, data: bytes, *, exclusive: bool = False) -> None:
        puts.append(key)
        if len(puts) == 3:
            raise StoreUnavailable("connection reset (injected)")
        real_put(key, data, exclusive=exclusive)

    monkeypatch.setattr(store.blobs, "put", third_put_fails)
    staged = store.stage(FILES)
    with pytest.raises(StoreUnavailable):
        store.commit(staged, PK)
    assert len(puts) == 3 and s3_bucket.keys() == []
    store.discard(staged)


def test_files_a_killed_submission_left_are_swept_from_the_data_directory(
    client: TestClient, imbalance_capture: bytes
) -> None:
    check_orphan_sweep(client, imbalance_capture)
