"""The one function every state change goes through, and the chain check.

Each event stores H(prev_hash ‖ canonical event), H being SHA-256, or SM3 in the 国密 profile
(``JINGPIN_CRYPTO_PROFILE=gm``); the event records which (``hash_algorithm``), so one chain may
hold both after a change of profile. Writers are serialised so the chain never forks: on
PostgreSQL with a transaction-scoped advisory lock, on SQLite by the write transaction
(BEGIN IMMEDIATE, see backend.core.db). Signed checkpoints anchor the chain: checkpoints.py."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.audit_log.models import AuditEvent
from backend.core.canonical import canonical_json
from backend.core.config import get_settings
from backend.core.db import utcnow
from signing.hashes import sha256_hex, sm3_hex

GENESIS = "0" * 64
LOCK_KEY = 0x6A696E67  # "jing": the advisory lock that serialises audit writers
HASHES = {"sha256": sha256_hex, "sm3": sm3_hex}
# Set in session.info by record(): the head this transaction wrote (checkpoints.py reads it).
HEAD_KEY = "audit_head_seq"
STREAM_BATCH = 10_000  # rows per fetch when verifying the chain


def chain_algorithm() -> str:
    """The chain's hash for new events: SM3 in the gm profile, SHA-256 otherwise."""
    return "sm3" if get_settings().crypto_profile == "gm" else "sha256"


def lock_writers(session: Session) -> None:
    """Serialise audit writers (PostgreSQL; SQLite's write transaction already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def head(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()


# The columns verify_chain streams (plain rows, no ORM objects: 1M events load ~10x faster).
CHAIN_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "payload",
    "payload_sha256",
    "prev_hash",
    "hash",
    "hash_algorithm",
)


def event_digest(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_sha256: str,
    prev_hash: str,
    hash_algorithm: str,
) -> str:
    """H(prev_hash ‖ canonical event) from the event's fields (an AuditEvent or a plain row)."""
    body = {
        "seq": seq,
        "at": at.isoformat(),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "payload_sha256": payload_sha256,
    }
    if hash_algorithm != "sha256":  # SHA-256 events keep the form they were chained in
        body["hash_algorithm"] = hash_algorithm
    digest = HASHES.get(hash_algorithm)
    if digest is None:
        raise ValueError(f"unknown chain hash {hash_algorithm!r}")
    return digest((prev_hash + canonical_json(body)).encode())


def digest_of(event: Any) -> str:
    """event_digest of anything with the chain's fields as attributes (AuditEvent, Row)."""
    return event_digest(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        payload_sha256=event.payload_sha256,
        prev_hash=event.prev_hash,
        hash_algorithm=event.hash_algorithm,
    )


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
    lock_writers(session)
    last = head(session)
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
        payload_sha256=sha256_hex(body.encode()),
        prev_hash=last.hash if last else GENESIS,
        hash="",
        hash_algorithm=chain_algorithm(),
    )
    event.hash = digest_of(event)
    session.add(event)
    session.flush()
    session.info[HEAD_KEY] = event.seq
    return event


@dataclass
class ChainStatus:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    # hash of each event asked for in verify_events(keep=...), as the chain holds it
    hashes: dict[int, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.ok:
            return f"审计日志链完整，共 {self.events} 条事件"
        return f"审计日志链在第 {self.first_bad_seq} 号事件处断裂：{self.reason}"


def verify_events(events: Iterable[Any], keep: Collection[int] = ()) -> ChainStatus:
    """Check events in seq order: AuditEvent objects or plain rows with CHAIN_FIELDS."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    hashes: dict[int, str] = {}
    for ev in events:
        count += 1
        if ev.seq != expected_seq:
            return ChainStatus(False, count, ev.seq, f"序号不连续（应为 {expected_seq}）")
        if sha256_hex(ev.payload.encode()) != ev.payload_sha256:
            return ChainStatus(False, count, ev.seq, "事件内容摘要不符")
        if ev.prev_hash != prev:
            return ChainStatus(False, count, ev.seq, "前序哈希不符")
        try:
            intact = digest_of(ev) == ev.hash
        except ValueError:
            return ChainStatus(False, count, ev.seq, f"未知的哈希算法 {ev.hash_algorithm}")
        if not intact:
            return ChainStatus(False, count, ev.seq, "事件哈希不符")
        if ev.seq in keep:
            hashes[ev.seq] = ev.hash
        prev = ev.hash
        expected_seq += 1
    return ChainStatus(True, count, head_seq=expected_seq - 1, hashes=hashes)


def verify_chain(session: Session, keep: Collection[int] = ()) -> ChainStatus:
    """Stream the chain as plain rows, a batch at a time (a server-side cursor on PostgreSQL)."""
    columns = [getattr(AuditEvent.__table__.c, f) for f in CHAIN_FIELDS]  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(*columns).order_by(col(AuditEvent.seq)).execution_options(yield_per=STREAM_BATCH)
    )
    return verify_events(rows, keep)


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
        "hash_algorithm": e.hash_algorithm,
    }
