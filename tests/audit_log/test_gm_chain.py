"""国密 profile (issue 16.4): with JINGPIN_CRYPTO_PROFILE=gm new audit events chain with SM3
and record it, checkpoints name the head's algorithm, and one chain holding SHA-256 and SM3
events verifies — and still breaks where it is edited."""

from __future__ import annotations

import json

from pysmx.SM3 import hexdigest as pysmx_sm3
from sqlmodel import col, select
from typer.testing import CliRunner

from backend.cli import app as cli
from tests.audit_log.tamper import tamper


def _gm_events(monkeypatch, n: int) -> list:
    from backend.audit_log.models import AuditEvent
    from backend.audit_log.service import record
    from backend.core.config import get_settings
    from backend.core.db import session_scope

    monkeypatch.setenv("JINGPIN_CRYPTO_PROFILE", "gm")
    get_settings.cache_clear()
    with session_scope() as s:
        seqs = [
            record(s, actor="cli", action="test.gm", object_type="test", object_id=i).seq
            for i in range(n)
        ]
    with session_scope() as s:
        return list(s.exec(select(AuditEvent).where(col(AuditEvent.seq).in_(seqs))).all())


def test_gm_profile_chains_new_events_with_sm3_checked_by_an_independent_sm3(
    env, session, monkeypatch
):
    from backend.audit_log.models import AuditEvent
    from backend.core.canonical import canonical_json

    before = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
    assert {e.hash_algorithm for e in before} == {"sha256"}
    events = _gm_events(monkeypatch, 3)
    assert [e.hash_algorithm for e in events] == ["sm3"] * 3
    for e in events:
        body = {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "actor_id": e.actor_id,
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "payload_sha256": e.payload_sha256,
            "hash_algorithm": "sm3",
        }
        assert e.hash == pysmx_sm3((e.prev_hash + canonical_json(body)).encode())
    assert events[0].prev_hash == before[-1].hash  # one chain across the change of profile

    ok = CliRunner().invoke(cli, ["audit", "checkpoint"])
    assert ok.exit_code == 0 and "sm3" in ok.output, ok.output
    line = json.loads(
        (env["data_dir"] / "audit" / "checkpoints.jsonl").read_text().splitlines()[-1]
    )
    assert json.loads(line["statement"])["hash_algorithm"] == "sm3"
    assert line["seq"] == events[-1].seq
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_an_edited_sm3_event_breaks_the_chain_there(env, session, monkeypatch):
    events = _gm_events(monkeypatch, 2)
    tamper(session, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=events[0].seq)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and f"第 {events[0].seq} 号事件" in result.output, result.output
