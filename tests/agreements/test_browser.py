"""Three people sign in the browser, in order 乙 → 丙 → 甲."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.agreements.conftest import fresh_work
from tests.conftest import DEMO_PASSWORD, login_page


def test_three_logins_sign_in_browser(pool: Any, page: Any, session: Session) -> None:
    from sqlmodel import select

    from backend.agreements import service
    from backend.auth.models import User

    wid = fresh_work(session)
    ministry = session.exec(select(User).where(User.username == "ministry")).one()
    ag = service.create_agreement(session, ministry, wid)
    session.commit()
    for username, expected in (
        ("prod-hz", "签署中"),
        ("unit-zj", "签署中"),
        ("ministry", "三方签署完成"),
    ):
        page.context.clear_cookies()
        login_page(page, username)
        page.goto("/home")
        session.rollback()  # a fresh snapshot: the server signed in between
        me = session.exec(select(User).where(User.username == username)).one()
        waiting = len(service.awaiting(session, me))  # the demo leaves one waiting per party too
        assert page.get_by_text(f"待我签署（{waiting}）").count() >= 1
        page.goto(f"/agreements/{ag.id}")
        page.get_by_label("请再次输入登录密码以确认").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="确认签署").click()
        page.wait_for_url(f"**/agreements/{ag.id}?msg=*")
        assert page.locator("#agreement-status").inner_text() == expected
