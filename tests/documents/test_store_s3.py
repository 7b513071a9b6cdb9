"""The blob store's S3 backend against a real S3 server (SeaweedFS), and the app on it."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from typing import Any

import pytest

from backend.documents.store import (
    BlobNotFound,
    BlobStore,
    FileBlobStore,
    S3BlobStore,
    get_store,
    remove_orphans,
    s3_client,
)


@pytest.fixture
def s3(seaweed: Any, monkeypatch: pytest.MonkeyPatch) -> S3BlobStore:
    """A fresh bucket per test, so listings hold only what the test wrote."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    client = s3_client(seaweed.endpoint_url, "us-east-1")
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3BlobStore(client, bucket)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> BlobStore:
    if request.param == "local":
        return FileBlobStore(tmp_path / "blobs")
    return request.getfixturevalue("s3")


def test_both_backends_satisfy_the_blob_store_protocol(store):
    assert isinstance(store, BlobStore)


def test_put_returns_the_sha256_and_get_returns_the_same_bytes(store):
    data = "三方协议".encode() + os.urandom(300_000)
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.exists(sha) and store.get(sha) == data


def test_put_of_the_same_bytes_stores_one_blob(store):
    assert store.put(b"same") == store.put(b"same")
    assert [sha for sha, _ in store.iter_blobs()] == [hashlib.sha256(b"same").hexdigest()]


def test_concurrent_puts_of_the_same_bytes_from_many_writers_agree(store):
    data = os.urandom(1024 * 1024)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(store.put(data))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {hashlib.sha256(data).hexdigest()}
    assert store.get(results[0]) == data


def test_missing_blob_is_not_found(store):
    assert not store.exists("0" * 64)
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_anything_but_a_sha256_hex_is_refused_as_a_key(store, bad):
    with pytest.raises(ValueError):
        store.get(bad)
    with pytest.raises(ValueError):
        store.exists(bad)


def test_orphan_cleanup_deletes_only_unreferenced_blobs_past_the_grace_period(store):
    kept, orphan = store.put(b"referenced"), store.put(b"orphan")
    assert remove_orphans(store, [kept], older_than_hours=24) == 0  # both young: kept
    assert remove_orphans(store, [kept], older_than_hours=0) == 1
    assert store.exists(kept) and not store.exists(orphan)


def test_s3_object_that_no_longer_matches_its_key_is_refused_not_served(s3):
    sha = s3.put(b"signed agreement")
    s3.client.put_object(Bucket=s3.bucket, Key=s3.key_for(sha), Body=b"forged agreement")
    with pytest.raises(RuntimeError, match="does not match"):
        s3.get(sha)


def test_s3_blobs_live_under_their_sha256_in_the_bucket(s3):
    sha = s3.put(b"x")
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"blobs/{sha[:2]}/{sha[2:4]}/{sha}")
    assert head["ContentLength"] == 1


def test_app_on_s3_stores_a_new_download_in_the_bucket_and_none_on_local_disk(
    s3_env, client, token_for, session
):
    from sqlmodel import select

    from backend.documents.models import Document
    from backend.works.models import Work

    work = session.exec(select(Work).where(Work.title == "西湖边的修伞人")).one()
    r = client.get(
        f"/api/v1/works/{work.id}/documents/application.docx", headers=token_for("prod-hz")
    )
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(r.content).hexdigest()
    session.rollback()
    assert session.exec(select(Document).where(Document.sha256 == sha)).first() is not None
    store = get_store()
    assert isinstance(store, S3BlobStore) and store.bucket == s3_env["bucket"]
    assert store.get(sha) == r.content
    assert not (s3_env["data_dir"] / "blobs").exists()


def test_app_on_s3_serves_a_signed_agreement_pdf_from_the_bucket(s3_env, client, token_for):
    from sqlmodel import Session, select

    from backend.agreements.models import Agreement
    from backend.core.db import get_engine

    with Session(get_engine()) as s:
        ag = s.exec(select(Agreement).where(Agreement.current_pdf_sha256.is_not(None))).first()
    assert ag is not None
    data = get_store().get(ag.current_pdf_sha256)
    assert data.startswith(b"%PDF")


def test_s3_with_a_local_cache_serves_a_blob_read_once_without_asking_the_bucket(s3, tmp_path):
    cached = S3BlobStore(s3.client, s3.bucket, FileBlobStore(tmp_path / "cache"))
    sha = s3.put(b"signed once, read often")  # written by another host: not in this cache
    assert not cached.cache.exists(sha)
    assert cached.get(sha) == b"signed once, read often"
    s3.client.delete_object(Bucket=s3.bucket, Key=s3.key_for(sha))
    assert cached.get(sha) == b"signed once, read often"  # from the local copy


def test_s3_cache_never_keeps_bytes_that_failed_the_digest_check(s3, tmp_path):
    cached = S3BlobStore(s3.client, s3.bucket, FileBlobStore(tmp_path / "cache"))
    sha = s3.put(b"genuine")
    s3.client.put_object(Bucket=s3.bucket, Key=s3.key_for(sha), Body=b"forged")
    with pytest.raises(RuntimeError, match="does not match"):
        cached.get(sha)
    assert not cached.cache.exists(sha)


def test_s3_cache_copy_that_no_longer_matches_its_key_is_dropped_and_fetched_again(s3, tmp_path):
    # The cache is written without fsync, so a crash can leave a torn copy: it must never be served.
    cache = FileBlobStore(tmp_path / "cache", durable=False)
    cached = S3BlobStore(s3.client, s3.bucket, cache)
    sha = s3.put(b"the signed bytes")
    assert cached.get(sha) == b"the signed bytes"
    torn = cache.path_for(sha)
    torn.chmod(0o600)
    torn.write_bytes(b"the sig")
    assert cached.get(sha) == b"the signed bytes"  # from the bucket, not the torn copy
    assert cache.get(sha) == b"the signed bytes"  # and the copy is whole again


def test_start_up_warm_up_builds_the_s3_client_before_the_first_request(s3_env):
    from backend.documents.store import warm_up

    s3_client.cache_clear()
    warm_up()
    assert s3_client.cache_info().currsize == 1  # the first download finds it built


def test_start_up_warm_up_with_the_bucket_down_does_not_fail_the_start(s3_env, monkeypatch):
    from backend.core.config import get_settings
    from backend.documents.store import warm_up

    monkeypatch.setenv("JINGPIN_S3_BUCKET", "no-such-bucket-here")
    get_settings.cache_clear()
    warm_up()  # logged; /readyz reports it
