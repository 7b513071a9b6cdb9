"""推进表报送 (progress-table filings): a recommending unit files its 重点项目推进表 (附件3) for a
half-month. One filing per unit and period (unique); a correction (更正) is a separate
append-only row with its reason and the new document, so the first filing's time — the one
that decides on-time or late — never changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import timestamp_field


class ProgressFiling(SQLModel, table=True):
    __tablename__ = "progress_filings"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="recommending_units.id", index=True)
    period: str = Field(max_length=10, index=True)  # YYYY-MM-H1 | YYYY-MM-H2
    document_id: int = Field(foreign_key="documents.id")
    sha256: str = Field(max_length=64)
    filed_by: int = Field(foreign_key="users.id")
    filed_at: datetime = timestamp_field()


class ProgressFilingCorrection(SQLModel, table=True):
    """更正: a later version of a filed table, with the reason. Never updated."""

    __tablename__ = "progress_filing_corrections"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="progress_filings.id", index=True)
    document_id: int = Field(foreign_key="documents.id")
    sha256: str = Field(max_length=64)
    reason: str = Field(sa_type=Text)
    filed_by: int = Field(foreign_key="users.id")
    filed_at: datetime = timestamp_field()
