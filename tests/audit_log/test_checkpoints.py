"""Signed checkpoints anchor the audit chain (issue 14.14): `jingpin audit verify` sees a cut
end and a recomputed chain, which the hash chain alone cannot; the database refuses UPDATE and
DELETE on the audit tables; a checkpoint or export signed by another seal of the same CA is
refused."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from backend.cli import app as cli
from tests.audit_log.tamper import recompute_chain_from, tamper
from tests.verification.conftest import signed_agreement


def _verify() -> Any:
    return CliRunner().invoke(cli, ["audit", "verify"])


def _head(session: Session) -> int:
    from backend.audit_log.models import AuditEvent

    return session.exec(select(func.max(AuditEvent.seq))).one() or 0


def _file(env: dict[str, Any]) -> Path:
    return env["data_dir"] / "audit" / "checkpoints.jsonl"


def _checkpoint_now(session: Session) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    session.rollback()
    return json.loads(_file_lines_last(session))


def _file_lines_last(session: Session) -> str:
    from backend.audit_log.checkpoints import checkpoint_file

    return checkpoint_file().read_text().splitlines()[-1]


def test_demo_data_is_anchored_by_a_signed_checkpoint_in_db_and_file(env, session):
    from backend.audit_log.models import AuditCheckpoint

    assert session.exec(select(func.count()).select_from(AuditCheckpoint)).one() >= 1
    assert _file(env).stat().st_mode & 0o777 == 0o600
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "签名检查点" in result.output and "完整" in result.output


def test_cutting_the_end_of_the_log_and_its_db_checkpoints_is_reported_as_truncation(env, session):
    head = _head(session)
    _checkpoint_now(session)
    # The insider deletes the last three events and every checkpoint in the database: the
    # remaining chain is intact, only the file (outside the database) still knows the head.
    tamper(session, "DELETE FROM audit_events WHERE seq > :s", s=head - 3)
    tamper(session, "DELETE FROM audit_checkpoints")
    result = _verify()
    assert result.exit_code == 1, result.output
    assert f"审计日志在第 {head - 3} 条之后被截断" in result.output
    assert f"记录了 {head} 条事件" in result.output


def test_a_recomputed_chain_verifies_as_a_chain_but_not_against_the_checkpoint(env, session):
    from backend.audit_log.service import verify_chain

    head = _head(session)
    _checkpoint_now(session)
    recompute_chain_from(session, 5, actor="mallory")
    assert verify_chain(session).ok  # what `audit verify` said before checkpoints
    result = _verify()
    assert result.exit_code == 1, result.output
    found = re.search(r"审计日志已被改写：.*改动在第 (\d+) 至 (\d+) 号事件之间", result.output)
    assert found, result.output
    assert int(found.group(1)) <= 5 <= int(found.group(2)) <= head


def test_a_checkpoint_signed_by_an_organisation_seal_of_the_same_ca_is_refused(env, session):
    from backend.audit_log.checkpoints import checkpoint_file
    from backend.pki.service import get_ca

    cp = _checkpoint_now(session)
    issued = _org_seal(session)
    key = get_ca().private_key(issued.serial)
    statement = cp["statement"].replace(f'"seq":{cp["seq"]}', f'"seq":{cp["seq"] + 50}')
    forged = {
        **cp,
        "statement": statement,
        "signature": base64.b64encode(
            key.sign(statement.encode(), ec.ECDSA(hashes.SHA256()))
        ).decode(),
        "certificate_pem": issued.certificate_pem.decode(),
    }
    with checkpoint_file().open("a") as fh:
        fh.write(json.dumps(forged) + "\n")
    result = _verify()
    assert result.exit_code == 1, result.output
    assert "检查点签名无效" in result.output and "不是本系统的系统印章证书" in result.output


def test_a_checkpoint_is_written_every_n_events(env, session, monkeypatch):
    from backend.audit_log.checkpoints import checkpoint_file
    from backend.audit_log.models import AuditCheckpoint
    from backend.audit_log.service import record
    from backend.core.config import get_settings
    from backend.core.db import session_scope

    monkeypatch.setenv("JINGPIN_AUDIT_CHECKPOINT_EVENTS", "3")
    get_settings.cache_clear()
    _checkpoint_now(session)
    before = session.exec(select(func.count()).select_from(AuditCheckpoint)).one()
    lines = len(checkpoint_file().read_text().splitlines())
    for i in range(7):  # one event per transaction: checkpoints after the 3rd and the 6th
        with session_scope() as s:
            record(s, actor="cli", action="test.event", object_type="test", object_id=i)
    session.rollback()
    cps = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).all()
    assert len(cps) == before + 2
    assert [c.seq for c in cps[-2:]] == [_head(session) - 4, _head(session) - 1]
    assert len(checkpoint_file().read_text().splitlines()) == lines + 2


def test_a_rolled_back_transaction_leaves_no_checkpoint_in_the_file(env, session):
    from backend.audit_log.checkpoints import checkpoint_file, write
    from backend.core.db import session_scope

    lines = checkpoint_file().read_text()
    with pytest.raises(RuntimeError), session_scope() as s:
        from backend.audit_log.service import record

        record(s, actor="cli", action="test.event", object_type="test", object_id="x")
        write(s, reason="manual")
        raise RuntimeError("the caller fails after the checkpoint")
    assert checkpoint_file().read_text() == lines
    assert _verify().exit_code == 0


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)",
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(env, session, sql):
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))
    session.rollback()
    assert _verify().exit_code == 0


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_the_audit_log(env, session):
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("TRUNCATE audit_events CASCADE"))
    session.rollback()


def _org_seal(session: Session) -> Any:
    from backend.orgs.models import Organisation
    from backend.pki.service import get_ca

    org = session.exec(
        select(Organisation).where(col(Organisation.seal_cert_serial).is_not(None))
    ).first()
    assert org is not None
    return get_ca().get(org.seal_cert_serial)


def test_an_export_carries_a_checkpoint_and_one_resigned_by_an_org_seal_is_refused(
    client, token_for, session, tmp_path
):
    from backend.pki.service import get_ca

    ag = signed_agreement(session)
    r = client.get(
        "/api/v1/audit/export",
        params={"object_type": "agreement", "object_id": str(ag.id)},
        headers=token_for("auditor"),
    )
    assert r.status_code == 200, r.text
    data = r.content
    session.rollback()
    checkpoint = json.loads(data.splitlines()[-2])["jingpin_audit_checkpoint"]
    assert checkpoint["seq"] == _head(session)
    good = tmp_path / "good.jsonl"
    good.write_bytes(data)
    ok = CliRunner().invoke(cli, ["audit", "verify-export", str(good)])
    assert ok.exit_code == 0 and "签名检查点" in ok.output, ok.output
    # Same bytes, re-signed by an organisation's seal issued by the same issuing CA: the chain
    # to our root holds, the pin to the system seal does not.
    issued = _org_seal(session)
    key = get_ca().private_key(issued.serial)
    body = data[: data.rstrip(b"\n").rfind(b"\n") + 1]
    trailer = json.loads(data.splitlines()[-1])
    trailer["jingpin_signature"].update(
        signature=base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode(),
        certificate=issued.certificate_pem.decode(),
    )
    bad = tmp_path / "resigned.jsonl"
    bad.write_bytes(body + json.dumps(trailer, sort_keys=True).encode() + b"\n")
    result = CliRunner().invoke(cli, ["audit", "verify-export", str(bad)])
    assert result.exit_code == 1, result.output
    assert "不是本系统的系统印章证书" in result.output


def test_the_evidence_package_carries_a_checkpoint_of_the_chain(client, token_for, session):
    from backend.audit_log.checkpoints import verify_anchored
    from backend.pki.service import system_signature_checker

    ag = signed_agreement(session)
    r = client.get(f"/api/v1/agreements/{ag.id}/evidence.zip", headers=token_for("auditor"))
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    cp = json.loads(zf.read("audit-checkpoint.json"))
    assert "audit-checkpoint.json" in json.loads(zf.read("manifest.json"))["files"]
    session.rollback()
    assert cp["seq"] == _head(session)
    # The package's copy alone still shows a cut made after it, with the file and DB rows gone.
    tamper(session, "DELETE FROM audit_events WHERE seq > :s", s=cp["seq"] - 2)
    tamper(session, "DELETE FROM audit_checkpoints")
    status = verify_anchored(
        session, check=system_signature_checker(), path=Path("/nonexistent"), extra=[cp]
    )
    assert status.code == 1 and f"审计日志在第 {cp['seq'] - 2} 条之后被截断" in status.message


def test_the_clock_anchors_events_left_uncovered_and_writes_nothing_when_all_are(env, session):
    from backend.audit_log.checkpoints import checkpoint_file, tick
    from backend.audit_log.models import AuditCheckpoint
    from backend.audit_log.service import record
    from backend.core.db import session_scope

    _checkpoint_now(session)
    with session_scope() as s:  # one event: far below the N-events threshold
        record(s, actor="cli", action="test.event", object_type="test", object_id="quiet")
    session.rollback()
    assert session.exec(select(func.max(AuditCheckpoint.seq))).one() == _head(session) - 1
    lines = len(checkpoint_file().read_text().splitlines())
    cp = tick()
    assert cp is not None and cp["seq"] == _head(session) and cp["reason"] == "interval"
    assert len(checkpoint_file().read_text().splitlines()) == lines + 1
    tick()  # nothing new: the same checkpoint, no new line
    assert len(checkpoint_file().read_text().splitlines()) == lines + 1
