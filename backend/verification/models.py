"""Verification results (验证结果) kept in the database, so that any app host serves a result
another host (or a `verify` worker) made: nothing is read from one host's local disk.

One row per (uploader, file): verifying the same bytes again replaces only one's own result.
The uploaded file and the sealed report are blobs in the object store (content-addressed), the
row points at them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import datetime_field, timestamp_field


class ResultState(StrEnum):
    pending = "pending"  # queued for a `verify` worker
    done = "done"
    failed = "failed"  # the verifier gave up on the file (time or memory limit)


class VerificationResultRow(SQLModel, table=True):
    __tablename__ = "verification_results"
    __table_args__ = (
        UniqueConstraint("user_id", "file_sha256"),
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    file_sha256: str = Field(max_length=64, index=True)
    state: str = Field(default=ResultState.done.value, max_length=10)
    file_name: str | None = Field(default=None, max_length=255)
    # The validation time asked for (None: the time of verification).
    verify_at: datetime | None = datetime_field(default=None)
    # VerificationResult as JSON once done; the failure message when failed.
    result_json: str | None = Field(default=None, sa_type=Text)
    error: str = Field(default="", sa_type=Text)
    # The uploaded file in the object store: while queued (the worker reads it), and kept for a
    # TOTAL_FAILED result (the sealed report's visual diff).
    source_sha256: str | None = Field(default=None, max_length=64)
    # The sealed PDF report in the object store, rendered on the first download.
    report_sha256: str | None = Field(default=None, max_length=64)
    job_id: int | None = Field(default=None)
    updated_at: datetime = timestamp_field()
