"""审计日志: append-only, hash-chained events, anchored by signed checkpoints (审计检查点)."""

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
    # The chain's hash function for this event: sha256, or sm3 in the 国密 (gm) profile.
    hash_algorithm: str = Field(
        default="sha256", max_length=10, sa_column_kwargs={"server_default": "sha256"}
    )


class AuditCheckpoint(SQLModel, table=True):
    """审计检查点: the system seal's signature over the chain head (seq, hash) at a time. A copy
    of each also goes to an append-only file in the data dir and into exports, so cutting or
    recomputing the chain in the database no longer goes unnoticed."""

    __tablename__ = "audit_checkpoints"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)  # the head event covered
    head_hash: str = Field(max_length=64)
    hash_algorithm: str = Field(max_length=10)
    at: datetime = timestamp_field()
    reason: str = Field(max_length=20)  # events / interval / export / manual / first
    statement: str  # the canonical JSON that was signed (seq, head_hash, algorithm, at)
    signature_algorithm: str = Field(max_length=40)
    signature: str  # base64 DER
    certificate_pem: str  # the system seal certificate that signed
