"""Issuing a document for download (文书下载): build the context from the database, render,
record, convert — shared by the API, the pages and `jingpin render`.

Three steps, so that no transaction is open while LibreOffice works:

1. :func:`prepare_work_document` / :func:`prepare_progress_table` (a read session): access and
   completeness checks (``ValidationFailed`` listing every missing field, before anything is
   rendered or stored), then render the DOCX/XLSX in memory and look for a PDF of those bytes
   already issued (the conversion cache, keyed by the source's sha256).
2. The caller converts when it must (``pool.convert_async`` in the API, ``pool.convert`` in the
   CLI) — outside any transaction, so SQLite's write lock is never held across a conversion.
3. :func:`record_issued` (its own writing unit of work): ``store_rendered`` for the source,
   ``pdf_for_docx`` for the PDF, one ``document.render`` audit event per NEW document row, commit.
   A cache hit writes nothing and opens no write transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.core import jobs
from backend.core.dates import HalfMonth, half_month
from backend.core.db import writer
from backend.core.errors import NotFound, PermissionDenied, ServiceBusy, ValidationFailed
from backend.documents import contexts
from backend.documents.converter import ConversionTimeout, ConverterPool
from backend.documents.models import (
    MEDIA_TYPES,
    Document,
    DocumentFormat,
    DocumentKind,
    SubjectType,
)
from backend.documents.progress_xlsx import progress_xlsx
from backend.documents.render import TemplateVariableError, render_docx, template_sha256
from backend.documents.service import context_digest, pdf_for_docx, store_rendered
from backend.documents.store import BlobStore, get_store
from backend.orgs.models import Organisation, RecommendingUnit
from backend.orgs.service import unit_by_code
from backend.works.models import Work
from backend.works.service import get_work

log = logging.getLogger(__name__)

# Roles that may download any unit's 推进表 (a unit reviewer only their own unit's).
PROGRESS_OVERSEERS = {Role.ministry_officer, Role.auditor, Role.admin}


@dataclass(frozen=True)
class WorkDocumentType:
    kind: DocumentKind
    template: str
    label: str  # the document's Chinese name, used in file names
    build: Callable[..., dict[str, Any]]


WORK_DOCUMENTS: dict[str, WorkDocumentType] = {
    "application": WorkDocumentType(
        DocumentKind.application,
        contexts.APPLICATION_TEMPLATE,
        "扶持项目申请书",
        contexts.application_context,
    ),
    "copyright-pledge": WorkDocumentType(
        DocumentKind.copyright_pledge,
        contexts.PLEDGE_TEMPLATE,
        "版权承诺书",
        contexts.pledge_context,
    ),
}
WORK_FORMATS = (DocumentFormat.docx, DocumentFormat.pdf)
PROGRESS_FORMATS = (DocumentFormat.docx, DocumentFormat.xlsx, DocumentFormat.pdf)
PROGRESS_LABEL = "重点项目推进表"


@dataclass
class Prepared:
    """A rendered source (DOCX or XLSX) and what is known about the requested format."""

    kind: DocumentKind
    subject_type: SubjectType
    subject_id: str
    template_name: str | None
    template_sha256: str | None
    context_digest: str
    source_format: DocumentFormat
    source: bytes
    wanted: DocumentFormat
    filename: str
    # Set by prepare when the PDF of these source bytes was issued before (no conversion).
    cached_pdf: Document | None = None
    cached_pdf_bytes: bytes | None = None
    # Set when everything requested already exists as rows (nothing to write).
    cached: bool = False

    @property
    def needs_conversion(self) -> bool:
        return self.wanted is DocumentFormat.pdf and self.cached_pdf_bytes is None

    @property
    def source_sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()

    def store(
        self,
        session: Session,
        *,
        created_by: int | None,
        fmt: DocumentFormat | None = None,
        data: bytes | None = None,
        source_sha256: str | None = None,
        blobs: BlobStore | None = None,
    ) -> Document:
        """Record these bytes (the rendered source by default) as a document of this subject."""
        return store_rendered(
            session,
            kind=self.kind,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            template_name=self.template_name,
            template_sha256=self.template_sha256,
            context_digest=self.context_digest,
            fmt=fmt or self.source_format,
            data=self.source if data is None else data,
            created_by=created_by,
            source_sha256=source_sha256,
            store=blobs,
        )


@dataclass(frozen=True)
class Issued:
    """The bytes to send and what they are."""

    data: bytes
    sha256: str
    format: DocumentFormat
    filename: str
    created: int  # document rows created by this request (0 on a cache hit)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


# ------------------------------------------------------------------ names and parsing


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_filename_part(value: str) -> str:
    """A title made safe for a file name on Windows, macOS and Linux (no path separators)."""
    cleaned = _UNSAFE.sub("_", value).strip(" ._")
    return cleaned[:60] or "文书"


def parse_format(value: str, allowed: tuple[DocumentFormat, ...]) -> DocumentFormat:
    try:
        fmt = DocumentFormat(value.lower())
    except ValueError:
        fmt = None
    if fmt not in allowed:
        choices = " / ".join(f.value for f in allowed)
        raise ValidationFailed(
            f"不支持的文件格式：{value}（可选 {choices}）",
            fields={"format": f"可选格式：{choices}"},
        )
    return fmt


def parse_half_month(value: str) -> HalfMonth:
    """``2026-06-H1`` → HalfMonth; anything else (month 13, H3, …) → 422."""
    try:
        return half_month(value)
    except ValueError:
        raise ValidationFailed(
            f"填报期间无效：{value}",
            fields={"period": "格式为 YYYY-MM-H1（上半月）或 YYYY-MM-H2（下半月），月份 01–12"},
        ) from None


# ------------------------------------------------------------------ step 1: prepare


def _render(template: str, context: dict[str, Any]) -> bytes:
    try:
        return render_docx(template, context)
    except TemplateVariableError:
        # A template and its builder disagree: a server bug, not the user's input.
        log.exception("template %s needs a variable its builder does not provide", template)
        raise


def _find_cached(session: Session, prepared: Prepared, store: BlobStore) -> None:
    """Fill in the PDF made from these source bytes before, if any (pdf_for_docx's cache)."""
    source_sha = prepared.source_sha256
    rows = session.exec(
        select(Document).where(
            Document.subject_type == prepared.subject_type.value,
            Document.subject_id == prepared.subject_id,
            Document.kind == prepared.kind.value,
            Document.sha256 == source_sha,
            Document.format == prepared.source_format.value,
        )
    ).first()
    source_known = rows is not None
    if prepared.wanted is not DocumentFormat.pdf:
        prepared.cached = source_known
        return
    candidates = session.exec(
        select(Document)
        .where(Document.format == DocumentFormat.pdf.value)
        .where(Document.source_sha256 == source_sha)
        .where(Document.pdfa == False)  # noqa: E712 (SQL expression)
        .order_by(Document.id)  # type: ignore[arg-type]
    ).all()
    for pdf in candidates:
        if not store.exists(pdf.sha256):
            continue
        same_subject = (pdf.kind, pdf.subject_type, pdf.subject_id) == (
            prepared.kind,
            prepared.subject_type,
            prepared.subject_id,
        )
        if same_subject or prepared.cached_pdf is None:
            prepared.cached_pdf = pdf
            prepared.cached_pdf_bytes = store.get(pdf.sha256)
        if same_subject:
            prepared.cached = source_known
            return


def prepare_work_document(
    session: Session,
    *,
    work: Work,
    doc_type: str,
    fmt: DocumentFormat,
    store: BlobStore | None = None,
) -> Prepared:
    """Render 申请书 / 承诺书 of ``work`` (already access-checked) for format ``fmt``."""
    spec = WORK_DOCUMENTS[doc_type]
    context = spec.build(session=session, work=work)  # ValidationFailed before any rendering
    source = _render(spec.template, context)
    prepared = Prepared(
        kind=spec.kind,
        subject_type=SubjectType.work,
        subject_id=str(work.id),
        template_name=spec.template,
        template_sha256=template_sha256(spec.template),
        context_digest=context_digest(context),
        source_format=DocumentFormat.docx,
        source=source,
        wanted=fmt,
        filename=f"{safe_filename_part(work.title)}-{spec.label}.{fmt.value}",
    )
    _find_cached(session, prepared, store or get_store())
    return prepared


def prepare_progress_table(
    session: Session,
    *,
    unit: RecommendingUnit,
    period: HalfMonth,
    fmt: DocumentFormat,
    rows: Sequence[Mapping[str, Any]],
    store: BlobStore | None = None,
) -> Prepared:
    """Render the 推进表 of ``unit`` for ``period``: DOCX (and its PDF) or XLSX, with ``rows``
    from the funding tracker (backend.funding.progress)."""
    context = contexts.progress_context(
        session=session,
        unit=unit,
        year=period.year,
        month=period.month,
        half=period.half,
        rows=rows,
    )
    source_format: DocumentFormat
    if fmt is DocumentFormat.xlsx:
        source, source_format, template, tsha = progress_xlsx(context), fmt, None, None
    else:
        template = contexts.PROGRESS_TEMPLATE
        source, source_format = _render(template, context), DocumentFormat.docx
        tsha = template_sha256(template)
    prepared = Prepared(
        kind=DocumentKind.progress_table,
        subject_type=SubjectType.unit_period,
        subject_id=f"{unit.code}/{period.code}",
        template_name=template,
        template_sha256=tsha,
        context_digest=context_digest(context),
        source_format=source_format,
        source=source,
        wanted=fmt,
        filename=(f"{safe_filename_part(unit.name)}-{PROGRESS_LABEL}-{period.label}.{fmt.value}"),
    )
    _find_cached(session, prepared, store or get_store())
    return prepared


def authorised_work(session: Session, user: User, work_id: int) -> Work:
    """The work if the user can see it (404 otherwise, whoever asks)."""
    return get_work(session, user, work_id)


def authorised_unit(session: Session, user: User, code: str) -> RecommendingUnit:
    """The unit whose 推进表 the user may download: its own reviewers, ministry, auditors,
    admin. Other roles → 403; an unknown unit or another unit's reviewer → 404."""
    if user.role is not Role.unit_reviewer and user.role not in PROGRESS_OVERSEERS:
        raise PermissionDenied("只有推荐单位、总局、审计人员和管理员可以下载推进表")
    try:
        unit = unit_by_code(session, code)
    except NotFound:
        raise NotFound("未找到该推荐单位", code="unit_not_found") from None
    if user.role is Role.unit_reviewer:
        org = session.get(Organisation, user.organisation_id)
        if org is None or org.unit_id != unit.id:
            raise NotFound("未找到该推荐单位", code="unit_not_found")
    return unit


# ------------------------------------------------------------------ step 2: convert


def conversion_unavailable(exc: Exception) -> ServiceBusy:
    """A hung conversion (the instance was killed and restarts) is, for the caller, the same as a
    busy pool: try again shortly. 503 with Retry-After rather than the converter's 504."""
    if isinstance(exc, ServiceBusy):
        return exc
    assert isinstance(exc, ConversionTimeout)
    return ServiceBusy(
        "文档转换超时，转换服务正在恢复，请稍后重试",
        code="conversion_timeout",
        headers={"Retry-After": "10"},
    )


def convert_sync(prepared: Prepared, pool: ConverterPool) -> bytes | None:
    """Step 2 for the CLI (the API awaits ``pool.convert_async`` instead)."""
    if not prepared.needs_conversion:
        return None
    try:
        return pool.convert(prepared.source, source_format="docx")
    except (ServiceBusy, ConversionTimeout) as exc:
        raise conversion_unavailable(exc) from exc


# ------------------------------------------------------------------ step 3: record


class _ConvertedAlready:
    """Stands in for the pool inside ``pdf_for_docx``: the PDF was converted before the write
    transaction began. Called only when pdf_for_docx finds no cached PDF."""

    def __init__(self, pdf: bytes | None) -> None:
        self.pdf = pdf

    def convert(self, data: bytes, **_kw: Any) -> bytes:
        if self.pdf is None:  # the cached PDF vanished between the two steps
            raise ServiceBusy("文档正在生成，请稍后重试", headers={"Retry-After": "1"})
        return self.pdf


def _audit_new(session: Session, doc: Document, actor: User | str) -> None:
    record(
        session,
        actor=actor,
        action="document.render",
        object_type="document",
        object_id=doc.id,
        payload={
            "kind": doc.kind,
            "format": doc.format,
            "subject_type": doc.subject_type,
            "subject_id": doc.subject_id,
            "sha256": doc.sha256,
            "template_name": doc.template_name,
            "template_sha256": doc.template_sha256,
            "context_digest": doc.context_digest,
            "source_sha256": doc.source_sha256,
        },
    )


def _exists(session: Session, prepared: Prepared, fmt: DocumentFormat, sha256: str) -> bool:
    return (
        session.exec(
            select(Document.id).where(
                Document.format == fmt.value,
                Document.sha256 == sha256,
                Document.kind == prepared.kind.value,
                Document.subject_type == prepared.subject_type.value,
                Document.subject_id == prepared.subject_id,
            )
        ).first()
        is not None
    )


def record_issued(
    prepared: Prepared,
    pdf: bytes | None,
    *,
    actor: User | str,
    store: BlobStore | None = None,
) -> Issued:
    """Store and record what ``prepared`` (and the converted ``pdf``) hold, in one writing unit
    of work; nothing is written when every row already exists."""
    blobs = store or get_store()
    wanted = prepared.wanted
    if prepared.cached:
        data = prepared.cached_pdf_bytes if wanted is DocumentFormat.pdf else prepared.source
        assert data is not None
        return Issued(data, hashlib.sha256(data).hexdigest(), wanted, prepared.filename, 0)
    created_by = actor.id if isinstance(actor, User) else None
    created = 0
    with Session(writer(), expire_on_commit=False) as session:
        try:
            source_new = not _exists(
                session, prepared, prepared.source_format, prepared.source_sha256
            )
            source_doc = prepared.store(session, created_by=created_by, blobs=blobs)
            if source_new:
                _audit_new(session, source_doc, actor)
                created += 1
            doc, data = source_doc, prepared.source
            if wanted is DocumentFormat.pdf:
                before = pdf_ids(session, source_doc)
                doc = pdf_for_docx(
                    session,
                    source_doc,
                    created_by=created_by,
                    pool=cast(ConverterPool, _ConvertedAlready(pdf or prepared.cached_pdf_bytes)),
                    store=blobs,
                )
                if doc.id not in before:
                    _audit_new(session, doc, actor)
                    created += 1
                data = blobs.get(doc.sha256)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return Issued(data, doc.sha256, wanted, prepared.filename, created)


def defer_conversion(prepared: Prepared, *, actor: User, download_path: str) -> int:
    """With a job queue: record the source now and queue its PDF (documents.jobs), in one
    transaction; the job id for the progress page. Nothing is queued if the write fails."""
    with Session(writer(), expire_on_commit=False) as session:
        try:
            source_new = not _exists(
                session, prepared, prepared.source_format, prepared.source_sha256
            )
            source_doc = prepared.store(session, created_by=actor.id)
            if source_new:
                _audit_new(session, source_doc, actor)
            job_id = jobs.defer(
                session,
                "documents.convert",
                lock=f"document:{source_doc.sha256}",
                document_id=source_doc.id,
                actor_id=actor.id,
                download_path=download_path,
            )
            session.commit()
        except BaseException:
            session.rollback()
            raise
    assert job_id is not None
    return job_id


def pdf_ids(session: Session, source_doc: Document) -> set[int | None]:
    return set(
        session.exec(
            select(Document.id).where(
                Document.format == DocumentFormat.pdf.value,
                Document.source_sha256 == source_doc.sha256,
                Document.kind == source_doc.kind,
                Document.subject_type == source_doc.subject_type,
                Document.subject_id == source_doc.subject_id,
            )
        ).all()
    )
