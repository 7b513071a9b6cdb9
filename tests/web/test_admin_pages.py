"""Administration on the pages (issue 15.6): the admin creates a user (one-time password shown
once), changes role and organisation, disables and re-enables, resets the password; everyone
changes their own password. Every change is audit-logged; nobody but the admin gets in."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from tests.conftest import DEMO_PASSWORD, client_login
from tests.web.helpers import csrf, login


def _login_status(client: Any, username: str, password: str) -> int:
    client.cookies.clear()
    r = client_login(client, username, password)  # through the login page (login-CSRF)
    return int(r.status_code)


def _actions(session: Session, user_id: int) -> list[str]:
    from backend.audit_log.models import AuditEvent

    session.commit()
    rows = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))
        .order_by(col(AuditEvent.seq))
    ).all()
    return [e.action for e in rows if e.action.startswith("user.")]


def test_admin_creates_disables_enables_and_resets_a_user(client: Any, session: Session) -> None:
    from backend.auth.models import User
    from backend.orgs.models import Organisation, OrgKind

    org = session.exec(select(Organisation).where(Organisation.kind == OrgKind.ministry)).one()
    login(client, "admin")
    token = csrf(client, "/admin/users")
    bad = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "",
            "display_name": "王五",
            "role": "finance",
            "organisation_id": str(org.id),
        },
    )
    assert bad.status_code == 422 and 'id="u-username-err"' in bad.text
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "finance-new",
            "display_name": "王五",
            "role": "finance",
            "organisation_id": str(org.id),
        },
    )
    assert r.status_code == 200 and 'id="one-time-password"' in r.text
    password = re.search(r"<code>([^<]+)</code>", r.text).group(1)  # type: ignore[union-attr]
    session.commit()
    new = session.exec(select(User).where(User.username == "finance-new")).one()
    assert password not in str(_actions(session, new.id or 0))
    assert _login_status(client, "finance-new", password) == 303

    login(client, "admin")
    token = csrf(client, "/admin/users")
    off = client.post(
        f"/admin/users/{new.id}/active",
        data={"csrf_token": token, "active": "0", "reason": "调离岗位"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert _login_status(client, "finance-new", password) != 303
    login(client, "admin")
    token = csrf(client, "/admin/users")
    client.post(
        f"/admin/users/{new.id}/active", data={"csrf_token": token, "active": "1", "reason": "返岗"}
    )
    first = client.post(f"/admin/users/{new.id}/reset-password", data={"csrf_token": token})
    assert "确认重置密码" in first.text
    reset = client.post(
        f"/admin/users/{new.id}/reset-password", data={"csrf_token": token, "confirmed": "1"}
    )
    fresh = re.search(r"<code>([^<]+)</code>", reset.text).group(1)  # type: ignore[union-attr]
    assert fresh != password
    assert _login_status(client, "finance-new", password) != 303
    assert _login_status(client, "finance-new", fresh) == 303
    assert _actions(session, new.id or 0) == [
        "user.create",
        "user.disable",
        "user.enable",
        "user.password_reset",
    ]


def test_only_the_admin_reaches_user_administration(client: Any) -> None:
    login(client, "ministry")
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post(
            "/admin/users",
            data={
                "csrf_token": csrf(client),
                "username": "x",
                "display_name": "x",
                "role": "admin",
                "organisation_id": "1",
            },
        ).status_code
        == 403
    )


def test_everyone_changes_their_own_password(client: Any, session: Session) -> None:
    login(client, "prod-hz")
    assert "修改密码" in client.get("/home").text
    token = csrf(client, "/account/password")
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": "nope",
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-123",
        },
    )
    assert wrong.status_code == 422 and 'id="old_password-err"' in wrong.text
    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": DEMO_PASSWORD,
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-124",
        },
    )
    assert mismatch.status_code == 422 and 'id="repeat_password-err"' in mismatch.text
    ok = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": DEMO_PASSWORD,
            "new_password": "new-pass-123",
            "repeat_password": "new-pass-123",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert _login_status(client, "prod-hz", DEMO_PASSWORD) != 303
    assert _login_status(client, "prod-hz", "new-pass-123") == 303
