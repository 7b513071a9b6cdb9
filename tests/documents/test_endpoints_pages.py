"""Download links on the pages: the work detail page and the unit's 推进表 page."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from backend.funding.filing_pages import filing_periods
from backend.works.models import Work

TITLE = "西湖边的修伞人"


def test_work_detail_page_links_both_documents_in_docx_and_pdf(client, token_for, session):
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    html = client.get(f"/works/{work.id}", headers=token_for("prod-hz")).text
    for name in ("application", "copyright-pledge"):
        for fmt in ("docx", "pdf"):
            assert f'href="/works/{work.id}/prefilled/{name}.{fmt}"' in html
    assert "申请书（PDF）" in html and "版权承诺书（Word）" in html


def test_a_download_the_work_cannot_fill_comes_back_to_the_page_naming_the_field(
    client, token_for, session
):
    """Before: the button led to a JSON 422 that Chromium drops without a word."""
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    work.schedule = ""
    session.add(work)
    session.commit()
    headers = token_for("prod-hz")
    r = client.get(
        f"/works/{work.id}/prefilled/application.docx", headers=headers, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/works/{work.id}?error=")
    page = client.get(r.headers["location"], headers=headers).text
    assert 'id="download-error"' in page and "创作计划及进度安排未填写" in page


def test_a_complete_work_downloads_through_the_page_link(client, token_for, session):
    work = session.exec(select(Work).where(Work.title == TITLE)).one()
    r = client.get(
        f"/works/{work.id}/prefilled/copyright-pledge.docx", headers=token_for("prod-hz")
    )
    assert r.status_code == 200 and r.content.startswith(b"PK")
    stranger = client.get(
        f"/works/{work.id}/prefilled/copyright-pledge.docx", headers=token_for("prod-cd")
    )
    assert stranger.status_code == 404


def test_unit_reviewer_home_links_the_progress_table_page(client, token_for):
    html = client.get("/home", headers=token_for("unit-zj")).text
    assert 'href="/progress-tables"' in html


def test_progress_page_lists_half_months_since_june_with_three_formats(client, token_for):
    r = client.get("/progress-tables", headers=token_for("unit-zj"))
    assert r.status_code == 200
    html = r.text
    assert "浙江省广播电视局" in html
    assert "2026年6月上半月" in html
    for fmt in ("docx", "xlsx", "pdf"):
        assert f'href="/api/v1/units/zj/progress-tables/2026-06-H1.{fmt}"' in html
    assert "/api/v1/units/zj/progress-tables/2026-05-H2" not in html


def test_unit_reviewer_cannot_switch_to_another_unit(client, token_for):
    html = client.get("/progress-tables?unit=sc", headers=token_for("unit-zj")).text
    assert "/api/v1/units/zj/progress-tables/" in html
    assert "/api/v1/units/sc/progress-tables/" not in html


def test_ministry_chooses_the_unit(client, token_for):
    html = client.get("/progress-tables?unit=sc", headers=token_for("ministry")).text
    assert "/api/v1/units/sc/progress-tables/2026-06-H1.pdf" in html
    assert '<option value="sc" selected>' in html


def test_producer_gets_403_on_the_progress_page(client, token_for):
    assert client.get("/progress-tables", headers=token_for("prod-hz")).status_code == 403


def test_filing_periods_run_from_june_to_the_current_half_month_newest_first():
    codes = [p.code for p in filing_periods(date(2026, 7, 20))]
    assert codes == ["2026-07-H2", "2026-07-H1", "2026-06-H2", "2026-06-H1"]
    assert [p.code for p in filing_periods(date(2026, 6, 15))] == ["2026-06-H1"]
    assert [p.code for p in filing_periods(date(2027, 3, 1))] == ["2027-06-H2", "2027-06-H1"]
    assert filing_periods(date(2026, 12, 31))[0].code == "2026-12-H2"
    assert len(filing_periods(date(2026, 12, 31))) == 14
