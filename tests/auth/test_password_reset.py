"""忘记密码 without e-mail (issue 15.6): the form answers the same for every name and is limited
like logins; the admin sees the open requests (count in the menu), sets a temporary password
(shown once) or rejects; the user must change the temporary password before anything else.
Every step is audit-logged, no password is."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from backend.auth.models import PasswordResetRequest, ResetRequestStatus, User
from tests.conftest import DEMO_PASSWORD, client_login
from tests.web.helpers import csrf, hidden, login


def _ask(client: Any, username: str, note: str = "电话 0571-88880000，制片部") -> Any:
    client.cookies.clear()
    form = client.get("/forgot-password")
    return client.post(
        "/forgot-password",
        data={"csrf_token": hidden(form.text, "csrf_token"), "username": username, "note": note},
    )


def _requests(session: Session) -> list[PasswordResetRequest]:
    session.commit()
    session.expire_all()
    return list(session.exec(select(PasswordResetRequest).order_by(col(PasswordResetRequest.id))))


def _user(session: Session, username: str) -> User:
    session.commit()
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def _actions(session: Session, user_id: int) -> list[str]:
    from backend.audit_log.models import AuditEvent

    session.commit()
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))
        .order_by(col(AuditEvent.seq))
    ).all()
    return [e.action for e in rows if e.action.startswith(("password_reset.", "user.password"))]


def test_the_login_page_links_to_the_forgotten_password_form(client: Any) -> None:
    assert 'href="/forgot-password"' in client.get("/login").text
    assert "不通过电子邮件" in client.get("/forgot-password").text


def test_existing_and_unknown_usernames_get_the_identical_answer(
    client: Any, session: Session
) -> None:
    known, unknown = _ask(client, "prod-hz"), _ask(client, "no-such-person")
    assert known.status_code == unknown.status_code == 200
    assert 'id="forgot-sent"' in known.text
    assert _without_token(known.text) == _without_token(unknown.text)
    # Only the real account's request is kept; a second one while it is open adds nothing.
    _ask(client, "prod-hz")
    rows = _requests(session)
    assert [(r.user_id, r.status) for r in rows] == [
        (_user(session, "prod-hz").id, ResetRequestStatus.open)
    ]
    assert rows[0].note == "电话 0571-88880000，制片部"


def test_the_form_needs_its_csrf_pair_and_a_username(client: Any, session: Session) -> None:
    client.cookies.clear()
    forged = client.post("/forgot-password", data={"csrf_token": "x", "username": "prod-hz"})
    assert forged.status_code == 403 and "页面已过期" in forged.text
    empty = _ask(client, "")
    assert empty.status_code == 422 and 'id="f-username-err"' in empty.text
    assert _requests(session) == []


def test_requests_are_throttled_like_logins_whether_or_not_the_account_exists(
    client: Any,
) -> None:
    from backend.core.config import get_settings

    limit = get_settings().login_max_failures
    for name in ("prod-cd", "nobody-at-all"):
        answers = [_ask(client, name).status_code for _ in range(limit)]
        assert answers == [200] * limit
        refused = _ask(client, name)
        assert refused.status_code == 429 and "次数过多" in refused.text


def test_admin_sets_a_temporary_password_the_user_must_change_first(
    client: Any, session: Session
) -> None:
    _ask(client, "prod-hz")
    request_id = _requests(session)[0].id
    login(client, "admin")
    home = client.get("/home").text
    assert "忘记密码申请（1）" in home  # the admin's home card counts what waits
    assert re.search(r'忘记密码申请 <span class="badge count"[^>]*>1</span>', home)  # menu badge
    listing = client.get("/admin/reset-requests")
    assert "电话 0571-88880000，制片部" in listing.text
    token = hidden(listing.text, "csrf_token")
    ask = client.post(f"/admin/reset-requests/{request_id}/resolve", data={"csrf_token": token})
    assert "确认设置临时密码" in ask.text and "核实是本人" in ask.text
    assert _user(session, "prod-hz").must_change_password is False
    done = client.post(
        f"/admin/reset-requests/{request_id}/resolve",
        data={"csrf_token": token, "confirmed": "1"},
    )
    temporary = re.search(r"<code>([^<]+)</code>", done.text).group(1)  # type: ignore[union-attr]
    after = client.get("/admin/reset-requests").text
    assert not re.search(r'忘记密码申请 <span class="badge count"', after)
    user = _user(session, "prod-hz")
    assert user.must_change_password is True
    assert temporary not in str(_actions(session, user.id or 0))

    client.cookies.clear()
    assert client_login(client, "prod-hz", DEMO_PASSWORD).status_code != 303
    assert client_login(client, "prod-hz", temporary).status_code == 303
    # Before anything else: every page leads to 修改密码, the API refuses.
    for url in ("/home", "/works", "/admin/users"):
        r = client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", url
    assert client.get("/api/v1/works").json()["code"] == "password_change_required"
    page = client.get("/account/password")
    assert page.status_code == 200 and 'id="temporary-password"' in page.text
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "old_password": temporary,
            "new_password": "my-own-pass-1",
            "repeat_password": "my-own-pass-1",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/home").status_code == 200
    assert _user(session, "prod-hz").must_change_password is False
    assert _actions(session, user.id or 0) == [
        "password_reset.request",
        "password_reset.resolve",
        "user.password_change",
    ]
    assert _requests(session)[0].status == ResetRequestStatus.resolved


def test_admin_rejects_a_request_with_a_reason(client: Any, session: Session) -> None:
    _ask(client, "prod-cd")
    request_id = _requests(session)[0].id
    login(client, "admin")
    token = csrf(client, "/admin/reset-requests")
    url = f"/admin/reset-requests/{request_id}/reject"
    blank = client.post(url, data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 422 and f'id="reject-{request_id}-reason-err"' in blank.text
    client.post(url, data={"csrf_token": token, "reason": "电话核实不是本人"})
    row = _requests(session)[0]
    assert row.status == ResetRequestStatus.rejected
    assert row.rejection_reason == "电话核实不是本人"
    assert "电话核实不是本人" in client.get("/admin/reset-requests").text
    # A handled request cannot be resolved afterwards.
    late = client.post(
        f"/admin/reset-requests/{request_id}/resolve",
        data={"csrf_token": token, "confirmed": "1"},
        follow_redirects=False,
    )
    assert late.status_code == 303 and "error=" in late.headers["location"]
    assert _user(session, "prod-cd").must_change_password is False
    assert _actions(session, row.user_id) == ["password_reset.request", "password_reset.reject"]


def test_only_the_admin_handles_requests_404_for_a_request(client: Any, session: Session) -> None:
    _ask(client, "prod-hz")
    request_id = _requests(session)[0].id
    login(client, "ministry")
    token = csrf(client)
    assert client.get("/admin/reset-requests").status_code == 403
    r = client.post(
        f"/admin/reset-requests/{request_id}/resolve", data={"csrf_token": token, "confirmed": "1"}
    )
    assert r.status_code == 404
    assert _requests(session)[0].status == ResetRequestStatus.open
