"""The one function every state change goes through, and the chain check.

Each event stores sha256(prev_hash ‖ canonical event). Writers are serialised so the chain never
forks: on PostgreSQL with a transaction-scoped advisory lock, on SQLite by the write transaction
(BEGIN IMMEDIATE, see backend.core.db)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from backend.audit_log.models import AuditEvent
from backend.core.canonical import canonical_json
from backend.core.db import utcnow

GENESIS = "0" * 64
_LOCK_KEY = 0x6A696E67  # "jing": the advisory lock that serialises audit writers


def _event_digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload_sha256": event.payload_sha256,
    }
    return hashlib.sha256((event.prev_hash + canonical_json(body)).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: Any | None,
    action: str,
    object_type: str,
    object_id: object,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    body = canonical_json(payload or {})
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or (actor if isinstance(actor, str) else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=body,
        payload_sha256=hashlib.sha256(body.encode()).hexdigest(),
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = _event_digest(event)
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainStatus:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return f"审计日志链完整，共 {self.events} 条事件"
        return f"审计日志链在第 {self.first_bad_seq} 号事件处断裂：{self.reason}"


def verify_events(events: Iterable[AuditEvent]) -> ChainStatus:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for ev in events:
        count += 1
        if ev.seq != expected_seq:
            return ChainStatus(False, count, ev.seq, f"序号不连续（应为 {expected_seq}）")
        if hashlib.sha256(ev.payload.encode()).hexdigest() != ev.payload_sha256:
            return ChainStatus(False, count, ev.seq, "事件内容摘要不符")
        if ev.prev_hash != prev:
            return ChainStatus(False, count, ev.seq, "前序哈希不符")
        if _event_digest(ev) != ev.hash:
            return ChainStatus(False, count, ev.seq, "事件哈希不符")
        prev = ev.hash
        expected_seq += 1
    return ChainStatus(True, count)


def verify_chain(session: Session) -> ChainStatus:
    return verify_events(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def count_events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


def trail(session: Session, object_type: str, object_id: str) -> list[AuditEvent]:
    """Every event about one object, oldest first."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(col(AuditEvent.seq))
        ).all()
    )


def event_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor_id": e.actor_id,
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "payload": json.loads(e.payload),
        "payload_sha256": e.payload_sha256,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
