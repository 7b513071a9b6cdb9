"""Recording documents: idempotent rows over content-addressed bytes, the PDF cache, orphans."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from sqlmodel import Session, select

from backend.core.db import make_engine
from backend.documents.converter import ConverterPool
from backend.documents.models import Document
from backend.documents.service import (
    context_digest,
    pdf_for_docx,
    remove_orphan_blobs,
    store_rendered,
)
from backend.documents.store import FileBlobStore
from backend.migrate import upgrade
from signing.hashes import sm3_hex


def chinese_docx(text: str) -> bytes:
    document = docx.Document()
    for lang in document.styles.element.iter(qn("w:lang")):
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def db(tmp_path: Path):
    """A database migrated to head through Alembic (which also checks the migration)."""
    url = f"sqlite:///{tmp_path / 'documents.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):
    p = ConverterPool(data_dir=tmp_path_factory.mktemp("converter"), instances=1)
    yield p
    p.stop()


def record(db, store, data: bytes, *, subject_id: str = "7", fmt: str = "docx") -> Document:
    return store_rendered(
        db,
        kind="application",
        subject_type="work",
        subject_id=subject_id,
        template_name="application_form.docx",
        template_sha256="a" * 64,
        context_digest=context_digest({"work": {"title": "长安"}, "amount_fen": 123450}),
        fmt=fmt,
        data=data,
        created_by=None,
        store=store,
    )


def test_store_rendered_records_hashes_size_and_template(db, store):
    data = chinese_docx("扶持项目申请书")
    doc = record(db, store, data)
    assert doc.id is not None
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.sm3 == sm3_hex(data)
    assert doc.size == len(data) and doc.created_at.tzinfo is not None
    assert store.get(doc.sha256) == data
    assert doc.media_type.endswith("wordprocessingml.document")


def test_same_bytes_for_the_same_subject_return_the_same_row(db, store):
    data = chinese_docx("扶持项目申请书")
    first = record(db, store, data)
    db.commit()
    assert record(db, store, data).id == first.id
    assert len(db.exec(select(Document)).all()) == 1


def test_same_bytes_for_another_subject_make_another_row_over_one_blob(db, store):
    data = chinese_docx("扶持项目申请书")
    a, b = record(db, store, data, subject_id="7"), record(db, store, data, subject_id="8")
    assert a.id != b.id and a.sha256 == b.sha256
    assert len(list(store.iter_blobs())) == 1


def test_context_digest_ignores_key_order():
    assert context_digest({"a": 1, "b": "乙"}) == context_digest({"b": "乙", "a": 1})


def test_rollback_leaves_only_an_orphan_that_cleanup_removes(db, store):
    kept = record(db, store, chinese_docx("保留"))
    db.commit()
    rolled_back = record(db, store, chinese_docx("回滚"))
    db.rollback()
    assert store.exists(rolled_back.sha256)  # content-addressed: harmless until cleaned
    assert remove_orphan_blobs(db, older_than_hours=0, store=store) == 1
    assert not store.exists(rolled_back.sha256) and store.exists(kept.sha256)


@pytest.mark.libreoffice
def test_pdf_cache_hit_does_not_convert_again(db, store, pool):
    source = record(db, store, chinese_docx("版权承诺书"))
    pdf = pdf_for_docx(db, source, pool=pool, store=store)
    db.commit()
    conversions = pool.stats().conversions
    again = pdf_for_docx(db, source, pool=pool, store=store)
    assert again.id == pdf.id and pool.stats().conversions == conversions
    assert pdf.format == "pdf" and pdf.source_sha256 == source.sha256
    assert store.get(pdf.sha256).startswith(b"%PDF")


@pytest.mark.libreoffice
def test_pdf_of_the_same_docx_bytes_for_another_subject_reuses_the_pdf(db, store, pool):
    data = chinese_docx("三方协议")
    first = pdf_for_docx(db, record(db, store, data, subject_id="1"), pool=pool, store=store)
    conversions = pool.stats().conversions
    second = pdf_for_docx(db, record(db, store, data, subject_id="2"), pool=pool, store=store)
    assert pool.stats().conversions == conversions
    assert second.id != first.id and second.sha256 == first.sha256


@pytest.mark.libreoffice
def test_pdfa_is_cached_separately_from_plain_pdf(db, store, pool):
    source = record(db, store, chinese_docx("验收"))
    plain = pdf_for_docx(db, source, pool=pool, store=store)
    archival = pdf_for_docx(db, source, pool=pool, store=store, pdfa=True)
    assert archival.id != plain.id and archival.pdfa and not plain.pdfa
