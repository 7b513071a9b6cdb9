"""Content-addressed blob store: a document's bytes live under their sha256.

Why content addressing: the same bytes are stored once, a blob never changes after it is
written, and a database rollback can leave at most an unreferenced blob (an orphan, removed by
`remove_orphans`), never a row pointing at missing or different bytes. The `BlobStore` protocol is
small on purpose so that an S3-compatible bucket can replace the filesystem.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

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

    def path_for(self, sha256: str) -> Path:
        """Where the blob lives (or would live); lets a web server send the file directly."""
        ...


def _check(sha256: str) -> str:
    """Refuse anything but 64 lowercase hex digits: the digest becomes a file path."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class FileBlobStore:
    """Blobs under `<root>/ab/cd/<sha256>`, written with temp file + fsync + rename.

    The rename is atomic on POSIX, so a reader sees either no blob or the whole blob, and two
    writers of the same bytes both succeed. Blobs are made read-only to catch accidental edits.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        _check(sha256)
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
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o400)  # the app's own: read-only, and nobody else's to read
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return sha256

    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        """Every stored blob (sha256, path); temp files of writes in progress are skipped."""
        for path in self.root.glob("??/??/*"):
            if _SHA256.match(path.name):
                yield path.name, path

    def remove_orphans(self, referenced: Iterable[str], *, older_than_hours: float = 24) -> int:
        """Delete blobs no row references and older than the grace period; returns the count.

        The grace period covers blobs written by a transaction that has not committed yet, and
        temp files left by a crashed write.
        """
        keep = set(referenced)
        cutoff = time.time() - older_than_hours * 3600
        removed = 0
        for sha256, path in list(self.iter_blobs()):
            if sha256 in keep:
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        for tmp in self.root.glob("??/??/.tmp-*"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except FileNotFoundError:
                continue
        return removed


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (the directory entry), not only the file's bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def get_store() -> FileBlobStore:
    """The app's store under `<data_dir>/blobs`."""
    return FileBlobStore(get_settings().data_dir / "blobs")
