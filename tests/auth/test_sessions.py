"""Login CSRF, the idle timeout beside the absolute one, a new session on every login and on a
change of role, and demo accounts refused in production."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.auth.deps import SESSION_COOKIE
from backend.auth.models import AuthToken, Role, TokenKind, User
from backend.auth.service import create_user
from backend.cli import app as cli
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.orgs.models import Organisation
from tests.conftest import DEMO_PASSWORD, client_login


def test_a_login_post_without_the_login_pages_token_signs_nobody_in(client: Any) -> None:
    # What a cross-site form would send: right credentials (the attacker's), no token.
    r = client.post(
        "/login",
        data={"username": "prod-hz", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert SESSION_COOKIE not in r.cookies
    client.cookies.set("jingpin_login_csrf", "forged")
    r = client.post(
        "/login",
        data={"username": "prod-hz", "password": DEMO_PASSWORD, "csrf_token": "other"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    assert client.get("/api/v1/auth/me").status_code == 401  # still signed out
    client.cookies.clear()
    ok = client_login(client, "prod-hz")
    assert ok.status_code == 303 and ok.headers["location"] == "/home"


def _session_row(session: Session, username: str) -> AuthToken:
    user = session.exec(select(User).where(User.username == username)).one()
    return session.exec(
        select(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.kind == TokenKind.session)
        .order_by(AuthToken.id.desc())  # type: ignore[union-attr]
    ).first()  # type: ignore[return-value]


def test_a_session_unused_for_the_idle_time_ends(client: Any, session: Session) -> None:
    assert client_login(client, "prod-hz").status_code == 303
    assert client.get("/home").status_code == 200
    row = _session_row(session, "prod-hz")
    idle = get_settings().session_idle_minutes
    assert idle == 30
    row.last_used_at = utcnow() - timedelta(minutes=idle, seconds=5)
    session.add(row)
    session.commit()
    assert row.expires_at > utcnow()  # the absolute limit is hours away
    r = client.get("/home", follow_redirects=False, headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "session_idle"


def test_using_a_session_keeps_it_alive(client: Any, session: Session) -> None:
    assert client_login(client, "prod-hz").status_code == 303
    row = _session_row(session, "prod-hz")
    row.last_used_at = utcnow() - timedelta(minutes=29)
    session.add(row)
    session.commit()
    assert client.get("/home").status_code == 200
    session.refresh(row)
    assert row.last_used_at is not None and utcnow() - row.last_used_at < timedelta(minutes=1)


def test_logging_in_again_ends_the_session_the_browser_carried(client: Any) -> None:
    assert client_login(client, "prod-hz").status_code == 303
    planted = client.cookies.get(SESSION_COOKIE)
    assert client_login(client, "prod-hz").status_code == 303
    fresh = client.cookies.get(SESSION_COOKIE)
    assert fresh and fresh != planted
    client.cookies.set(SESSION_COOKIE, planted)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_change_of_role_ends_every_session_and_token(
    client: Any, token_for: Any, session: Session
) -> None:
    headers = token_for("prod-cd")
    assert client_login(client, "prod-cd").status_code == 303
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "producer"
    result = CliRunner().invoke(cli, ["user", "set-role", "prod-cd", "--role", "auditor"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401  # the page session too
    fresh = client.post(
        "/api/v1/auth/token", data={"username": "prod-cd", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.json()["role"] == "auditor"


def test_demo_accounts_are_refused_at_login_in_production(
    client: Any, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = session.exec(select(Organisation)).first()
    assert org is not None
    create_user(
        session,
        username="real-officer",
        display_name="真实用户",
        password=DEMO_PASSWORD,  # someone reused the published demo password
        role=Role.ministry_officer,
        organisation=org,
    )
    session.commit()
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": "ministry", "password": DEMO_PASSWORD}
        ).status_code
        == 200
    )  # dev: fine
    monkeypatch.setenv("JINGPIN_ENV", "production")
    get_settings.cache_clear()
    for username in ("ministry", "real-officer"):
        r = client.post(
            "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 401 and r.json()["code"] == "demo_account_refused", username
    # Production cookies are Secure: the page is used over https.
    form = client_login(client, "admin", base="https://testserver")
    assert form.status_code == 401 and "演示账号" in form.text
    assert SESSION_COOKIE not in form.cookies
