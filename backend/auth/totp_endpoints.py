"""TOTP (动态口令) API and pages: enrolment for every user (password → secret + QR code → first
code → recovery codes, shown once), and the administrator's list of roles that must use it.

API: ``GET /api/v1/auth/totp``, ``POST /api/v1/auth/totp/enrolment`` ``{"password"}``,
``POST /api/v1/auth/totp/enrolment/confirm`` ``{"code"}``, ``GET/PUT
/api/v1/admin/totp-required-roles``. Page: ``/account/totp``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend.auth import totp
from backend.auth.deps import CurrentUser, PageUser, SessionDep, client_address
from backend.auth.models import ROLE_LABELS, Role
from backend.auth.service import require_role
from backend.core.errors import JingpinError
from backend.core.pages import redirect, render
from backend.core.schemas import error_responses

router = APIRouter(tags=["auth"])
pages = APIRouter(include_in_schema=False)


class TotpStatus(BaseModel):
    enrolled: bool
    required: bool = Field(description="本人角色是否被要求使用动态口令")
    recovery_codes_left: int


class EnrolBody(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class EnrolmentOut(BaseModel):
    secret: str = Field(description="Base32 密钥（无法扫码时手动输入）")
    otpauth_uri: str
    qr_svg: str = Field(description="二维码（SVG，本地生成）")


class ConfirmBody(BaseModel):
    code: str = Field(min_length=6, max_length=10)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="恢复码，仅显示这一次，每个只能使用一次")


class RequiredRoles(BaseModel):
    roles: list[Role]


def _status(session: SessionDep, user: CurrentUser) -> TotpStatus:
    return TotpStatus(
        enrolled=totp.enrolled(session, user),
        required=totp.required_for(session, user),
        recovery_codes_left=totp.recovery_codes_left(session, user),
    )


@router.get("/api/v1/auth/totp", response_model=TotpStatus, summary="本人动态口令状态")
def totp_status(session: SessionDep, user: CurrentUser) -> TotpStatus:
    return _status(session, user)


@router.post(
    "/api/v1/auth/totp/enrolment",
    response_model=EnrolmentOut,
    summary="开始绑定动态口令（需登录密码）：返回密钥与二维码",
    responses=error_responses(403, 409, 422, 429),
)
def begin_enrolment(
    body: EnrolBody, request: Request, session: SessionDep, user: CurrentUser
) -> EnrolmentOut:
    e = totp.begin_enrolment(session, user, body.password, client_address(request))
    return EnrolmentOut(secret=e.secret, otpauth_uri=e.uri, qr_svg=e.qr_svg)


@router.post(
    "/api/v1/auth/totp/enrolment/confirm",
    response_model=RecoveryCodesOut,
    summary="输入第一个动态口令完成绑定：返回恢复码（仅此一次）",
    responses=error_responses(403, 409, 422, 429),
)
def confirm_enrolment(
    body: ConfirmBody, session: SessionDep, user: CurrentUser
) -> RecoveryCodesOut:
    return RecoveryCodesOut(recovery_codes=totp.confirm_enrolment(session, user, body.code))


@router.get(
    "/api/v1/admin/totp-required-roles",
    response_model=RequiredRoles,
    summary="须使用动态口令的角色（管理员）",
    responses=error_responses(403),
)
def get_required_roles(session: SessionDep, user: CurrentUser) -> RequiredRoles:
    require_role(user, Role.admin, message="仅系统管理员可以查看动态口令要求")
    return RequiredRoles(roles=sorted(totp.required_roles(session)))


@router.put(
    "/api/v1/admin/totp-required-roles",
    response_model=RequiredRoles,
    summary="设置须使用动态口令的角色（管理员）",
    responses=error_responses(403, 422),
)
def put_required_roles(
    body: RequiredRoles, session: SessionDep, user: CurrentUser
) -> RequiredRoles:
    return RequiredRoles(roles=sorted(totp.set_required_roles(session, user, set(body.roles))))


# --------------------------------------------------------------------------- pages
@pages.get("/account/totp")
def totp_page(
    request: Request, session: SessionDep, user: PageUser, msg: str = "", error: str = ""
) -> Response:
    return render(
        request,
        "auth/totp.html",
        status=_status(session, user),
        required_roles=sorted(totp.required_roles(session)),
        role_labels=ROLE_LABELS,
        is_admin=user.role is Role.admin,
        msg=msg,
        error=error,
    )


@pages.post("/account/totp/enrolment")
async def totp_enrol_page(
    request: Request, session: SessionDep, user: PageUser, password: Annotated[str, Form()] = ""
) -> Response:
    try:
        e = await run_in_threadpool(
            totp.begin_enrolment, session, user, password, client_address(request)
        )
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        return redirect("/account/totp", exc.message, error=True)
    return render(request, "auth/totp_enrol.html", enrolment=e)


@pages.post("/account/totp/enrolment/confirm")
def totp_confirm_page(
    request: Request, session: SessionDep, user: PageUser, code: Annotated[str, Form()] = ""
) -> Response:
    try:
        codes = totp.confirm_enrolment(session, user, code)
    except JingpinError as exc:
        session.rollback()
        return redirect("/account/totp", exc.message + "，请重新开始绑定", error=True)
    return render(request, "auth/totp_codes.html", codes=codes)


@pages.post("/account/totp/required-roles")
async def totp_required_roles_page(
    request: Request, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    try:
        roles = {Role(v) for v in form.getlist("roles") if isinstance(v, str)}
        await run_in_threadpool(totp.set_required_roles, session, user, roles)
    except (JingpinError, ValueError) as exc:
        await run_in_threadpool(session.rollback)
        message = exc.message if isinstance(exc, JingpinError) else "未知角色"
        return redirect("/account/totp", message, error=True)
    return redirect("/account/totp", "已保存须使用动态口令的角色")
