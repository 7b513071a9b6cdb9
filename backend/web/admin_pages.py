"""Administration pages (issue 15.6): users (create, role and organisation, disable / enable,
reset password) for the admin, 修改密码 for everyone (first of all after a temporary password),
忘记密码 for anyone (no sign-in) and its requests, resolved by the admin. Through
backend.auth.admin and backend.auth.resets."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.auth import admin, resets
from backend.auth.deps import PageUser, SessionDep, client_address
from backend.auth.models import ROLE_LABELS, ResetRequestStatus, Role, User
from backend.auth.service import display_names
from backend.core.config import get_settings
from backend.core.display import local_time
from backend.core.errors import JingpinError
from backend.core.pages import confirmation, is_confirmed, redirect, render
from backend.orgs.service import list_organisations

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    issued: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q = request.query_params.get("q", "")
    rows = admin.list_users(session, user, q)
    orgs = list_organisations(session)
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        rows=rows,
        q=q,
        orgs=orgs,
        org_names={o.id: o.name for o in orgs},
        roles=list(Role),
        role_names=ROLE_LABELS,
        errors=errors or {},
        values=values or {},
        issued=issued,
    )


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return _users_page(request, session, user)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


@router.post("/admin/users")
async def create_user_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    f = await _form(request)
    try:
        created, password = admin.add_user(
            session,
            user,
            username=f.get("username", ""),
            display_name=f.get("display_name", ""),
            role=f.get("role", ""),
            organisation_id=_int(f.get("organisation_id", "")),
        )
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _users_page(
            request,
            session,
            user,
            errors=exc.fields or {"__all__": exc.message},
            values=f,
            status_code=exc.status_code,
        )
    # Shown once on this response (never in a URL, a log or the audit trail).
    return _users_page(request, session, user, issued=(created.display_name, password))


@router.post("/admin/users/{user_id}/change")
async def change_user_page(
    user_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    f = await _form(request)
    try:
        admin.change_user(
            session,
            user,
            user_id,
            role=f.get("role", ""),
            organisation_id=_int(f.get("organisation_id", "")),
        )
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return redirect("/admin/users", exc.message, error=True)
    return redirect("/admin/users", "已修改角色和所属机构；该用户需重新登录")


@router.post("/admin/users/{user_id}/active")
async def active_page(
    user_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    f = await _form(request)
    active = f.get("active") == "1"
    try:
        admin.set_active(session, user, user_id, active, f.get("reason", ""))
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return redirect("/admin/users", exc.message, error=True)
    return redirect("/admin/users", "已启用该账号" if active else "已停用该账号，其登录已失效")


@router.post("/admin/users/{user_id}/reset-password")
async def reset_page(
    user_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    f = await _form(request)
    if f.get("confirmed") != "1":
        target = admin.get_user(session, user, user_id)
        return confirmation(
            request,
            title="重置密码",
            action=f"/admin/users/{user_id}/reset-password",
            facts=[("用户", f"{target.display_name}（{target.username}）")],
            back="/admin/users",
            warning="重置后原密码立即失效，该用户的所有登录将退出；新的一次性密码只显示一次。",
            button="确认重置密码",
            fields={"reason": f.get("reason", "")},
            busy="正在重置…",
        )
    target, password = admin.reset_password(session, user, user_id, f.get("reason", ""))
    return _users_page(request, session, user, issued=(target.display_name, password))


@router.get("/account/password")
def password_page(request: Request, user: PageUser) -> Response:
    return render(request, "admin/password.html", errors={}, temporary=user.must_change_password)


@router.post("/account/password")
async def change_password_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("old_password", "new_password", "repeat_password")}
    try:
        admin.change_own_password(
            session, user, values["old_password"], values["new_password"], values["repeat_password"]
        )
    except JingpinError as exc:
        session.rollback()
        return render(
            request,
            "admin/password.html",
            status_code=422,
            errors=exc.fields,
            temporary=user.must_change_password,
        )
    return redirect("/home", "密码已修改")


# --------------------------------------------------------------------------- 忘记密码
FORGOT = "/forgot-password"
FORGOT_CSRF_COOKIE = "jingpin_forgot_csrf"


def _forgot_page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    sent: bool = False,
) -> Response:
    """The form with a fresh CSRF token in the form and in a cookie only this site sets (as the
    login form does: nobody is signed in, so there is no session token to check against)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "admin/forgot.html",
        status_code=status_code,
        errors=errors or {},
        values=values or {},
        sent=sent,
        neutral=resets.NEUTRAL_ANSWER,
        forgot_csrf=token,
    )
    response.set_cookie(
        FORGOT_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=FORGOT,
        secure=_secure_cookies(),
        max_age=3600,
    )
    return response


def _secure_cookies() -> bool:
    """As for the login form's cookie (backend.web.pages): behind a TLS proxy the request's
    own scheme says http."""
    settings = get_settings()
    return settings.base_url.startswith("https") or settings.is_production


@router.get(FORGOT)
def forgot_page(request: Request) -> Response:
    return _forgot_page(request)


@router.post(FORGOT)
async def forgot_request_page(request: Request, session: SessionDep) -> Response:
    f = await _form(request)
    values = {"username": f.get("username", "")[:50], "note": f.get("note", "")[:200]}
    expected = request.cookies.get(FORGOT_CSRF_COOKIE, "")
    sent_token = f.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent_token.encode(), expected.encode()):
        return _forgot_page(
            request,
            status_code=403,
            errors={"__all__": "页面已过期或来源不明，请重新填写后提交"},
            values=values,
        )
    try:
        await run_in_threadpool(
            resets.request_reset,
            session,
            username=f.get("username", ""),
            note=f.get("note", ""),
            address=client_address(request),
        )
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        return _forgot_page(
            request,
            status_code=exc.status_code,
            errors=exc.fields or {"__all__": exc.message},
            values=values,
        )
    # The same page for every name: whether it exists is not for the requester to learn.
    return _forgot_page(request, sent=True)


# --------------------------------------------------------------------------- 重置申请 (admin)
RESETS = "/admin/reset-requests"


def _resets_page(
    request: Request,
    session: Session,
    user: User,
    *,
    issued: tuple[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    open_rows, done = resets.list_requests(session, user)
    return render(
        request,
        "admin/reset_requests.html",
        status_code=status_code,
        open_rows=open_rows,
        done=done,
        names=display_names(session, [r.resolved_by for r, _u in done]),
        issued=issued,
        errors=errors or {},
        local_time=local_time,
        status_labels={s.value: s.label for s in ResetRequestStatus},
    )


@router.get(RESETS)
def reset_requests_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return _resets_page(request, session, user)


@router.post(RESETS + "/{request_id}/resolve")
async def resolve_request_page(
    request_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    f = await _form(request)
    row, target = await run_in_threadpool(resets.get_request, session, user, request_id)
    if not is_confirmed(f):
        return confirmation(
            request,
            title="设置临时密码",
            action=f"{RESETS}/{request_id}/resolve",
            facts=[
                ("用户", f"{target.display_name}（{target.username}）"),
                ("申请时间（北京时间）", local_time(row.created_at)),
                ("申请人说明", row.note or "无"),
            ],
            back=RESETS,
            warning="请先按申请人说明（电话、部门等）核实是本人。设置后原密码立即失效，该用户的所有"
            "登录将退出；临时密码只显示一次，请通过电话或当面告知本人，其登录后须先修改密码。",
            button="确认设置临时密码",
            blocker=None if row.status == ResetRequestStatus.open else "该申请已处理",
            busy="正在设置…",
        )
    try:
        target, password = await run_in_threadpool(resets.resolve, session, user, request_id)
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code in (403, 404):
            raise
        return redirect(RESETS, exc.message, error=True)
    # Shown once on this response (never in a URL, a log or the audit trail).
    return _resets_page(request, session, user, issued=(target.display_name, password))


@router.post(RESETS + "/{request_id}/reject")
async def reject_request_page(
    request_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    f = await _form(request)
    try:
        await run_in_threadpool(resets.reject, session, user, request_id, f.get("reason", ""))
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code in (403, 404):
            raise
        if exc.fields:
            return _resets_page(
                request,
                session,
                user,
                errors={f"reject-{request_id}-{k}": v for k, v in exc.fields.items()},
                status_code=exc.status_code,
            )
        return redirect(RESETS, exc.message, error=True)
    return redirect(RESETS, "已拒绝该申请")
