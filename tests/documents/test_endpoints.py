"""Download API for 申请书 / 承诺书 / 推进表 against the real database (SQLite and PostgreSQL) and,
for PDFs, the real LibreOffice through the shared pool."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import threading
from typing import Any
from urllib.parse import quote, unquote

import pytest
from sqlmodel import Session, func, select

from backend.audit_log.models import AuditEvent
from backend.auth.models import User
from backend.documents import downloads
from backend.documents.models import Document
from backend.documents.render import template_sha256
from backend.orgs.models import Organisation
from backend.works.models import Work, WorkStatus

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
TITLE = "西湖边的修伞人"  # prod-hz, unit zj, budget ¥1,200,000.00, requested ¥500,000.00


def work_id(session: Session, title: str = TITLE) -> int:
    work = session.exec(select(Work).where(Work.title == title)).one()
    assert work.id is not None
    return work.id


def set_status(session: Session, title: str, status: WorkStatus) -> None:
    work = session.exec(select(Work).where(Work.title == title)).one()
    work.status = status
    session.add(work)
    session.commit()


def fresh(session: Session) -> Session:
    """End the test's read transaction so it sees what the requests committed since."""
    session.rollback()
    return session


_BASELINE: dict[str, int] = {}


@pytest.fixture(autouse=True)
def baseline(session: Session) -> None:
    """Rows the demo data already holds; the counts below are of rows made by the test."""
    _BASELINE["document"] = session.exec(select(func.max(Document.id))).one() or 0
    _BASELINE["event"] = session.exec(select(func.max(AuditEvent.seq))).one() or 0
    session.rollback()


def doc_count(session: Session) -> int:
    fresh(session)
    query = select(func.count()).select_from(Document)
    return session.exec(query.where(Document.id > _BASELINE["document"])).one()


def render_events(session: Session) -> int:
    fresh(session)
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.seq > _BASELINE["event"])
    return session.exec(query.where(AuditEvent.action == "document.render")).one()


def last_event(session: Session) -> int:
    fresh(session)
    return session.exec(select(func.max(AuditEvent.seq))).one() or 0


def written_since(session: Session, event: int) -> tuple[list[tuple], list[tuple]]:
    """(documents made by the test, audit events after ``event``), as comparable tuples."""
    fresh(session)
    docs = session.exec(
        select(Document).where(Document.id > _BASELINE["document"]).order_by(Document.id)
    ).all()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.seq > event).order_by(AuditEvent.seq)
    ).all()
    return (
        [(d.id, d.kind, d.subject_type, d.subject_id, d.sha256, d.created_by) for d in docs],
        [(e.action, e.actor, e.object_type, e.object_id) for e in events],
    )


def assert_recorded_once(
    session: Session, event: int, r: Any, username: str, kind: str, subject: tuple[str, str]
) -> None:
    """The download ``r`` is the one new document, rendered by ``username``, one audit event."""
    user = fresh(session).exec(select(User).where(User.username == username)).one()
    docs, events = written_since(session, event)
    assert [d[1:] for d in docs] == [(kind, *subject, r.headers["x-document-sha256"], user.id)]
    assert events == [("document.render", username, "document", str(docs[0][0]))]


def assert_nothing_written(session: Session, event: int) -> None:
    assert written_since(session, event) == ([], [])


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())  # table cells wrap: compare without whitespace


def app_url(session: Session, name: str, fmt: str) -> str:
    return f"/api/v1/works/{work_id(session)}/documents/{name}.{fmt}"


def assert_download(r: Any, media_type: str, filename: str) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media_type
    assert r.headers["x-document-sha256"] == hashlib.sha256(r.content).hexdigest()
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(filename, safe='')}" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == filename


# ------------------------------------------------------------------ DOCX / XLSX (no LibreOffice)


def test_application_docx_is_recorded_with_template_hash_and_context_digest(
    client, token_for, session
):
    r = client.get(app_url(session, "application", "docx"), headers=token_for("prod-hz"))
    assert_download(r, DOCX, f"{TITLE}-扶持项目申请书.docx")
    assert r.content[:2] == b"PK"
    doc = (
        fresh(session)
        .exec(select(Document).where(Document.sha256 == r.headers["x-document-sha256"]))
        .one()
    )
    assert (doc.kind, doc.subject_type, doc.subject_id) == (
        "application",
        "work",
        str(work_id(session)),
    )
    assert doc.template_name == "application_form.docx"
    assert doc.template_sha256 == template_sha256("application_form.docx")
    assert doc.context_digest and len(doc.context_digest) == 64
    assert doc.created_by is not None
    assert render_events(session) == 1


def test_repeat_docx_download_returns_the_same_bytes_and_records_nothing_new(
    client, token_for, session
):
    url = app_url(session, "copyright-pledge", "docx")
    first = client.get(url, headers=token_for("prod-hz"))
    second = client.get(url, headers=token_for("prod-hz"))
    assert_download(second, DOCX, f"{TITLE}-版权承诺书.docx")
    assert first.content == second.content
    assert doc_count(session) == 1
    assert render_events(session) == 1


def test_unit_downloads_its_progress_table_as_xlsx(client, token_for, session):
    r = client.get("/api/v1/units/zj/progress-tables/2026-06-H1.xlsx", headers=token_for("unit-zj"))
    assert_download(r, XLSX, "浙江省广播电视局-重点项目推进表-2026年6月上半月.xlsx")
    doc = fresh(session).exec(select(Document).where(Document.id > _BASELINE["document"])).one()
    assert (doc.kind, doc.subject_type, doc.subject_id) == (
        "progress_table",
        "unit_period",
        "zj/2026-06-H1",
    )
    assert doc.format == "xlsx" and doc.template_name is None


def test_unit_downloads_its_progress_table_as_docx(client, token_for):
    r = client.get("/api/v1/units/zj/progress-tables/2026-06-H2.docx", headers=token_for("unit-zj"))
    assert_download(r, DOCX, "浙江省广播电视局-重点项目推进表-2026年6月下半月.docx")


# ------------------------------------------------------------------ access


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("prod-hz", 200),
        ("prod-cd", 404),
        ("unit-zj", 404),
        ("unit-sc", 404),
        ("ministry", 404),
        ("finance-a", 404),
        ("auditor", 404),
        ("admin", 200),
    ],
)
def test_draft_work_documents_only_for_its_producer_and_admin(
    client, token_for, session, username, status
):
    set_status(session, TITLE, WorkStatus.draft)
    headers = token_for(username)  # logging in writes its own audit event
    event = last_event(session)
    r = client.get(app_url(session, "application", "docx"), headers=headers)
    assert r.status_code == status, r.content[:300]
    if status == 200:
        assert_download(r, DOCX, f"{TITLE}-扶持项目申请书.docx")
        subject = ("work", str(work_id(session)))
        assert_recorded_once(session, event, r, username, "application", subject)
    else:
        assert r.json()["code"] == "work_not_found"
        assert_nothing_written(session, event)


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("prod-hz", 200),
        ("prod-cd", 404),
        ("unit-zj", 200),
        ("unit-sc", 404),
        ("ministry", 200),
        ("auditor", 200),
        ("finance-a", 200),
    ],
)
def test_submitted_work_documents_for_everyone_who_can_see_the_work(
    client, token_for, session, username, status
):
    set_status(session, TITLE, WorkStatus.submitted)
    headers = token_for(username)
    event = last_event(session)
    r = client.get(app_url(session, "copyright-pledge", "docx"), headers=headers)
    assert r.status_code == status, r.content[:300]
    if status == 200:
        assert_download(r, DOCX, f"{TITLE}-版权承诺书.docx")
        subject = ("work", str(work_id(session)))
        assert_recorded_once(session, event, r, username, "copyright_pledge", subject)
    else:
        assert r.json()["code"] == "work_not_found"
        assert_nothing_written(session, event)


def test_work_documents_need_a_login(client, session):
    r = client.get(app_url(session, "application", "docx"))
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    assert_nothing_written(session, _BASELINE["event"])


def test_unknown_work_and_unknown_document_type_are_404(client, token_for, session):
    admin, producer = token_for("admin"), token_for("prod-hz")
    event = last_event(session)
    r = client.get("/api/v1/works/99999/documents/application.docx", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "work_not_found", r.text
    r = client.get(app_url(session, "agreement", "docx"), headers=producer)
    assert r.status_code == 404 and r.json()["code"] == "document_type_not_found", r.text
    assert_nothing_written(session, event)


@pytest.mark.parametrize(
    ("username", "code", "status"),
    [
        ("unit-zj", "zj", 200),
        ("unit-zj", "sc", 404),
        ("unit-sc", "zj", 404),
        ("unit-zj", "nope", 404),
        ("ministry", "sc", 200),
        ("auditor", "zj", 200),
        ("admin", "zj", 200),
        ("ministry", "nope", 404),
        ("prod-hz", "zj", 403),
        ("expert1", "zj", 403),
        ("finance-a", "zj", 403),
    ],
)
def test_progress_table_access_matrix(client, token_for, session, username, code, status):
    headers = token_for(username)
    event = last_event(session)
    r = client.get(f"/api/v1/units/{code}/progress-tables/2026-07-H1.docx", headers=headers)
    assert r.status_code == status, r.content[:300]
    if status == 200:
        assert r.content[:2] == b"PK"
        subject = ("unit_period", f"{code}/2026-07-H1")
        assert_recorded_once(session, event, r, username, "progress_table", subject)
    else:
        assert_nothing_written(session, event)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "period", ["2026-13-H1", "2026-06-H3", "2026-00-H1", "2026-6-H1", "June", "2026-06"]
)
def test_malformed_period_is_422(client, token_for, session, period):
    r = client.get(f"/api/v1/units/zj/progress-tables/{period}.xlsx", headers=token_for("unit-zj"))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_failed"
    assert "period" in r.json()["fields"]
    assert doc_count(session) == 0


@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("/api/v1/units/zj/progress-tables/2026-06-H1.doc", "unit-zj"),
        ("/api/v1/works/{id}/documents/application.xlsx", "prod-hz"),
    ],
)
def test_unsupported_format_is_422(client, token_for, session, url, user):
    r = client.get(url.format(id=work_id(session)), headers=token_for(user))
    assert r.status_code == 422
    assert "format" in r.json()["fields"]


def test_missing_fields_are_all_listed_in_chinese_and_nothing_is_stored(
    client, token_for, session, env
):
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    work.filing_number = ""
    work.director = " "
    work.schedule = ""
    org = session.get(Organisation, work.organisation_id)
    org.contact_email = ""
    session.add_all([work, org])
    session.commit()
    blobs_before = set((env["data_dir"] / "blobs").glob("??/??/*"))
    docs_before = doc_count(session)
    for fmt in ("docx", "pdf"):
        r = client.get(app_url(session, "application", fmt), headers=token_for("prod-hz"))
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "validation_failed"
        assert body["fields"] == {
            "filing_number": "规划立项备案号未填写",
            "director": "导演未填写",
            "schedule": "创作计划及进度安排未填写",
            "organisation.contact_email": "电子邮箱未填写",
        }
        assert "申请书" in body["message"]
    r = client.get(app_url(session, "copyright-pledge", "docx"), headers=token_for("prod-hz"))
    assert r.status_code == 422
    assert r.json()["fields"] == {"filing_number": "规划立项备案号未填写"}
    assert doc_count(session) == docs_before
    assert render_events(session) == 0
    assert set((env["data_dir"] / "blobs").glob("??/??/*")) == blobs_before


def test_template_variable_error_is_a_server_error_naming_the_variable(
    client, token_for, session, monkeypatch
):
    spec = downloads.WORK_DOCUMENTS["application"]

    def broken(**kw: Any) -> dict[str, Any]:
        context = spec.build(**kw)
        del context["requested_capitals"]
        return context

    monkeypatch.setitem(
        downloads.WORK_DOCUMENTS,
        "application",
        spec.__class__(spec.kind, spec.template, spec.label, broken),
    )
    r = client.get(app_url(session, "application", "docx"), headers=token_for("prod-hz"))
    assert r.status_code == 500
    assert r.json()["code"] == "template_variable_missing"
    assert r.json()["variable"] == "requested_capitals"
    assert "requested_capitals" in r.json()["message"]
    assert doc_count(session) == 0


# ------------------------------------------------------------------ PDF through LibreOffice


@pytest.mark.libreoffice
def test_application_pdf_shows_title_and_amounts_in_figures_and_capitals(
    client, token_for, session, app_pool
):
    r = client.get(app_url(session, "application", "pdf"), headers=token_for("prod-hz"))
    assert_download(r, PDF, f"{TITLE}-扶持项目申请书.pdf")
    text = pdf_text(r.content)
    for expected in (
        TITLE,
        "¥1,200,000.00",
        "壹佰贰拾万元整",
        "¥500,000.00",
        "伍拾万元整",
        "浙微剧备字〔2026〕第0118号",
        "浙江省广播电视局",
    ):
        assert expected in text, expected


@pytest.mark.libreoffice
def test_pledge_pdf_names_the_work_and_the_producer(client, token_for, session, app_pool):
    r = client.get(app_url(session, "copyright-pledge", "pdf"), headers=token_for("prod-hz"))
    assert_download(r, PDF, f"{TITLE}-版权承诺书.pdf")
    text = pdf_text(r.content)
    assert TITLE in text and "版权承诺书" in text and "杭州光影微剧文化传媒有限公司" in text


@pytest.mark.libreoffice
def test_progress_table_pdf_lists_the_units_selected_works(client, token_for, session, app_pool):
    set_status(session, TITLE, WorkStatus.selected)
    r = client.get("/api/v1/units/zj/progress-tables/2026-06-H2.pdf", headers=token_for("ministry"))
    assert_download(r, PDF, "浙江省广播电视局-重点项目推进表-2026年6月下半月.pdf")
    text = pdf_text(r.content)
    assert TITLE in text and "2026年6月下半月" in text and "浙江省广播电视局" in text
    mine = select(Document).where(Document.id > _BASELINE["document"])
    pdf = fresh(session).exec(mine.where(Document.format == "pdf")).one()
    source = session.exec(mine.where(Document.format == "docx")).one()
    assert pdf.source_sha256 == source.sha256
    assert pdf.template_sha256 == template_sha256("progress_table.docx")


@pytest.mark.libreoffice
def test_second_pdf_download_does_not_convert_again(client, token_for, session, app_pool):
    url = app_url(session, "application", "pdf")
    before = app_pool.stats().conversions
    first = client.get(url, headers=token_for("prod-hz"))
    assert first.status_code == 200
    assert app_pool.stats().conversions == before + 1
    assert render_events(session) == 2  # the DOCX and its PDF
    second = client.get(url, headers=token_for("prod-hz"))
    assert second.status_code == 200
    assert app_pool.stats().conversions == before + 1
    assert second.content == first.content
    assert second.headers["x-document-sha256"] == first.headers["x-document-sha256"]
    assert doc_count(session) == 2
    assert render_events(session) == 2


@pytest.mark.libreoffice
def test_docx_downloaded_first_then_pdf_converts_once_and_keeps_the_docx_row(
    client, token_for, session, app_pool
):
    docx = client.get(app_url(session, "copyright-pledge", "docx"), headers=token_for("prod-hz"))
    pdf = client.get(app_url(session, "copyright-pledge", "pdf"), headers=token_for("prod-hz"))
    assert pdf.status_code == 200
    mine = select(Document).where(Document.id > _BASELINE["document"])
    row = fresh(session).exec(mine.where(Document.format == "pdf")).one()
    assert row.source_sha256 == docx.headers["x-document-sha256"]
    assert doc_count(session) == 2 and render_events(session) == 2


@pytest.mark.libreoffice
def test_conversion_timeout_is_503_with_retry_after_stores_nothing_and_the_pool_recovers(
    client, token_for, session, app_pool, monkeypatch
):
    url = app_url(session, "application", "pdf")
    monkeypatch.setattr(app_pool, "timeout_seconds", 0.01)
    r = client.get(url, headers=token_for("prod-hz"))
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "conversion_timeout"
    assert int(r.headers["retry-after"]) > 0
    assert doc_count(session) == 0 and render_events(session) == 0
    monkeypatch.setattr(app_pool, "timeout_seconds", 30.0)
    again = client.get(url, headers=token_for("prod-hz"))
    assert again.status_code == 200, again.text
    assert again.content.startswith(b"%PDF")


@pytest.mark.libreoffice
def test_full_pool_is_503_with_retry_after_and_nothing_stored(
    client, token_for, session, app_pool, monkeypatch
):
    monkeypatch.setattr(app_pool, "max_queue", -app_pool.size)  # every admission is refused
    r = client.get(app_url(session, "application", "pdf"), headers=token_for("prod-hz"))
    assert r.status_code == 503
    assert r.json()["code"] == "service_busy"
    assert int(r.headers["retry-after"]) >= 1
    assert doc_count(session) == 0
    monkeypatch.undo()
    monkeypatch.setattr("backend.documents.converter._pool", app_pool)
    assert (
        client.get(app_url(session, "application", "pdf"), headers=token_for("prod-hz")).status_code
        == 200
    )


@pytest.mark.libreoffice
def test_converter_killed_mid_request_gives_a_clean_answer_and_the_next_request_succeeds(
    client, token_for, session, app_pool
):
    url = app_url(session, "application", "pdf")
    headers = token_for("prod-hz")
    result: dict[str, Any] = {}
    admitted = app_pool.stats().admitted

    def download() -> None:
        result["response"] = client.get(url, headers=headers)

    thread = threading.Thread(target=download)
    thread.start()
    assert app_pool.wait_for_admitted(admitted + 1, timeout=30)
    for pid in app_pool.stats().pids:
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    first = result["response"]
    assert first.status_code in (200, 503), first.text
    if first.status_code == 503:
        assert "retry-after" in first.headers
    else:
        assert first.content.startswith(b"%PDF")
    nxt = client.get(app_url(session, "copyright-pledge", "pdf"), headers=headers)
    assert nxt.status_code == 200, nxt.text
    assert nxt.content.startswith(b"%PDF")
