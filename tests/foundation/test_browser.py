"""Through the real browser: a producer logs in, creates a work and sees it listed."""

from __future__ import annotations

import pytest

from tests.conftest import login_page

pytestmark = pytest.mark.browser


def test_producer_logs_in_creates_a_work_and_sees_it_listed(page):
    login_page(page, "prod-hz")
    assert page.get_by_role("heading", name="我的作品").is_visible()
    page.goto("/works/new")
    page.get_by_label("作品名称").fill("钱塘潮声")
    page.get_by_label("“五个一批”创作方向").select_option("new_era")
    page.get_by_label("题材类型").fill("现实题材")
    page.get_by_label("集数").fill("24")
    page.get_by_label("单集时长（分钟）").fill("3")
    page.get_by_label("内容简介").fill("钱塘江畔三代弄潮儿的奋斗故事。")
    page.get_by_label("导演").fill("钱导")
    page.get_by_label("编剧").fill("孙编")
    page.get_by_label("制片人").fill("李制片")
    page.get_by_label("预算总额（元）").fill("800000")
    page.get_by_label("申请扶持金额（元）").fill("300000.50")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/works/*?created=1")
    assert page.get_by_role("heading", name="钱塘潮声").is_visible()
    assert page.get_by_text("¥300,000.50").is_visible()
    page.goto("/works")
    row = page.get_by_role("row").filter(has_text="钱塘潮声")
    assert row.count() == 1
    assert "草稿" in row.inner_text()


def test_form_errors_are_shown_next_to_the_field(page):
    login_page(page, "prod-hz")
    page.goto("/works/new")
    page.get_by_label("作品名称").fill("缺字段的作品")
    page.get_by_label("预算总额（元）").fill("-3")
    page.get_by_role("button", name="保存").click()
    assert page.locator("#budget_fen-error").inner_text() == "金额不能为负数"


def test_each_demo_role_sees_its_own_home_page(page):
    expected = {
        "prod-hz": "我的作品",
        "unit-zj": "初评与推荐",
        "ministry": "评审与入选",
        "expert1": "评审任务",
        "finance-a": "资金拨付",
        "auditor": "审计",
        "admin": "系统管理",
    }
    for username, heading in expected.items():
        login_page(page, username)
        assert page.get_by_role("heading", name=heading).first.is_visible(), username
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url("**/login")


def test_an_error_page_for_a_signed_in_user_shows_the_message_and_who_is_signed_in(page):
    login_page(page, "prod-cd")
    response = page.goto("/works/999999")
    assert response.status == 404
    assert page.get_by_role("alert").inner_text() == "未找到该作品"
    assert page.get_by_text("赵蓉（节目制作机构）").is_visible()
