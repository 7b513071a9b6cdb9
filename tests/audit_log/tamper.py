"""What an attacker with the database owner's rights does to the audit log: drop the
append-only triggers, then edit, delete or recompute rows (the signed checkpoints must show it)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS {t}_append_only ON {t}",
        "DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS {t}_no_update", "DROP TRIGGER IF EXISTS {t}_no_delete"],
}


def drop_append_only(session: Session) -> None:
    for table in ("audit_events", "audit_checkpoints"):
        for sql in TRIGGERS[session.get_bind().dialect.name]:
            session.execute(text(sql.format(t=table)))
    session.commit()


def tamper(session: Session, sql: str, **params: object) -> None:
    drop_append_only(session)
    session.execute(text(sql), params)
    session.commit()


def recompute_chain_from(session: Session, seq: int, **changes: object) -> None:
    """Edit event ``seq`` and recompute every hash after it, as an insider would."""
    from backend.audit_log.models import AuditEvent
    from backend.audit_log.service import GENESIS, digest_of

    drop_append_only(session)
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
    prev = GENESIS
    for ev in events:
        if ev.seq == seq:
            for k, v in changes.items():
                setattr(ev, k, v)
        if ev.seq >= seq:
            ev.prev_hash = prev
            ev.hash = digest_of(ev)
            session.add(ev)
        prev = ev.hash
    session.commit()
