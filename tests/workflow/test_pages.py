"""The workflow pages: every role's desk renders with the demo data; the public notice needs no
login; and, in the real browser, a producer submits and the unit recommends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from backend.works.models import Batch, Work
from tests.conftest import login_page


def _html(client: Any, token_for: Any, user: str, url: str) -> Any:
    return client.get(url, headers={**token_for(user), "accept": "text/html"})


def test_each_roles_workflow_page_renders_with_demo_data(client, token_for, session):
    b1 = session.exec(select(Batch).where(Batch.year == 2026, Batch.number == 1)).one()
    b3 = session.exec(select(Batch).where(Batch.year == 2026, Batch.number == 3)).one()
    returned = session.exec(select(Work).where(Work.title == "川江号子")).one()
    panda = session.exec(select(Work).where(Work.title == "熊猫巡护员")).one()
    checks = [
        ("prod-hz", "/applications", "我的申报"),
        ("prod-cd", f"/works/{returned.id}/application", "请补充制作计划"),
        ("prod-cd", f"/works/{panda.id}/application", "不再发放扶持资金"),
        ("prod-cd", f"/works/{returned.id}/application/versions/1", "第 1 版申报快照"),
        ("unit-zj", f"/reviews/unit?batch_id={b3.id}", "待初评"),
        ("ministry", f"/reviews/ministry?batch_id={b3.id}", "分配复评专家"),
        ("ministry", f"/reviews/ministry?batch_id={b1.id}", "确认入选名单"),
        ("expert2", "/reviews/expert", "提交评分"),
        ("admin", "/batches", "批准推荐名额例外"),
        ("admin", f"/batches/{b1.id}/edit", "修改批次"),
        ("unit-zj", "/notifications", "站内通知"),
        ("unit-zj", "/home", "初评队列"),
    ]
    for user, url, text in checks:
        r = _html(client, token_for, user, url)
        assert r.status_code == 200 and text in r.text, (user, url, r.status_code)
    assert (
        _html(client, token_for, "prod-hz", f"/reviews/ministry?batch_id={b1.id}").status_code
        == 403
    )
    public = client.get(f"/public/notices/{b1.id}", headers={"accept": "text/html"})
    assert (
        public.status_code == 200
        and "西湖边的修伞人" in public.text
        and "退出登录" not in public.text
    )
    assert (
        client.get(f"/public/notices/{b3.id}", headers={"accept": "text/html"}).status_code == 404
    )


@pytest.mark.browser
def test_producer_submits_and_the_unit_recommends_in_the_browser(page, env, tmp_path, pdf):
    from backend.auth.models import User
    from backend.core.db import get_engine
    from backend.workflow.batches import create_batch
    from backend.workflow.schemas import BatchIn
    from backend.works.schemas import WorkCreate
    from backend.works.service import create_work
    from tests.workflow.conftest import WORK

    with Session(get_engine()) as s:
        admin = s.exec(select(User).where(User.username == "admin")).one()
        batch = create_batch(
            s,
            admin,
            BatchIn(
                year=2027,
                number=1,
                registration_deadline="2027-06-05",
                submission_deadline="2027-06-15",
            ).model_dump(),
        )
        producer = s.exec(select(User).where(User.username == "prod-hz")).one()
        work = create_work(
            s, producer, WorkCreate(**{**WORK, "title": "浏览器里的申报"}, batch_id=batch.id)
        )
        s.commit()
        work_id, batch_id = work.id, batch.id
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf)
    not_pdf = tmp_path / "note.pdf"
    not_pdf.write_text("not a pdf")

    login_page(page, "prod-hz")
    page.goto("/applications")
    page.get_by_role("link", name="浏览器里的申报").click()
    page.get_by_label("上传扶持项目申请书扫描件（PDF）").set_input_files(str(not_pdf))
    with page.expect_navigation():
        page.get_by_role("button", name="上传", exact=True).first.click()
    assert "文件不是 PDF" in page.get_by_role("alert").first.inner_text()
    for label in ("上传扶持项目申请书扫描件（PDF）", "上传版权承诺书扫描件（PDF）"):
        page.get_by_label(label).set_input_files(str(scan))
        with page.expect_navigation():
            page.locator("form", has=page.get_by_label(label)).get_by_role(
                "button", name="上传", exact=True
            ).click()
    assert "资格审查通过" in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="提交至浙江省广播电视局…").click()
    assert "提交后申报内容冻结" in page.get_by_role("alert").inner_text()  # confirmation first
    page.get_by_role("button", name="确认提交至浙江省广播电视局").click()
    page.wait_for_url(f"**/works/{work_id}/application?msg=*")
    assert "已提交推荐单位" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="退出登录").click()

    login_page(page, "unit-zj")
    page.goto(f"/reviews/unit?batch_id={batch_id}")
    page.get_by_role("link", name="浏览器里的申报").click()
    page.get_by_label("初评通过").check()
    page.get_by_label("初评意见").fill("符合申报条件")
    with page.expect_navigation():
        page.get_by_role("button", name="保存初评结论…").click()
    assert "初评通过" in page.locator("#confirm-facts").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="确认初评结论").click()
    page.get_by_label("推荐意见").fill("同意推荐")
    with page.expect_navigation():
        page.get_by_role("button", name="推荐至总局…").click()
    assert "推荐后已用 1 部" in page.locator("#confirm-facts").inner_text()
    page.get_by_role("button", name="确认推荐至总局").click()
    page.wait_for_url(f"**/works/{work_id}/application?msg=*")
    assert "已推荐" in page.locator(".status").first.inner_text()
    page.goto(f"/reviews/unit?batch_id={batch_id}")
    assert page.locator("#quota-used").inner_text() == "1"
