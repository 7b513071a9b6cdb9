"""Recording rendered documents and their PDFs.

Services only `flush()`; the request or CLI command commits once. Bytes go to the
content-addressed store before the row is written, so a rollback leaves at most an orphan blob
(see `store.remove_orphans`), never a row without its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.core.canonical import digest
from backend.documents.converter import ConverterPool, get_pool
from backend.documents.models import Document, DocumentFormat, DocumentKind, SubjectType
from backend.documents.store import BlobStore, get_store, remove_orphans
from signing.hashes import sm3_hex


def context_digest(context: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a rendering context: same inputs, same digest."""
    return digest(context)


def store_rendered(
    session: Session,
    *,
    kind: DocumentKind | str,
    subject_type: SubjectType | str,
    subject_id: str | int,
    template_name: str | None,
    template_sha256: str | None,
    context_digest: str | None,
    fmt: DocumentFormat | str,
    data: bytes,
    created_by: int | None = None,
    source_sha256: str | None = None,
    pdfa: bool = False,
    store: BlobStore | None = None,
) -> Document:
    """Store the bytes and record them; the same bytes for the same purpose return the same row.

    Concurrent identical calls are safe: the insert runs in a savepoint and a unique-constraint
    race falls back to the row the other transaction wrote.
    """
    blobs = store or get_store()
    sha256 = blobs.put(data)
    doc = Document(
        format=DocumentFormat(fmt),
        sha256=sha256,
        kind=DocumentKind(kind),
        subject_type=SubjectType(subject_type),
        subject_id=str(subject_id),
        template_name=template_name,
        template_sha256=template_sha256,
        context_digest=context_digest,
        pdfa=pdfa,
        sm3=sm3_hex(data),
        size=len(data),
        source_sha256=source_sha256,
        created_by=created_by,
    )
    key = {c: getattr(doc, c) for c in ("format", "sha256", "kind", "subject_type", "subject_id")}
    existing = _find(session, key)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(doc)
            session.flush()
    except IntegrityError:
        existing = _find(session, key)
        if existing is None:
            raise
        return existing
    return doc


def _find(session: Session, key: Mapping[str, Any]) -> Document | None:
    query = select(Document)
    for column, value in key.items():
        query = query.where(getattr(Document, column) == value)
    return session.exec(query).first()


def pdf_for_docx(
    session: Session,
    docx_doc: Document,
    *,
    pdfa: bool = False,
    created_by: int | None = None,
    pool: ConverterPool | None = None,
    store: BlobStore | None = None,
) -> Document:
    """The PDF of a stored DOCX/XLSX, converted at most once per source bytes.

    The cache key is the source's sha256 (and PDF/A or not): LibreOffice's output differs from
    run to run (timestamps, document IDs), so converting again would issue a *different* PDF for
    the same document — bad for the registry and for signatures — besides costing time.
    A PDF made from the same bytes for another subject is reused without converting again.

    Note: on SQLite the session holds the write lock while a conversion runs (≤ the converter
    timeout); callers should not wrap long work around this call.
    """
    if docx_doc.format != DocumentFormat.docx:
        raise ValueError(f"cannot make a PDF from a {docx_doc.format} document")
    blobs = store or get_store()
    candidates = session.exec(
        select(Document)
        .where(Document.format == DocumentFormat.pdf.value)
        .where(Document.source_sha256 == docx_doc.sha256)
        .where(Document.pdfa == pdfa)
        .order_by(Document.id)  # type: ignore[arg-type]
    ).all()
    for pdf in candidates:
        if (pdf.kind, pdf.subject_type, pdf.subject_id) == (
            docx_doc.kind,
            docx_doc.subject_type,
            docx_doc.subject_id,
        ):
            return pdf
    data = next((blobs.get(c.sha256) for c in candidates if blobs.exists(c.sha256)), None)
    if data is None:
        data = (pool or get_pool()).convert(
            blobs.get(docx_doc.sha256), source_format="docx", pdfa=pdfa
        )
    return store_rendered(
        session,
        kind=docx_doc.kind,
        subject_type=docx_doc.subject_type,
        subject_id=docx_doc.subject_id,
        template_name=docx_doc.template_name,
        template_sha256=docx_doc.template_sha256,
        context_digest=docx_doc.context_digest,
        fmt=DocumentFormat.pdf,
        data=data,
        created_by=created_by,
        source_sha256=docx_doc.sha256,
        pdfa=pdfa,
        store=blobs,
    )


# Higher domains that keep blobs outside the documents table (verification uploads and sealed
# reports) register a reader of their sha256s here at start-up (backend.wiring), so orphan
# cleanup never deletes what they still point at.
BLOB_REFERRERS: list[Callable[[Session], Iterable[str]]] = []


def add_blob_referrer(referrer: Callable[[Session], Iterable[str]]) -> None:
    if referrer not in BLOB_REFERRERS:
        BLOB_REFERRERS.append(referrer)


def referenced_blobs(session: Session) -> set[str]:
    """Every sha256 a row points at: documents and the registered referrers (orphan cleanup)."""
    out = set(session.exec(select(Document.sha256).distinct()).all())
    for referrer in BLOB_REFERRERS:
        out.update(referrer(session))
    return out


def remove_orphan_blobs(
    session: Session, *, older_than_hours: float = 24, store: BlobStore | None = None
) -> int:
    """Delete stored blobs no document row references, once older than the grace period."""
    blobs = store or get_store()
    return remove_orphans(blobs, referenced_blobs(session), older_than_hours=older_than_hours)
