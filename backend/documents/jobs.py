"""The `convert` queue: DOCX → PDF in a worker (JINGPIN_QUEUE=postgres).

The request records the DOCX and defers the job in the same transaction
(downloads.defer_conversion); the worker converts with its own LibreOffice pool and records the
PDF. A retried job (a worker killed mid-conversion, a converter timeout) converts again and
finds nothing written by the lost attempt: the PDF row and its audit event exist once.
"""

from __future__ import annotations

from typing import cast

from sqlmodel import Session

from backend.auth.models import User
from backend.core import jobs
from backend.core.db import get_engine, session_scope
from backend.core.errors import NotFound
from backend.documents.converter import ConverterPool, get_pool
from backend.documents.downloads import _audit_new, _ConvertedAlready, pdf_ids
from backend.documents.models import Document, DocumentFormat
from backend.documents.service import pdf_for_docx
from backend.documents.store import get_store


@jobs.task("documents.convert", queue="convert", priority=10, max_attempts=5, wait_base=2)
def convert_document(document_id: int, actor_id: int | None, download_path: str = "") -> None:
    """`download_path` is where the waiting user fetches the result (the progress page)."""
    with Session(get_engine()) as session:
        docx = session.get(Document, document_id)
        if docx is None or docx.format != DocumentFormat.docx.value:
            raise NotFound("待转换的文档不存在", code="document_not_found")
        source = get_store().get(docx.sha256)
    # Outside any transaction: a conversion takes seconds.
    pdf = get_pool().convert(source, source_format="docx")
    with session_scope() as session:
        docx = session.get(Document, document_id)
        assert docx is not None
        before = pdf_ids(session, docx)
        doc = pdf_for_docx(
            session, docx, created_by=actor_id, pool=cast(ConverterPool, _ConvertedAlready(pdf))
        )
        if doc.id not in before:
            actor = session.get(User, actor_id) if actor_id else None
            _audit_new(session, doc, actor or "system:worker")
