"""The CA shared between hosts through the database (JINGPIN_CA_SHARED=true).

The CA library keeps its state in a directory (certificates, index, revocations, CRL number,
and the private keys wrapped under the KEK or the root passphrase, as on one host). With several
app hosts, the database holds every file of that directory (`ca_files`); each host's
`<data_dir>/ca` is only a local copy, refreshed when the database's version moves on. Every
change (init, issue, renew, revoke, a new CRL, a KEK rotation) runs under one cluster-wide lock:
refresh the copy, change it, write the changed files back, so two hosts never issue from stale
state. The KEK itself is never stored here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from backend.core.db import get_engine, writer
from signing.pki import CertificateAuthority

# In SQLModel's metadata, so Alembic's autogenerate sees the table (backend.models).
ca_files = Table(
    "ca_files",
    SQLModel.metadata,
    Column("path", String(200), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("version", BigInteger().with_variant(Integer(), "sqlite")),
)
_LOCK_KEY = 0x6A70_6361  # "jpca": the advisory lock of CA changes
_SKIP = {".lock"}


def _local_files(directory: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in directory.rglob("*"):
        if path.is_file() and path.name not in _SKIP and not path.name.startswith(".tmp"):
            out[path.relative_to(directory).as_posix()] = path.read_bytes()
    return out


def _version(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(ca_files.c.version), 0))).scalar_one())


def pull(conn: Connection, directory: Path) -> int:
    """Make the local copy equal to the database's files; the database version."""
    directory.mkdir(parents=True, exist_ok=True)
    local = _local_files(directory)
    for row in conn.execute(select(ca_files.c.path, ca_files.c.content, ca_files.c.sha256)):
        if hashlib.sha256(local.get(row.path, b"")).hexdigest() == row.sha256 and (
            row.path in local
        ):
            continue
        _write(directory / row.path, row.content, private="key" in row.path)
    return _version(conn)


def push(conn: Connection, directory: Path) -> None:
    """Write local files that differ from the database's back, with a new version."""
    stored = {r.path: r.sha256 for r in conn.execute(select(ca_files.c.path, ca_files.c.sha256))}
    version = _version(conn) + 1
    for path, content in _local_files(directory).items():
        digest = hashlib.sha256(content).hexdigest()
        if stored.get(path) == digest:
            continue
        values = {"path": path, "content": content, "sha256": digest, "version": version}
        if path in stored:
            conn.execute(ca_files.update().where(ca_files.c.path == path).values(**values))
        else:
            conn.execute(ca_files.insert().values(**values))


def _write(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600 if private else 0o644)
    os.replace(tmp, path)


@contextlib.contextmanager
def changing(directory: Path) -> Iterator[Connection]:
    """One CA change, cluster-wide: lock, pull, (the change), push, commit, unlock."""
    with writer(get_engine()).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        # SQLite: the writer's BEGIN IMMEDIATE already excludes every other writer.
        pull(conn, directory)
        yield conn
        push(conn, directory)


class _ChangingHere(threading.local):
    active = False


_changing_here = _ChangingHere()
_LOCAL_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class SharedCertificateAuthority(CertificateAuthority):
    """The CA with its directory mirrored from the database before reads and after changes."""

    _seen_version = -1

    @property
    def _local_lock(self) -> threading.RLock:
        """One per directory in this process: a pull never overwrites a change in progress
        (re-entrant: under the lock the local copy is the newest state, nothing to pull)."""
        with _LOCKS_GUARD:
            return _LOCAL_LOCKS.setdefault(str(self.directory), threading.RLock())

    def _refresh(self) -> None:
        with self._local_lock:
            if _changing_here.active:
                return
            with get_engine().connect() as conn:
                version = _version(conn)
                if version != self._seen_version:
                    self._seen_version = pull(conn, self.directory)
                    self._crl_cache = None

    def list(self) -> Any:
        self._refresh()
        return super().list()

    def get(self, serial: int | str) -> Any:
        self._refresh()
        return super().get(serial)

    def private_key(self, serial: int | str) -> Any:
        self._refresh()
        return super().private_key(serial)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        with self._local_lock, changing(self.directory):
            _changing_here.active = True
            try:
                yield
            finally:
                _changing_here.active = False
        # Our own change is not news: keep the caches (the CRL's above all) it left valid.
        with get_engine().connect() as conn:
            self._seen_version = _version(conn)

    def issue(self, *args: Any, **kwargs: Any) -> Any:
        with self._changing():
            return super().issue(*args, **kwargs)

    def renew(self, *args: Any, **kwargs: Any) -> Any:
        with self._changing():
            return super().renew(*args, **kwargs)

    def revoke(self, *args: Any, **kwargs: Any) -> Any:
        with self._changing():
            return super().revoke(*args, **kwargs)

    def crl_der(self, *, fresh: bool = False) -> bytes:
        """The cached CRL while no host revoked anything and it is fresh; else a new one."""
        self._refresh()
        if self._crl_cache is not None and not fresh:
            count, made_at, der = self._crl_cache
            fresh = dt.datetime.now(dt.UTC) - made_at < dt.timedelta(minutes=55)
            if fresh and count == len(self._read_json("revoked.json")):
                return der
        with self._changing():
            return super().crl_der(fresh=True)

    def rotate_kek(self, old_kek: bytes, new_kek: bytes) -> int:
        with self._changing():
            return super().rotate_kek(old_kek, new_kek)


def init_shared(directory: Path, **init_args: Any) -> None:
    """`jingpin init` on any host: the first creates the CA, the others get a copy of it."""
    with changing(directory):
        CertificateAuthority.init(directory, **init_args)


def open_shared(directory: Path, kek: bytes) -> SharedCertificateAuthority:
    with get_engine().connect() as conn:
        version = pull(conn, directory)
    ca = SharedCertificateAuthority(directory, kek)
    ca._seen_version = version
    return ca
