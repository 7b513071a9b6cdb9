"""FastAPI dependencies: one database session per request (one commit point), the current
user from a bearer token or the session cookie, CSRF for cookie-authenticated writes, roles."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.models import AuthToken, TokenKind, User
from backend.auth.service import needs_touch, resolve_token, touch_session
from backend.core.db import get_engine, utcnow, writer
from backend.core.errors import JingpinError, NotAuthenticated, PasswordChangeRequired

SESSION_COOKIE = "jingpin_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# All a user with a temporary password may reach until it is changed (and how to leave).
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/logout", "/api/v1/auth/logout"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: commits once when the endpoint returns, else rolls back.
    Reads (GET/HEAD) never take the SQLite write lock; writes take it at BEGIN."""
    engine = get_engine() if request.method in SAFE_METHODS else writer()
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class CsrfFailed(JingpinError):
    status_code = 403
    code = "csrf_failed"
    message = "页面已过期或来源不明，请刷新页面后重试"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form_csrf(request: Request) -> str:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _touch(session: Session, method: str, token_id: int, now: datetime) -> None:
    """Record the session's use for the idle timeout. A writing request does it in its own unit
    of work (it holds the SQLite write lock already); a read does it in a short one of its own,
    so that reads stay read-only."""
    if method not in SAFE_METHODS:
        touch_session(session, token_id, now)
        return
    with Session(writer()) as own:
        touch_session(own, token_id, now)
        own.commit()


async def authenticate_request(request: Request, session: SessionDep) -> tuple[User, AuthToken]:
    # The look-up runs in the threadpool: on SQLite a writing request may wait here for the write
    # lock, and waiting on the event loop would stall the request that holds it.
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user, row = await run_in_threadpool(
            resolve_token, session, auth[7:].strip(), TokenKind.bearer
        )
        _check_password_change(request, user)
        return user, row
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated()
    user, row = await run_in_threadpool(resolve_token, session, cookie, TokenKind.session)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token") or await _form_csrf(request)
        if not sent or not hmac.compare_digest(sent, row.csrf_token):
            raise CsrfFailed()
    now = utcnow()
    if needs_touch(row, now):
        await run_in_threadpool(_touch, session, request.method, row.id or 0, now)
    request.state.csrf_token = row.csrf_token
    _check_password_change(request, user)
    return user, row


def _check_password_change(request: Request, user: User) -> None:
    """A temporary password (set by the admin) is replaced before anything else is done."""
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        request.state.user = User.model_validate(user.model_dump())  # for the error page
        raise PasswordChangeRequired()


async def current_user(
    auth: Annotated[tuple[User, AuthToken], Depends(authenticate_request)],
) -> User:
    return auth[0]


CurrentUser = Annotated[User, Depends(current_user)]
CurrentAuth = Annotated[tuple[User, AuthToken], Depends(authenticate_request)]


async def page_user(auth: CurrentAuth, request: Request) -> User:
    """The signed-in user, for pages. The layout gets a detached copy, so that an error page can
    still show who is signed in after the request's session was rolled back and closed."""
    user = auth[0]
    request.state.user = User.model_validate(user.model_dump())
    return user


PageUser = Annotated[User, Depends(page_user)]
