"""Issued documents (文档): one row per stored file, pointing at its bytes by sha256.

The row records what the file is for (kind, subject), how it was made (template and its sha256,
the digest of the rendering context, the DOCX a PDF came from) and its hashes, so the registry
can tell a document this system issued from one it did not.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.base import timestamp_field


class DocumentKind(StrEnum):
    application = "application"  # 扶持项目申请书 (附件1)
    copyright_pledge = "copyright_pledge"  # 版权承诺书 (附件2)
    agreement = "agreement"  # 三方协议
    progress_table = "progress_table"  # 重点项目推进表 (附件3)
    verification_report = "verification_report"  # 验证报告
    upload = "upload"  # a file someone uploaded (e.g. for verification)


class DocumentFormat(StrEnum):
    docx = "docx"
    pdf = "pdf"
    xlsx = "xlsx"


class SubjectType(StrEnum):
    """What a document is about; `subject_id` is that thing's key as a string."""

    work = "work"  # subject_id = works.id
    agreement = "agreement"  # subject_id = agreements.id
    unit_period = "unit_period"  # subject_id = "<unit code>/<YYYY-MM-H1|H2>"
    none = "none"  # uploads and reports about no record; subject_id = ""


MEDIA_TYPES = {
    DocumentFormat.docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentFormat.pdf: "application/pdf",
    DocumentFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Document(SQLModel, table=True):
    """A stored document version. Kinds and formats are strings with CHECK constraints rather
    than native enums, so adding a kind is a one-line migration on PostgreSQL too."""

    __tablename__ = "documents"
    __table_args__ = (
        # Idempotency: the same bytes for the same purpose and subject are one row.
        UniqueConstraint("format", "sha256", "kind", "subject_type", "subject_id"),
        Index("ix_documents_subject", "subject_type", "subject_id", "kind"),
        CheckConstraint(_one_of("kind", DocumentKind), name="kind_known"),
        CheckConstraint(_one_of("format", DocumentFormat), name="format_known"),
        CheckConstraint(_one_of("subject_type", SubjectType), name="subject_type_known"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: DocumentKind = Field(sa_type=String(30))
    subject_type: SubjectType = Field(sa_type=String(20))
    subject_id: str = Field(default="", max_length=64)
    template_name: str | None = Field(default=None, max_length=100)
    template_sha256: str | None = Field(default=None, max_length=64)
    # sha256 of the canonical JSON of the rendering context (backend.core.canonical.digest).
    context_digest: str | None = Field(default=None, max_length=64)
    format: DocumentFormat = Field(sa_type=String(8))
    # PDF/A-2b rather than plain PDF (only for format pdf); part of the PDF cache key.
    pdfa: bool = Field(default=False)
    sha256: str = Field(max_length=64, index=True)
    sm3: str | None = Field(default=None, max_length=64)
    size: int = Field(ge=0)
    # For a PDF: the sha256 of the DOCX/XLSX it was converted from (the conversion cache key).
    source_sha256: str | None = Field(default=None, max_length=64, index=True)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field(index=True)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[DocumentFormat(self.format)]
