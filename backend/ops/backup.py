"""`jingpin backup OUT` / `jingpin restore IN`: a portable, signed copy of an installation.

One tar file: every table as JSON Lines (a SQLAlchemy-level copy, so a SQLite backup restores
onto PostgreSQL and the reverse), every blob of the store, the CA directory (certificates, CRL
state, private keys still wrapped under the KEK or the root passphrase — never the KEK, never
the secrets), and `manifest.json` listing each part's size, SHA-256 and SM3, signed by the
system seal (ECDSA P-256, `manifest.sig.json`, with the certificate chain).

Restore checks the signature and every digest before it writes anything, refuses a database or
data dir that is not empty, and writes the rows in one transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, Table, func, insert, select, text
from sqlmodel import SQLModel

from backend import models  # noqa: F401 - every table on SQLModel.metadata
from backend.core.config import get_settings
from backend.core.db import get_engine, writer
from backend.core.errors import JingpinError
from backend.documents.store import get_store
from backend.migrate import upgrade
from backend.pki.service import ca_dir, get_ca, system_seal
from signing.hashes import sm3_hex

FORMAT = 1
ALGORITHM = "ecdsa-p256-sha256"
# Transient or tool-owned tables: the job queue's, Alembic's own marker.
SKIPPED = {"alembic_version"}


class BackupError(JingpinError):
    code = "backup_invalid"
    message = "备份文件无效"


@dataclass(frozen=True)
class BackupSummary:
    tables: int
    rows: int
    blobs: int
    ca_files: int
    revision: str


def _tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED]


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "$dt":
            return dt.datetime.fromisoformat(inner)
        if key == "$date":
            return dt.date.fromisoformat(inner)
        if key == "$b64":
            return base64.b64decode(inner)
    return value


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _table_lines(engine: Engine, table: Table) -> tuple[bytes, int]:
    order = list(table.primary_key.columns) or list(table.columns)
    out = io.BytesIO()
    n = 0
    with engine.connect() as conn:
        for row in conn.execute(select(table).order_by(*order)):
            record = {k: _encode(v) for k, v in row._mapping.items()}
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n")
            n += 1
    return out.getvalue(), n


def _digests(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "sm3": sm3_hex(data)}


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _blob_shas(engine: Engine) -> set[str]:
    """Every blob a row points at (documents, uploads, filings …): columns named *sha256."""
    shas: set[str] = set()
    with engine.connect() as conn:
        for table in _tables():
            for column in table.columns:
                if column.name == "sha256" or column.name.endswith("_sha256"):
                    for (value,) in conn.execute(select(column).where(column.is_not(None))):
                        if isinstance(value, str) and len(value) == 64:
                            shas.add(value)
    return shas


def backup(out: Path) -> BackupSummary:
    engine = get_engine()
    store = get_store()
    parts: dict[str, bytes] = {}
    rows = 0
    for table in _tables():
        data, n = _table_lines(engine, table)
        parts[f"db/{table.name}.jsonl"] = data
        rows += n
    blobs = 0
    for sha in sorted(_blob_shas(engine)):
        if store.exists(sha):  # template hashes and the like name no stored blob
            parts[f"blobs/{sha}"] = store.get(sha)
            blobs += 1
    ca_root = ca_dir()
    ca_count = 0
    for path in sorted(ca_root.rglob("*")):
        if path.is_file() and path.name != ".lock" and not path.name.startswith(".tmp"):
            parts[f"ca/{path.relative_to(ca_root).as_posix()}"] = path.read_bytes()
            ca_count += 1
    revision = _revision(engine)
    manifest = {
        "jingpin_backup": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "alembic_revision": revision,
        "source_database": engine.dialect.name,
        "parts": {name: _digests(data) for name, data in parts.items()},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w") as tar:
        _add(tar, "manifest.json", manifest_bytes)
        _add(tar, "manifest.sig.json", _sign(manifest_bytes))
        for name, data in parts.items():
            _add(tar, name, data)
    tmp.replace(out)
    return BackupSummary(len(_tables()), rows, blobs, ca_count, revision)


def _sign(body: bytes) -> bytes:
    ca = get_ca()
    seal = system_seal()
    key = ca.private_key(seal.serial)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(body, ec.ECDSA(hashes.SHA256()))
    issuing = ca.issuing_certificate.public_bytes(serialization.Encoding.PEM).decode()
    return json.dumps(
        {
            "algorithm": ALGORITHM,
            "signature": base64.b64encode(signature).decode(),
            "certificate": seal.certificate_pem.decode(),
            "issuer_certificate": issuing,
        },
        sort_keys=True,
    ).encode()


# --------------------------------------------------------------------------- restore


def read_checked(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every part, after the signature and each part's SHA-256 and SM3 match."""
    try:
        with tarfile.open(path, "r") as tar:
            members: dict[str, bytes] = {}
            for member in tar.getmembers():
                if not member.isfile():
                    raise BackupError(f"备份中有非文件条目：{member.name}")
                fh = tar.extractfile(member)
                assert fh is not None
                members[member.name] = fh.read()
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"无法读取备份文件：{exc}") from exc
    try:
        manifest_bytes = members.pop("manifest.json")
        sig = json.loads(members.pop("manifest.sig.json"))
        manifest = json.loads(manifest_bytes)
    except (KeyError, ValueError) as exc:
        raise BackupError("备份缺少清单或清单签名") from exc
    if manifest.get("jingpin_backup") != FORMAT:
        raise BackupError("不支持的备份格式")
    root_pem = members.get("ca/root.pem")
    issuing_pem = members.get("ca/issuing.pem")
    if root_pem is None or issuing_pem is None:
        raise BackupError("备份缺少证书机构的根证书")
    _verify_signature(manifest_bytes, sig, root_pem, issuing_pem)
    listed: dict[str, Any] = manifest["parts"]
    if set(listed) != set(members):
        extra = sorted(set(members) ^ set(listed))[:3]
        raise BackupError(f"备份内容与清单不符：{', '.join(extra)}")
    for name, data in members.items():
        if _digests(data) != listed[name]:
            raise BackupError(f"备份中的 {name} 已被改动（SHA-256/SM3 与清单不符）")
    return manifest, members


def _verify_signature(
    body: bytes, sig: dict[str, Any], root_pem: bytes, issuing_pem: bytes
) -> None:
    try:
        if sig["algorithm"] != ALGORITHM:
            raise BackupError("不支持的清单签名算法")
        cert = x509.load_pem_x509_certificate(sig["certificate"].encode())
        issuing = x509.load_pem_x509_certificate(issuing_pem)
        root = x509.load_pem_x509_certificate(root_pem)
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(base64.b64decode(sig["signature"]), body, ec.ECDSA(hashes.SHA256()))
        cert.verify_directly_issued_by(issuing)
        issuing.verify_directly_issued_by(root)
    except (KeyError, ValueError, TypeError, AssertionError, InvalidSignature) as exc:
        raise BackupError("备份清单的系统签名无效：备份已被改动或不是本系统所做") from exc


def _rows(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        yield {k: _decode(v) for k, v in json.loads(line).items()}


def restore(path: Path) -> BackupSummary:
    manifest, parts = read_checked(path)
    settings = get_settings()
    target_ca = ca_dir()
    if target_ca.exists() and any(target_ca.iterdir()):
        raise BackupError(f"数据目录不是空的：{target_ca} 已有证书机构", code="restore_not_empty")
    upgrade(settings.db_url)
    engine = get_engine()
    revision = _revision(engine)
    if revision != manifest["alembic_revision"]:
        raise BackupError(
            f"备份的数据库版本 {manifest['alembic_revision']} 与本程序的 {revision} 不同",
            code="restore_version_mismatch",
        )
    tables = _tables()
    with writer(engine).begin() as conn:
        for table in tables:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise BackupError(
                    f"数据库不是空的：表 {table.name} 已有数据", code="restore_not_empty"
                )
        rows = 0
        for table in tables:
            batch = list(_rows(parts.get(f"db/{table.name}.jsonl", b"")))
            for start in range(0, len(batch), 1000):
                conn.execute(insert(table), batch[start : start + 1000])
            rows += len(batch)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, tables)
    store = get_store()
    blobs = 0
    for name, data in parts.items():
        if name.startswith("blobs/"):
            if store.put(data) != name.removeprefix("blobs/"):
                raise BackupError(f"{name} 的内容与其名称不符")
            blobs += 1
    ca_count = 0
    for name, data in parts.items():
        if name.startswith("ca/"):
            dest = target_ca / name.removeprefix("ca/")
            if ".." in Path(name).parts:
                raise BackupError(f"备份中的路径不安全：{name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            dest.chmod(0o600 if "key" in dest.name else 0o644)
            ca_count += 1
    return BackupSummary(len(tables), rows, blobs, ca_count, revision)


def _reset_sequences(conn: Any, tables: list[Table]) -> None:
    """PostgreSQL: serial ids continue after the restored ones."""
    for table in tables:
        for column in table.primary_key.columns:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if seq:
                conn.execute(
                    text(
                        f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") '
                        f'FROM "{table.name}"), 0) + 1, false)'
                    ),
                    {"s": seq},
                )
