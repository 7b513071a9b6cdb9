"""审计日志: append-only, hash-chained events."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.core.base import timestamp_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    seq: int = Field(primary_key=True)  # assigned by the writer, 1, 2, 3 … without gaps
    at: datetime = timestamp_field(index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=50)  # username, or "system"/"cli"
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40, index=True)
    object_id: str = Field(max_length=64, index=True)
    payload: str  # canonical JSON
    payload_sha256: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
