"""Login, throttling, tokens and the confirmation of a fresh password before signing."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import AuthToken, FailedLogin, Role, TokenKind, User
from backend.auth.passwords import hash_password, needs_rehash, verify_password
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
    ValidationFailed,
)
from backend.orgs.models import Organisation, RecommendingUnit


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_throttle(session: Session, username: str, address: str) -> None:
    s = get_settings()
    since = utcnow() - timedelta(seconds=s.login_window_seconds)
    per_user = session.exec(
        select(func.count()).where(FailedLogin.username == username, FailedLogin.at >= since)
    ).one()
    per_addr = session.exec(
        select(func.count()).where(FailedLogin.address == address, FailedLogin.at >= since)
    ).one()
    if per_user >= s.login_max_failures or per_addr >= s.login_max_failures * 4:
        minutes = s.login_window_seconds // 60
        raise TooManyAttempts(
            f"登录失败次数过多，请 {minutes} 分钟后再试",
            headers={"Retry-After": str(s.login_window_seconds)},
        )


def _remember_failure(session: Session, username: str, address: str) -> None:
    # Committed now, on purpose: the error that follows rolls the request back, and the failed
    # attempt must still count. Nothing else is pending in these read-only flows.
    session.add(FailedLogin(username=username[:50], address=address[:64]))
    session.commit()


def authenticate(session: Session, username: str, password: str, address: str) -> User:
    _check_throttle(session, username, address)
    user = session.exec(select(User).where(User.username == username)).first()
    usable = user is not None and user.is_active and user.deleted_at is None
    if not verify_password(user.password_hash if usable and user else None, password):
        _remember_failure(session, username, address)
        raise NotAuthenticated("用户名或密码错误", code="invalid_credentials")
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def confirm_password(session: Session, user: User, password: str, address: str) -> None:
    """A fresh password entry before an irreversible act (signing); failures count as logins."""
    _check_throttle(session, user.username, address)
    if not verify_password(user.password_hash, password):
        _remember_failure(session, user.username, address)
        raise PermissionDenied("密码错误，未执行操作", code="wrong_password")


def issue_token(session: Session, user: User, kind: TokenKind) -> tuple[str, AuthToken]:
    s = get_settings()
    token = secrets.token_urlsafe(32)
    hours = s.session_hours if kind is TokenKind.session else s.token_hours
    row = AuthToken(
        token_sha256=_sha(token),
        kind=kind,
        user_id=user.id,  # type: ignore[arg-type]
        csrf_token=secrets.token_urlsafe(24) if kind is TokenKind.session else "",
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_token(session: Session, token: str, kind: TokenKind) -> tuple[User, AuthToken]:
    row = session.exec(
        select(AuthToken).where(AuthToken.token_sha256 == _sha(token), AuthToken.kind == kind)
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise NotAuthenticated("登录已失效，请重新登录", code="token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise NotAuthenticated("账号已停用或已删除", code="token_invalid")
    return user, row


def revoke_token(session: Session, row: AuthToken) -> None:
    row.revoked_at = utcnow()
    session.add(row)


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    organisation: Organisation,
    actor: object | None = None,
) -> User:
    if session.exec(select(User).where(User.username == username)).first():
        raise ValidationFailed("用户名已存在", fields={"username": "用户名已存在"})
    if len(password) < 8:
        raise ValidationFailed("密码至少 8 位", fields={"password": "密码至少 8 位"})
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        organisation_id=organisation.id,  # type: ignore[arg-type]
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        payload={"username": username, "role": role.value, "organisation_id": organisation.id},
    )
    return user


def delete_user(session: Session, user: User, *, actor: object | None = None) -> None:
    """Soft delete: the row stays for the audit trail, every token stops working."""
    user.deleted_at = utcnow()
    user.is_active = False
    session.add(user)
    for row in session.exec(select(AuthToken).where(col(AuthToken.user_id) == user.id)):
        revoke_token(session, row)
    session.flush()
    record(session, actor=actor, action="user.delete", object_type="user", object_id=user.id)


def require_role(user: User, *roles: Role, message: str = "您的角色无权执行此操作") -> None:
    """403 unless the user has one of ``roles`` (services call it after the 404 checks)."""
    if user.role not in roles:
        raise PermissionDenied(message)


def unit_of(session: Session, user: User) -> RecommendingUnit | None:
    """The recommending unit of the user's organisation: a unit reviewer's own unit, the unit a
    producer normally applies through; None for the ministry and for organisations without one."""
    org = session.get(Organisation, user.organisation_id)
    return session.get(RecommendingUnit, org.unit_id) if org and org.unit_id else None


def require_unit_of(session: Session, user: User) -> RecommendingUnit:
    unit = unit_of(session, user)
    if unit is None:
        raise NotFound("您的账号未关联推荐单位", code="unit_not_found")
    return unit


def display_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Users' names (姓名) for pages that show who did something."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {
        u.id: u.display_name
        for u in session.exec(select(User).where(col(User.id).in_(ids)))
        if u.id is not None
    }


def names_by_username(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """姓名 for the usernames the audit log records as actors (others, e.g. "system", stay)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    return {
        u.username: u.display_name
        for u in session.exec(select(User).where(col(User.username).in_(wanted)))
    }
