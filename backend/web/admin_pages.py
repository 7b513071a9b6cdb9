"""Administration pages (issue 15.6): users (create, role and organisation, disable / enable,
reset password) for the admin, and 修改密码 for everyone. Through backend.auth.admin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.auth import admin
from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import ROLE_LABELS, Role
from backend.core.errors import JingpinError
from backend.core.pages import confirmation, redirect, render
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
    return render(request, "admin/password.html", errors={})


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
        return render(request, "admin/password.html", status_code=422, errors=exc.fields)
    return redirect("/home", "密码已修改")
