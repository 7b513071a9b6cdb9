"""The content-addressed blob store on the filesystem."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from backend.documents.store import BlobNotFound, BlobStore, FileBlobStore, remove_orphans


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


def leftovers(store: FileBlobStore) -> list[Path]:
    return list(store.root.glob("??/??/.tmp-*"))


def test_file_store_satisfies_the_blob_store_protocol(store):
    assert isinstance(store, BlobStore)


def test_put_returns_sha256_and_stores_under_two_level_fanout(store):
    data = "三方协议".encode()
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path_for(sha) == store.root / sha[:2] / sha[2:4] / sha
    assert store.get(sha) == data and store.exists(sha)


def test_put_of_the_same_bytes_is_idempotent_and_does_not_rewrite(store):
    sha = store.put(b"x" * 1000)
    inode = store.path_for(sha).stat().st_ino
    assert store.put(b"x" * 1000) == sha
    assert store.path_for(sha).stat().st_ino == inode
    assert len(list(store.iter_blobs())) == 1


def test_stored_blob_is_read_only(store):
    mode = store.path_for(store.put(b"pdf")).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_concurrent_puts_of_the_same_bytes_all_succeed_with_intact_content(store):
    data = os.urandom(2 * 1024 * 1024)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(store.put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {hashlib.sha256(data).hexdigest()}
    assert store.get(results[0]) == data
    assert leftovers(store) == []


def test_failed_write_leaves_neither_blob_nor_temp_file(store, monkeypatch):
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        store.put(b"half written")
    assert not store.exists(hashlib.sha256(b"half written").hexdigest())
    assert leftovers(store) == []


def test_missing_blob_raises_not_found(store):
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_anything_but_a_sha256_hex_is_refused_as_a_key(store, bad):
    with pytest.raises(ValueError):
        store.path_for(bad)


def test_orphan_cleanup_removes_only_old_unreferenced_blobs_and_stale_temp_files(store):
    kept = store.put(b"referenced")
    young = store.put(b"unreferenced but young")
    old = store.put(b"unreferenced and old")
    two_days_ago = time.time() - 48 * 3600
    for sha in (kept, old):
        os.utime(store.path_for(sha), (two_days_ago, two_days_ago))
    stale_tmp = store.path_for(old).parent / ".tmp-crashed"
    stale_tmp.write_bytes(b"partial")
    os.utime(stale_tmp, (two_days_ago, two_days_ago))

    assert remove_orphans(store, [kept], older_than_hours=24) == 1
    assert store.exists(kept) and store.exists(young) and not store.exists(old)
    assert not stale_tmp.exists()
