"""The audit log is a hash chain; `jingpin audit verify` finds the first broken event."""

from __future__ import annotations

from sqlmodel import select
from typer.testing import CliRunner

from backend.audit_log.models import AuditEvent
from backend.cli import app as cli
from tests.audit_log.tamper import tamper


def test_audit_chain_of_the_demo_data_verifies(env):
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "完整" in result.output


def test_editing_one_event_row_breaks_the_chain_at_that_event(env, session):
    target = session.exec(select(AuditEvent).order_by(AuditEvent.seq).offset(7)).first()
    tamper(session, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=target.seq)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {target.seq} 号事件" in result.output


def test_editing_a_payload_is_detected_even_with_its_digest_unchanged(env, session):
    target = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    tamper(session, "UPDATE audit_events SET payload = '{}' WHERE seq = :s", s=target.seq)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and f"第 {target.seq} 号事件" in result.output


def test_deleting_an_event_is_detected(env, session):
    tamper(session, "DELETE FROM audit_events WHERE seq = 3")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "第 4 号事件" in result.output


def test_every_api_change_appends_an_event(client, session, token_for):
    before = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first().seq
    work = client.get("/api/v1/works", headers=token_for("prod-hz")).json()[0]
    client.patch(
        f"/api/v1/works/{work['id']}", json={"genre": "都市生活"}, headers=token_for("prod-hz")
    )
    session.rollback()  # end the read snapshot (SQLite WAL) before looking again
    events = session.exec(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [e.action for e in events if e.action == "work.update"] == ["work.update"]
    assert events[-1].object_id == str(work["id"]) and events[-1].actor == "prod-hz"
