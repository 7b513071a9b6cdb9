"""Finance pages: render for finance and auditor (auditor sees no forms), confirm-then-act with
CSRF and a per-render Idempotency-Key, and a browser run: finance-a requests, finance-b approves
and pays."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from backend.funding.summary import FIGURE_LABELS, FIGURES
from tests.conftest import DEMO_PASSWORD, client_login, login_page


def signed_agreement_id(session: Session) -> int:
    from backend.agreements.models import Agreement

    ag = session.exec(
        select(Agreement).where(Agreement.status == "fully_signed").order_by(col(Agreement.id))
    ).first()
    assert ag is not None
    session.commit()
    return ag.id or 0


def login(client: Any, username: str) -> None:
    client.cookies.clear()
    r = client_login(client, username, DEMO_PASSWORD)
    assert r.status_code == 303


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, name
    return m.group(1)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def _fen(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


def _xlsx_sheets(data: bytes) -> dict[str, list[tuple]]:
    """Check ``data`` is a sound XLSX package and return each sheet's rows (values)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None  # every member's CRC checks out
        names = set(zf.namelist())
        assert {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
        } <= names
        parts = {n: ET.fromstring(zf.read(n)) for n in names if n.endswith((".xml", ".rels"))}
        # The package manifest: every listed part exists and every part has a content type.
        types = parts["[Content_Types].xml"]
        overrides = {o.get("PartName", "").lstrip("/") for o in types.iter(_CT + "Override")}
        defaults = {d.get("Extension") for d in types.iter(_CT + "Default")}
        assert overrides <= names
        assert all(n in overrides or n.rsplit(".", 1)[-1] in defaults for n in names), names
        sheet_parts = {
            "xl/" + rel.get("Target", "").lstrip("/").removeprefix("xl/")
            for rel in parts["xl/_rels/workbook.xml.rels"]
            if rel.get("Type", "").endswith("/worksheet")
        }
        assert len(sheet_parts) == 3 and sheet_parts <= names
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def _page_table(html: str, table_id: str) -> list[tuple[str, int, list[int]]]:
    """(label, agreements, figures in 分) of each body row and the 合计 row of a summary table."""
    m = re.search(rf'<table class="table" id="{table_id}">(.*?)</table>', html, re.S)
    assert m, table_id
    rows = re.findall(
        r'<tr data-key="[^"]*"><th scope="row">([^<]*)</th><td class="num">(\d+)</td>(.*?)</tr>',
        m.group(1),
        re.S,
    )
    return [
        (unescape(label), int(n), [int(v) for v in re.findall(r'data-fen="(-?\d+)"', cells)])
        for label, n, cells in rows
    ]


def test_finance_summary_page_shows_units_charts_and_table(client: Any) -> None:
    login(client, "finance-a")
    r = client.get("/finance")
    assert r.status_code == 200
    assert "浙江省广播电视局" in r.text and r.text.count("<svg") == 2 and "<desc" in r.text
    assert 'id="by-unit"' in r.text and 'id="monthly"' in r.text
    x = client.get("/finance/export.xlsx")
    assert x.status_code == 200, x.text
    assert x.headers["content-type"] == XLSX
    assert "filename*=UTF-8''" + quote("资金汇总-", safe="") in x.headers["content-disposition"]
    sheets = _xlsx_sheets(x.content)
    assert list(sheets) == ["按推荐单位", "按批次", "拨付台账"]
    # The workbook holds the very figures the page shows, row by row, 合计 included.
    page_paid = set()
    for table, sheet in (("by-unit", "按推荐单位"), ("by-batch", "按批次")):
        shown = _page_table(r.text, table)
        page_paid.add(shown[-1][2][FIGURES.index("paid_fen")])
        assert len(shown) >= 2 and shown[-1][0] == "合计"  # some rows, then the total
        header, *rows = sheets[sheet]
        assert header[2:] == tuple(FIGURE_LABELS[f] for f in FIGURES)
        assert [(row[0], row[1], [_fen(v) for v in row[2:]]) for row in rows] == shown
    ledger_header, *ledger, ledger_total = sheets["拨付台账"]
    assert ledger and ledger_total[0] == "合计"
    paid = ledger_header.index("已拨付变动")
    assert len(page_paid) == 1  # both tables add up to the same amount paid
    assert sum(_fen(row[paid]) for row in ledger) == _fen(ledger_total[paid]) == page_paid.pop()
    assert (
        client.get("/finance/charts/monthly.svg")
        .headers["content-type"]
        .startswith("image/svg+xml")
    )


def test_timeline_has_forms_for_finance_and_none_for_the_auditor(
    client: Any, session: Session
) -> None:
    ag_id = signed_agreement_id(session)
    login(client, "finance-a")
    page = client.get(f"/finance/agreements/{ag_id}").text
    assert f'action="/finance/agreements/{ag_id}/confirm/request"' in page
    assert 'name="idempotency_key"' in page and 'name="csrf_token"' in page
    assert "evidence.zip" in page and "中期检查" in page
    login(client, "auditor")
    audit = client.get(f"/finance/agreements/{ag_id}")
    assert audit.status_code == 200 and '<form method="post" action="/finance' not in audit.text
    trail = client.get(f"/audit/money-trail/{ag_id}")
    assert (
        trail.status_code == 200
        and "冲销" in trail.text
        and '<form method="post" action="/finance' not in trail.text
    )
    assert client.get(f"/audit/money-trail/{ag_id}/trail.jsonl").status_code == 200
    assert (
        client.post(
            f"/finance/agreements/{ag_id}/confirm/request",
            data={"csrf_token": hidden(audit.text, "csrf_token")},
        ).status_code
        == 403
    )
    login(client, "prod-hz")
    assert client.get("/finance").status_code == 403


def test_confirm_then_act_once_per_key(client: Any, session: Session) -> None:
    ag_id = signed_agreement_id(session)
    login(client, "finance-a")
    page = client.get(f"/finance/agreements/{ag_id}").text
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": re.findall(r'name="idempotency_key" value="([^"]*)"', page)[-1],
        "milestone_id": re.search(r'<option value="(\d+)">尾款', page).group(1),  # type: ignore[union-attr]
        "amount_yuan": "1,000.00",
        "planned_on": "",
        "note": "页面测试",
    }
    confirm = client.post(f"/finance/agreements/{ag_id}/confirm/request", data=form)
    assert confirm.status_code == 200 and "不可撤销" in confirm.text
    assert (
        client.get(f"/api/v1/disbursements?agreement_id={ag_id}").json()[-1]["note"] != "页面测试"
    )
    for _ in range(2):  # a double submit acts once
        done = client.post(
            f"/finance/agreements/{ag_id}/actions/request", data=form, follow_redirects=False
        )
        assert done.status_code == 303
    rows = [
        d
        for d in client.get(f"/api/v1/disbursements?agreement_id={ag_id}").json()
        if d["note"] == "页面测试"
    ]
    assert len(rows) == 1 and rows[0]["amount_fen"] == 100_000
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert (
        client.post(f"/finance/agreements/{ag_id}/actions/request", data=no_csrf).status_code == 403
    )


def settled(p: Any) -> None:
    """Wait for the redirect back to the timeline; fail with the page's own error message."""
    p.wait_for_url(re.compile(r"[?&](msg|error)="))
    assert "error=" not in p.url, p.locator(".alert").inner_text()


def test_browser_finance_a_requests_finance_b_approves_and_pays(
    page: Any, browser: Any, live_server: str, session: Session
) -> None:
    ag_id = signed_agreement_id(session)
    login_page(page, "finance-a")
    page.goto(f"/finance/agreements/{ag_id}")
    page.locator("#milestone").select_option(index=0)
    page.get_by_label("金额（元）").fill("2000")
    page.get_by_label("说明").fill("浏览器测试拨付")
    page.get_by_role("button", name="申请拨付…").click()
    page.get_by_role("button", name="确认申请拨付").click()
    settled(page)
    row = page.locator("#disbursements tr", has_text="浏览器测试拨付")
    assert row.locator("[data-state]").inner_text() == "待审批"
    d_id = row.get_attribute("id").split("-")[1]  # type: ignore[union-attr]
    assert "须由另一名财务人员审批" in row.inner_text()

    context = browser.new_context(base_url=live_server, locale="zh-CN")
    b = context.new_page()
    b.set_default_timeout(15000)
    login_page(b, "finance-b")
    b.goto(f"/finance/agreements/{ag_id}")
    b.locator(f"#disbursement-{d_id}").get_by_role("button", name="审批通过…").click()
    b.get_by_role("button", name="确认审批通过").click()
    settled(b)
    mine = b.locator(f"#disbursement-{d_id}")
    assert mine.locator("[data-state]").inner_text() == "已审批待拨付"
    mine.get_by_label("凭证号").fill("JP-PZ-E2E-1")
    mine.get_by_label("银行流水号").fill("ICBC-E2E-1")
    mine.get_by_role("button", name="登记拨付…").click()
    assert "¥2,000.00" in b.locator("#confirm-facts").inner_text()
    b.get_by_role("button", name="确认登记拨付").click()
    settled(b)
    assert b.locator(f"#disbursement-{d_id} [data-state]").inner_text() == "已拨付"
    assert "JP-PZ-E2E-1" in b.locator(f"#disbursement-{d_id}").inner_text()
    context.close()
