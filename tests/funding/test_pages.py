"""Finance pages: render for finance and auditor (auditor sees no forms), confirm-then-act with
CSRF and a per-render Idempotency-Key, and a browser run: finance-a requests, finance-b approves
and pays."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from tests.conftest import DEMO_PASSWORD, login_page


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
    r = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, name
    return m.group(1)


def test_finance_summary_page_shows_units_charts_and_table(client: Any) -> None:
    login(client, "finance-a")
    r = client.get("/finance")
    assert r.status_code == 200
    assert "浙江省广播电视局" in r.text and r.text.count("<svg") == 2 and "<desc" in r.text
    assert 'id="by-unit"' in r.text and 'id="monthly"' in r.text
    x = client.get("/finance/export.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
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
