"""Backup and restore across databases: SQLite → PostgreSQL and PostgreSQL → SQLite. After a
restore the audit chain holds and every fully signed agreement verifies."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.conftest import BACKENDS, PG_ADMIN, _pg_exec, _pg_url, configure

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="needs PostgreSQL")


@pytest.fixture
def target(env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty installation on the other database kind (same secrets, as an operator keeps
    them apart from the backup)."""
    data_dir = tmp_path / "restored"
    secrets = env["data_dir"] / "secrets"
    for name in ("kek", "ca_root_passphrase", "secret_key"):
        monkeypatch.setenv(f"JINGPIN_{name.upper()}", (secrets / name).read_text().strip())
    dbname = None
    if env["backend"] == "sqlite":
        assert PG_ADMIN
        dbname = f"jingpin_restore_{uuid.uuid4().hex[:8]}"
        _pg_exec(f'CREATE DATABASE "{dbname}"')
        url = _pg_url(dbname)
    else:
        url = f"sqlite:///{data_dir / 'jingpin.sqlite3'}"
    data_dir.mkdir()

    def switch() -> None:
        configure(monkeypatch, data_dir, url)

    yield {"switch": switch, "data_dir": data_dir, "url": url}
    if dbname:
        from backend.core.db import get_engine

        get_engine().dispose()
        _pg_exec(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def snapshot() -> dict[str, Any]:
    from backend.agreements.models import Agreement
    from backend.audit_log.service import verify_chain
    from backend.core.db import get_engine
    from backend.documents.store import get_store
    from backend.pki.service import verify_bytes

    with Session(get_engine()) as s:
        chain = verify_chain(s)
        signed = s.exec(select(Agreement).where(Agreement.status == "fully_signed")).all()
        verdicts = {
            a.number: verify_bytes(get_store().get(a.current_pdf_sha256)).indication for a in signed
        }
    return {"chain_ok": chain.ok, "events": chain.events, "verdicts": verdicts}


def test_backup_restores_onto_the_other_database_and_everything_still_verifies(
    env, target, tmp_path
):
    from backend.ops.backup import backup, restore

    before = snapshot()
    assert before["chain_ok"] and before["verdicts"]
    out = tmp_path / "jingpin-backup.tar"
    made = backup(out)
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "manifest.sig.json" in names
    assert not any(n.startswith("secrets") or n.endswith("/kek") for n in names)

    target["switch"]()
    restored = restore(out)
    assert (restored.rows, restored.blobs) == (made.rows, made.blobs)
    after = snapshot()
    assert after == before
    assert set(after["verdicts"].values()) == {"TOTAL_PASSED"}


def test_the_restored_installation_keeps_working_new_ids_follow_the_old(env, target, tmp_path):
    from backend.audit_log.service import record, verify_chain
    from backend.core.db import get_engine, session_scope
    from backend.ops.backup import backup, restore

    out = tmp_path / "b.tar"
    backup(out)
    target["switch"]()
    restore(out)
    with session_scope() as s:
        record(s, actor="cli", action="test.after_restore", object_type="test", object_id=1)
    with Session(get_engine()) as s:
        assert verify_chain(s).ok


def test_a_changed_byte_in_the_backup_is_refused_before_anything_is_written(env, target, tmp_path):
    from sqlalchemy import inspect

    from backend.core.db import get_engine
    from backend.ops.backup import BackupError, backup, restore

    out = tmp_path / "b.tar"
    backup(out)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(out) as src, tarfile.open(tampered, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name.startswith("db/audit_events"):
                data = data.replace(b"agreement", b"agreemenT", 1)
            m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    target["switch"]()
    with pytest.raises(BackupError, match="已被改动"):
        restore(tampered)
    assert "audit_events" not in inspect(get_engine()).get_table_names()
    assert not (target["data_dir"] / "ca").exists()


def test_restore_refuses_a_database_that_is_not_empty(env, tmp_path):
    from backend.ops.backup import BackupError, backup, restore

    out = tmp_path / "b.tar"
    backup(out)
    import shutil

    shutil.rmtree(env["data_dir"] / "ca")
    with pytest.raises(BackupError, match="不是空的"):
        restore(out)
