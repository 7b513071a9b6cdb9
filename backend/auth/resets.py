"""忘记密码 without e-mail: the user leaves a request (username and a note the admin can check
identity by, e.g. a phone number or department); the system administrator (系统管理员) resolves it
by setting a temporary password, handed over by phone or in person, or rejects it.

The request form answers the same whether or not the username exists (no user enumeration) and is
limited like logins. A temporary password must be changed at the next login before anything else
(User.must_change_password). Every step is audit-logged; no password is."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.admin import set_temporary_password
from backend.auth.models import PasswordResetRequest, ResetRequestStatus, Role, User
from backend.auth.service import count_reset_request, require_role
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed

MAX_NOTE = 200
# The one answer to every accepted request, whoever it names.
NEUTRAL_ANSWER = (
    "申请已收到。如该用户名存在，系统管理员核实身份后会为您设置临时密码，"
    "并通过电话或当面告知；请勿重复提交。"
)


def request_reset(session: Session, *, username: str, note: str, address: str) -> None:
    """Record a 忘记密码 request for an existing, active account (at most one open at a time);
    for any other name nothing is stored, and the caller answers the same."""
    username, note = username.strip(), note.strip()
    fields = {}
    if not username or len(username) > 50:
        fields["username"] = "请填写用户名（最多 50 个字符）"
    if len(note) > MAX_NOTE:
        fields["note"] = f"说明最多 {MAX_NOTE} 个字"
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    count_reset_request(session, username, address)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.is_active or user.deleted_at is not None:
        return
    if _open_of(session, user.id or 0) is not None:
        return  # one open request is enough; the admin sees it already
    row = PasswordResetRequest(user_id=user.id or 0, note=note, address=address[:64])
    session.add(row)
    session.flush()
    record(
        session,
        actor="anonymous",  # nobody is signed in; the request only names the account
        action="password_reset.request",
        object_type="user",
        object_id=user.id,
        payload={"request_id": row.id, "address": address[:64]},
    )


def _open_of(session: Session, user_id: int) -> PasswordResetRequest | None:
    return session.exec(
        select(PasswordResetRequest).where(
            PasswordResetRequest.user_id == user_id,
            PasswordResetRequest.status == ResetRequestStatus.open,
        )
    ).first()


def open_count(session: Session) -> int:
    """Open requests (the admin's 待办 count in the navigation)."""
    return session.exec(
        select(func.count()).where(PasswordResetRequest.status == ResetRequestStatus.open)
    ).one()


def list_requests(
    session: Session, admin: User, *, handled: int = 20
) -> tuple[list[tuple[PasswordResetRequest, User]], list[tuple[PasswordResetRequest, User]]]:
    """(open requests oldest first — first come, first served —, the latest handled ones)."""
    require_role(admin, Role.admin, message="只有系统管理员可以处理忘记密码申请")
    base = select(PasswordResetRequest, User).where(
        col(PasswordResetRequest.user_id) == col(User.id)
    )
    is_open = col(PasswordResetRequest.status) == ResetRequestStatus.open.value
    open_rows = session.exec(base.where(is_open).order_by(col(PasswordResetRequest.id))).all()
    done = session.exec(
        base.where(~is_open).order_by(col(PasswordResetRequest.id).desc()).limit(handled)
    ).all()
    return [tuple(r) for r in open_rows], [tuple(r) for r in done]  # type: ignore[misc]


def get_request(
    session: Session, admin: User, request_id: int
) -> tuple[PasswordResetRequest, User]:
    """404 for anyone but the admin (a request is nobody else's business), then 404 when it
    does not exist."""
    row = session.get(PasswordResetRequest, request_id)
    if admin.role is not Role.admin or row is None:
        raise NotFound("未找到该申请", code="reset_request_not_found")
    user = session.get(User, row.user_id)
    if user is None:
        raise NotFound("未找到该申请", code="reset_request_not_found")
    return row, user


def _require_open(row: PasswordResetRequest) -> None:
    if row.status != ResetRequestStatus.open:
        raise Conflict(
            f"该申请已处理（{ResetRequestStatus(row.status).label}）", code="reset_request_closed"
        )


def resolve(session: Session, admin: User, request_id: int) -> tuple[User, str]:
    """Set a temporary password (returned once, for the admin to hand over); the user's
    sessions end and the next login goes to 修改密码 first."""
    row, user = get_request(session, admin, request_id)
    _require_open(row)
    if not user.is_active or user.deleted_at is not None:
        raise Conflict("该账号已停用，请先启用账号", code="user_inactive")
    password = set_temporary_password(session, user)
    _close(session, admin, row, ResetRequestStatus.resolved)
    record(
        session,
        actor=admin,
        action="password_reset.resolve",
        object_type="user",
        object_id=user.id,
        payload={"request_id": row.id},
    )
    return user, password


def reject(session: Session, admin: User, request_id: int, reason: str) -> User:
    row, user = get_request(session, admin, request_id)
    _require_open(row)
    reason = reason.strip()
    if not reason or len(reason) > MAX_NOTE:
        raise ValidationFailed(
            "请填写拒绝理由", fields={"reason": f"请填写拒绝理由（最多 {MAX_NOTE} 个字）"}
        )
    row.rejection_reason = reason
    _close(session, admin, row, ResetRequestStatus.rejected)
    record(
        session,
        actor=admin,
        action="password_reset.reject",
        object_type="user",
        object_id=user.id,
        payload={"request_id": row.id, "reason": reason},
    )
    return user


def _close(
    session: Session, admin: User, row: PasswordResetRequest, status: ResetRequestStatus
) -> None:
    row.status = status
    row.resolved_by = admin.id
    row.resolved_at = utcnow()
    session.add(row)
    session.flush()
