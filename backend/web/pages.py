"""The web shell: login, logout, the home page, and what every page shares (labels, the menu).

Domain pages live in each domain's ``pages`` module and render through backend.core.pages."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.audit_log.service import record
from backend.auth.deps import (
    SESSION_COOKIE,
    CurrentAuth,
    PageUser,
    SessionDep,
    client_address,
)
from backend.auth.models import ROLE_LABELS, TokenKind
from backend.auth.service import (
    authenticate,
    issue_token,
    revoke_presented_session,
    revoke_token,
)
from backend.core.config import get_settings
from backend.core.errors import JingpinError
from backend.core.pages import add_context_provider, render, templates
from backend.orgs.models import Organisation
from backend.web import admin_pages, nav
from backend.works.models import DIRECTION_LABELS

templates.env.globals.update(role_labels=ROLE_LABELS, direction_labels=DIRECTION_LABELS)
add_context_provider(nav.menu_context)
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index() -> Response:
    return RedirectResponse("/home", status_code=303)


LOGIN_CSRF_COOKIE = "jingpin_login_csrf"


def _login_page(
    request: Request, *, status_code: int = 200, error: str | None, next: str, username: str
) -> Response:
    """The login form with a fresh login-CSRF token, in the form and in a cookie only this
    site can set: a login POST from another site has no matching pair (login CSRF would sign
    the victim in to the attacker's account)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        error=error,
        next=_safe_next(next),
        username=username,
        login_csrf=token,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=_secure_cookies(),
        max_age=3600,
    )
    return response


def _secure_cookies() -> bool:
    settings = get_settings()
    return settings.base_url.startswith("https") or settings.is_production


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/home") -> Response:
    return _login_page(request, error=None, next=next, username="")


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/home"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=50)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=300)] = "/home",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(
            request,
            status_code=403,
            error="登录页面已过期或来源不明，请重新输入用户名和密码",
            next=next,
            username="",
        )
    try:
        user = authenticate(session, username, password, client_address(request))
    except JingpinError as exc:
        return _login_page(
            request, status_code=exc.status_code, error=exc.message, next=next, username=username
        )
    # A new session on every login; the one the browser carried (if any) ends.
    revoke_presented_session(session, request.cookies.get(SESSION_COOKIE))
    token, _row = issue_token(session, user, TokenKind.session)
    record(session, actor=user, action="auth.login", object_type="user", object_id=user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=_secure_cookies(),
        max_age=get_settings().session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(auth: CurrentAuth, session: SessionDep) -> Response:
    user, row = auth
    revoke_token(session, row)
    record(session, actor=user, action="auth.logout", object_type="user", object_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/home", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: PageUser) -> Response:
    org = session.get(Organisation, user.organisation_id)
    return render(request, "home.html", org=org, sections=nav.home_sections(session, user))


# Administration and 修改密码 (backend.web.admin_pages) share this router.
router.include_router(admin_pages.router)
