"""User administration (系统管理员) and 修改密码 for everyone (issue 15.6).

The admin creates users, changes their role and organisation, disables and re-enables them and
resets passwords (a one-time password shown once; every session of that user ends). Each change
is audit-logged; passwords and one-time passwords never are. Services only flush."""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import AuthToken, Role, User
from backend.auth.passwords import hash_password, verify_password
from backend.auth.service import create_user, require_role, revoke_token
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.orgs.models import Organisation

MIN_PASSWORD = 8


def list_users(session: Session, admin: User, query: str = "") -> list[User]:
    require_role(admin, Role.admin, message="只有系统管理员可以管理用户")
    stmt = select(User).where(col(User.deleted_at).is_(None)).order_by(col(User.id))
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(col(User.username).like(like) | col(User.display_name).like(like))
    return list(session.exec(stmt).all())


def get_user(session: Session, admin: User, user_id: int) -> User:
    require_role(admin, Role.admin, message="只有系统管理员可以管理用户")
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("未找到该用户", code="user_not_found")
    return user


def _organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise ValidationFailed("请选择所属机构", fields={"organisation_id": "请选择所属机构"})
    return org


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed("请选择角色", fields={"role": "请选择角色"}) from None


def one_time_password() -> str:
    return secrets.token_urlsafe(9)


def add_user(
    session: Session,
    admin: User,
    *,
    username: str,
    display_name: str,
    role: str,
    organisation_id: int,
) -> tuple[User, str]:
    """A new user with a one-time password (returned once, to hand over in person)."""
    require_role(admin, Role.admin, message="只有系统管理员可以管理用户")
    fields: dict[str, str] = {}
    if not username.strip() or len(username.strip()) > 50:
        fields["username"] = "请填写用户名（最多 50 个字符）"
    if not display_name.strip() or len(display_name.strip()) > 50:
        fields["display_name"] = "请填写姓名（最多 50 个字）"
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    password = one_time_password()
    user = create_user(
        session,
        username=username.strip(),
        display_name=display_name.strip(),
        password=password,
        role=_role(role),
        organisation=_organisation(session, organisation_id),
        actor=admin,
    )
    user.must_change_password = True  # the admin chose it: the user replaces it first
    session.add(user)
    session.flush()
    return user, password


def end_sessions(session: Session, user: User) -> None:
    for row in session.exec(
        select(AuthToken).where(AuthToken.user_id == user.id, col(AuthToken.revoked_at).is_(None))
    ):
        revoke_token(session, row)


def change_user(
    session: Session, admin: User, user_id: int, *, role: str, organisation_id: int
) -> User:
    user = get_user(session, admin, user_id)
    new_role, org = _role(role), _organisation(session, organisation_id)
    if user.id == admin.id and new_role is not Role.admin:
        raise Conflict("不能取消自己的管理员角色", code="own_admin_role")
    before = {"role": user.role.value, "organisation_id": user.organisation_id}
    user.role, user.organisation_id = new_role, org.id or 0
    session.add(user)
    end_sessions(session, user)  # a privilege change starts a fresh session
    session.flush()
    record(
        session,
        actor=admin,
        action="user.change",
        object_type="user",
        object_id=user.id,
        payload={"before": before, "after": {"role": new_role.value, "organisation_id": org.id}},
    )
    return user


def set_active(session: Session, admin: User, user_id: int, active: bool, reason: str) -> User:
    user = get_user(session, admin, user_id)
    if user.id == admin.id:
        raise Conflict("不能停用自己的账号", code="own_account")
    if not reason.strip():
        raise ValidationFailed("请填写理由", fields={"reason": "请填写理由"})
    user.is_active = active
    session.add(user)
    if not active:
        end_sessions(session, user)
    session.flush()
    record(
        session,
        actor=admin,
        action="user.enable" if active else "user.disable",
        object_type="user",
        object_id=user.id,
        payload={"reason": reason.strip()},
    )
    return user


def reset_password(
    session: Session, admin: User, user_id: int, reason: str = ""
) -> tuple[User, str]:
    """A new one-time password for the user (shown to the admin once); their sessions end."""
    user = get_user(session, admin, user_id)
    password = set_temporary_password(session, user)
    record(
        session,
        actor=admin,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
        payload={"reason": reason.strip()},
    )
    return user, password


def set_temporary_password(session: Session, user: User) -> str:
    """A new one-time password (returned once, never stored in clear): the user's sessions end
    and the next login leads straight to 修改密码."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    session.add(user)
    end_sessions(session, user)
    session.flush()
    return password


def change_own_password(session: Session, user: User, old: str, new: str, repeat: str) -> None:
    """修改密码: the current password, then the new one twice."""
    if not verify_password(user.password_hash, old):
        raise ValidationFailed("当前密码不正确", fields={"old_password": "当前密码不正确"})
    if len(new) < MIN_PASSWORD:
        raise ValidationFailed(
            f"新密码至少 {MIN_PASSWORD} 位",
            fields={"new_password": f"新密码至少 {MIN_PASSWORD} 位"},
        )
    if new != repeat:
        raise ValidationFailed(
            "两次输入的新密码不一致", fields={"repeat_password": "两次输入的新密码不一致"}
        )
    if new == old:
        raise ValidationFailed(
            "新密码不能与当前密码相同", fields={"new_password": "新密码不能与当前密码相同"}
        )
    was_temporary = user.must_change_password
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.add(user)
    session.flush()
    record(
        session,
        actor=user,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        payload={"replaced_temporary": True} if was_temporary else None,
    )
