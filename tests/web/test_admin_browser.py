"""The admin's job in Debian's Chromium, through the pages only (issue 15.6), at 1440 px and at
390 px (a phone): create a user (one-time password shown once), issue a seal certificate for an
organisation and revoke it with a reason after the confirmation page. Screenshots of each step
go to tests/artifacts/admin/<width>/; axe-core (tools/axe) finds no serious or critical
violation on the new pages (organisations, organisation, confirmation, reset requests, 忘记密码)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session

from tests.conftest import login_page
from tests.web.test_browser_a11y import ARTIFACTS, AXE, WIDTHS, _axe

OUT = ARTIFACTS.parent / "admin"


def _org(session: Session, name: str) -> int:
    from backend.orgs.models import Organisation, OrgKind

    org = Organisation(kind=OrgKind.producer, name=name)
    session.add(org)
    session.commit()
    assert org.id is not None
    return org.id


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_admin_creates_a_user_then_issues_and_revokes_a_seal_in_the_browser(
    browser: Any, live_server: str, session: Session, width: str
) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/bootstrap.sh")
    w, h = WIDTHS[width]
    out = OUT / width
    out.mkdir(parents=True, exist_ok=True)
    org_name = f"浏览器测试影业有限公司{width}"
    org_id = _org(session, org_name)
    context = browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        viewport={"width": w, "height": h},
        bypass_csp=True,  # only to inject axe; the pages themselves run under the CSP
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    problems: dict[str, Any] = {}

    def shot(name: str, check: bool = True) -> None:
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= w, name
        if check and (serious := _axe(page)):
            problems[name] = [
                {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]}
                for v in serious
            ]

    page.goto("/forgot-password")
    shot("01-forgot-password")
    login_page(page, "admin")

    # 新建用户
    page.goto("/admin/users")
    form = page.locator("#new-user")
    form.get_by_label("用户名").fill(f"finance-{width}")
    form.get_by_label("姓名").fill("赵六")
    form.get_by_label("角色").select_option("finance")
    form.get_by_role("button", name="新建用户").click()
    password = page.locator("#one-time-password code").inner_text()
    assert len(password) >= 8
    shot("02-user-created")

    # 签发
    page.goto("/admin/organisations")
    shot("03-organisations")
    page.get_by_role("link", name=org_name).click()
    page.wait_for_url(f"**/admin/organisations/{org_id}")
    assert "未签发" in page.locator("#cert-ecdsa").inner_text()
    shot("04-organisation")
    page.locator("#cert-ecdsa").get_by_role("button", name="签发…").click()
    assert page.get_by_role("heading", name="确认签发印章证书").is_visible()
    shot("05-issue-confirm")
    page.get_by_role("button", name="确认签发").click()
    page.wait_for_url(f"**/admin/organisations/{org_id}?msg=*")
    assert "有效" in page.locator("#cert-ecdsa h3").inner_text()

    # 吊销 with a reason, after the page that says what happens
    page.locator("#cert-ecdsa summary", has_text="吊销当前证书").click()
    page.get_by_label("吊销原因").select_option(label="机构注销或停止使用该印章")
    page.locator("#cert-ecdsa").get_by_role("button", name="吊销…").click()
    facts = page.locator("#confirm-facts").inner_text()
    assert "机构注销或停止使用该印章" in facts and org_name in facts
    assert page.get_by_text("吊销后该印章不能再签署；已签署的文件仍可验证").is_visible()
    shot("06-revoke-confirm")
    page.get_by_role("button", name="确认吊销").click()
    page.wait_for_url(f"**/admin/organisations/{org_id}?msg=*")
    block = page.locator("#cert-ecdsa").inner_text()
    assert "已吊销" in block and "机构注销或停止使用该印章" in block
    shot("07-revoked")

    page.goto("/admin/reset-requests")
    shot("08-reset-requests")
    context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
