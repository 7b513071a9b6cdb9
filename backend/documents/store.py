"""Content-addressed blob store: a document's bytes live under their sha256.

Why content addressing: the same bytes are stored once, a blob never changes after it is
written, a database rollback can leave at most an unreferenced blob (an orphan, removed by
`remove_orphans`), never a row pointing at missing or different bytes, and two hosts writing the
same key write the same bytes, so they never fight over names.

Two backends behind the small `BlobStore` protocol: the local folder (default, nothing to
configure) and any S3-compatible bucket (`JINGPIN_STORE=s3`), which is what several app hosts
share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from backend.core.config import get_settings
from backend.core.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(NotFound):
    code = "blob_not_found"
    message = "文档内容不存在"


@runtime_checkable
class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its sha256 hex."""
        ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def iter_blobs(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every stored blob: (sha256, when it was written, aware UTC)."""
        ...

    def delete(self, sha256: str) -> None: ...


def check_key(sha256: str) -> str:
    """Refuse anything but 64 lowercase hex digits: the digest becomes a path or object key."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def is_key(name: str) -> bool:
    return bool(_SHA256.match(name))


class FileBlobStore:
    """Blobs under `<root>/ab/cd/<sha256>`, written with temp file + fsync + rename.

    The rename is atomic on POSIX, so a reader sees either no blob or the whole blob, and two
    writers of the same bytes both succeed. Blobs are made read-only to catch accidental edits.
    `durable=False` skips the two fsyncs (~1 ms each write here): only for the S3 host cache,
    whose copies are checked on read and can be fetched again, so a crash may cost a copy, never
    a document.
    """

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root, self.durable = Path(root), durable

    def path_for(self, sha256: str) -> Path:
        check_key(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound() from None

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        if path.is_file():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o400)  # the app's own: read-only, and nobody else's to read
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.durable:
            _fsync_dir(path.parent)
        return sha256

    def iter_blobs(self) -> Iterator[tuple[str, dt.datetime]]:
        """Temp files of writes in progress are skipped."""
        for path in self.root.glob("??/??/*"):
            if not is_key(path.name):
                continue
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            yield path.name, dt.datetime.fromtimestamp(mtime, dt.UTC)

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def remove_stale_temp_files(self, cutoff: float) -> None:
        """Temp files left by a crashed write (the S3 backend has none: a PUT is atomic)."""
        for tmp in self.root.glob("??/??/.tmp-*"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except FileNotFoundError:
                continue


class S3BlobStore:
    """Blobs as objects `blobs/ab/cd/<sha256>` in an S3-compatible bucket (boto3).

    A PUT is atomic (readers see no object or the whole object), so no temp files. `get`
    checks the digest: the bucket is shared by every host, and a blob that no longer matches its
    key must fail loudly rather than be served or signed.

    `cache` (a local FileBlobStore) keeps a copy of what this host wrote or read: a blob never
    changes under its key, so a cached copy can never be stale, and a repeated download costs a
    local read instead of a round trip (BENCHMARKS.md). The copy is written without fsync (off a
    first download's path) and so is checked against its key like the bucket's bytes; a copy
    that fails (torn by a crash) is dropped and fetched again.
    """

    prefix = "blobs/"

    def __init__(self, client: Any, bucket: str, cache: FileBlobStore | None = None) -> None:
        self.client, self.bucket, self.cache = client, bucket, cache

    def key_for(self, sha256: str) -> str:
        check_key(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except self.client.exceptions.ClientError as e:
            if _s3_missing(e):
                return False
            raise
        return True

    def get(self, sha256: str) -> bytes:
        if self.cache is not None and self.cache.exists(sha256):
            copy = self.cache.get(sha256)
            if hashlib.sha256(copy).hexdigest() == sha256:
                return copy
            self.cache.delete(sha256)
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except self.client.exceptions.ClientError as e:
            if _s3_missing(e):
                raise BlobNotFound() from None
            raise
        data: bytes = obj["Body"].read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise RuntimeError(f"blob {sha256} in bucket {self.bucket} does not match its key")
        if self.cache is not None:
            self.cache.put(data)
        return data

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.exists(sha256):
            self.client.put_object(
                Bucket=self.bucket, Key=self.key_for(sha256), Body=data, ContentLength=len(data)
            )
        if self.cache is not None:
            self.cache.put(data)
        return sha256

    def iter_blobs(self) -> Iterator[tuple[str, dt.datetime]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if is_key(name):
                    yield name, obj["LastModified"]

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(sha256))
        if self.cache is not None:
            self.cache.delete(sha256)

    def ping(self) -> None:
        """Raise unless the bucket answers (readiness check)."""
        self.client.head_bucket(Bucket=self.bucket)


def _s3_missing(error: Any) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}


@lru_cache(maxsize=8)
def s3_client(endpoint_url: str | None, region: str) -> Any:
    """One boto3 client per endpoint (thread-safe; building one costs ~50 ms). Credentials come
    from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or an instance role),
    never from our settings, so they are never printed with them."""
    # boto3 loads only when the S3 backend is configured: it adds ~0.3 s to every start-up, and
    # the embedded default never needs it.
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 5},
            # Checksums on every request only when the server asks: not every S3 server does them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def remove_orphans(
    store: BlobStore, referenced: Iterable[str], *, older_than_hours: float = 24
) -> int:
    """Delete blobs no row references and older than the grace period; returns the count.

    The grace period covers blobs written by a transaction that has not committed yet (on any
    host), and temp files left by a crashed write.
    """
    keep = set(referenced)
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    for sha256, written in list(store.iter_blobs()):
        if sha256 not in keep and written.timestamp() < cutoff:
            store.delete(sha256)
            removed += 1
    if isinstance(store, FileBlobStore):
        store.remove_stale_temp_files(cutoff)
    return removed


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (the directory entry), not only the file's bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def get_store() -> FileBlobStore | S3BlobStore:
    """The app's store: `<data_dir>/blobs`, or the S3 bucket when `JINGPIN_STORE=s3`."""
    s = get_settings()
    if s.store == "s3":
        if not s.s3_bucket:
            raise RuntimeError("JINGPIN_STORE=s3 needs JINGPIN_S3_BUCKET")
        cache = FileBlobStore(s.data_dir / "blob-cache", durable=False) if s.s3_cache else None
        return S3BlobStore(s3_client(s.s3_endpoint_url, s.s3_region), s.s3_bucket, cache)
    return FileBlobStore(s.data_dir / "blobs")


def warm_up() -> None:
    """With the S3 backend, build the client and open a pooled connection before the first
    request needs them (boto3 import + client ~0.4 s, a TCP connect). Best effort: a bucket that
    is down now is reported by /readyz, not by a failed start."""
    if get_settings().store != "s3":
        return
    try:
        store = get_store()
        if isinstance(store, S3BlobStore):
            store.ping()
    except Exception:  # noqa: BLE001 - readiness reports it; start-up goes on
        logging.getLogger(__name__).warning("S3 store not reachable at start-up", exc_info=True)
