"""Conversions on the `convert` queue (JINGPIN_QUEUE=postgres): 202 + progress, a worker
converts, the same URL then serves the PDF; rows and audit events exist once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from backend.audit_log.models import AuditEvent
from backend.core.db import get_engine
from backend.documents.models import Document
from backend.works.models import Work
from tests.ops.conftest import bearer, run_worker

pytestmark = pytest.mark.postgres
TITLE = "西湖边的修伞人"


def url() -> str:
    with Session(get_engine()) as s:
        work = s.exec(select(Work).where(Work.title == TITLE)).one()
    return f"/api/v1/works/{work.id}/documents/application.pdf"


def counts() -> tuple[int, int]:
    with Session(get_engine()) as s:
        pdfs = s.exec(select(func.count()).select_from(Document).where(Document.format == "pdf"))
        renders = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "document.render")
        )
        return pdfs.one(), renders.one()


def test_pdf_download_is_queued_then_converted_by_a_worker_then_served(queued_client):
    headers = bearer(queued_client, "prod-hz")
    pdfs_before, renders_before = counts()
    r = queued_client.get(url(), headers=headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["code"] == "conversion_queued" and r.headers["location"] == body["status_url"]
    status = queued_client.get(body["status_url"], headers=headers).json()
    assert (status["status"], status["done"]) == ("todo", False)
    assert counts() == (pdfs_before, renders_before + 1)  # the DOCX is recorded, no PDF yet

    run_worker("convert")

    status = queued_client.get(body["status_url"], headers=headers).json()
    assert (status["status"], status["done"], status["download_path"]) == (
        "succeeded",
        True,
        url(),
    )
    pdf = queued_client.get(url(), headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert counts() == (pdfs_before + 1, renders_before + 2)
    again = queued_client.get(url(), headers=headers)
    assert again.content == pdf.content and counts() == (pdfs_before + 1, renders_before + 2)


def test_browser_gets_a_progress_page_that_polls_the_job(queued_client):
    headers = {**bearer(queued_client, "prod-hz"), "Accept": "text/html"}
    r = queued_client.get(url(), headers=headers)
    assert r.status_code == 202
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert f'hx-get="/jobs/{job_id}/status"' in r.text and "已排队" in r.text
    fragment = queued_client.get(f"/jobs/{job_id}/status", headers=headers)
    assert fragment.status_code == 200 and 'hx-trigger="every 2s"' in fragment.text
    run_worker("convert")
    done = queued_client.get(f"/jobs/{job_id}/status", headers=headers)
    assert "hx-get" not in done.text and f'href="{url()}"' in done.text


def test_another_users_job_is_404(queued_client):
    r = queued_client.get(url(), headers=bearer(queued_client, "prod-hz"))
    status_url = r.json()["status_url"]
    other = queued_client.get(status_url, headers=bearer(queued_client, "prod-cd"))
    assert other.status_code == 404 and other.json()["code"] == "job_not_found"
