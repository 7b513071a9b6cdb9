"""Login, throttling, tokens and the confirmation of a fresh password before signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import AttemptPurpose, AuthToken, FailedLogin, Role, TokenKind, User
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

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# pg_advisory_xact_lock's first key: this module's failed-attempt counters.
ATTEMPT_LOCK_NAMESPACE = 0x4A50  # "JP"
TOUCH_EVERY = timedelta(minutes=1)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _serialise_attempts(session: Session, purpose: AttemptPurpose, *keys: str) -> None:
    """Close the count-then-insert race: on PostgreSQL, attempts for the same account (and, for
    logins, the same address) wait for each other until the transaction ends, so parallel
    guesses are counted one after another. SQLite needs nothing: a writing request holds the
    database's write lock from BEGIN IMMEDIATE on."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(keys):  # one order for everyone: no deadlocks
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
            {"ns": ATTEMPT_LOCK_NAMESPACE, "key": f"{purpose.value}:{key}"},
        )


def _check_throttle(session: Session, username: str, address: str, purpose: AttemptPurpose) -> None:
    s = get_settings()
    since = utcnow() - timedelta(seconds=s.login_window_seconds)
    recent = (FailedLogin.at >= since, FailedLogin.purpose == purpose)
    per_user = session.exec(
        select(func.count()).where(FailedLogin.username == username, *recent)
    ).one()
    per_addr = session.exec(
        select(func.count()).where(FailedLogin.address == address, *recent)
    ).one()
    if per_user >= s.login_max_failures or per_addr >= s.login_max_failures * 4:
        minutes = s.login_window_seconds // 60
        what = {
            AttemptPurpose.login: "登录失败",
            AttemptPurpose.confirm: "签章密码确认失败",
            AttemptPurpose.reset: "忘记密码申请提交",
        }[purpose]
        raise TooManyAttempts(
            f"{what}次数过多，请 {minutes} 分钟后再试",
            headers={"Retry-After": str(s.login_window_seconds)},
        )


def _remember_failure(
    session: Session, username: str, address: str, purpose: AttemptPurpose
) -> None:
    # Committed now, on purpose: the error that follows rolls the request back, and the failed
    # attempt must still count. Nothing else is pending in these read-only flows. (The commit
    # also ends the transaction-level lock of _serialise_attempts.)
    session.add(FailedLogin(username=username[:50], address=address[:64], purpose=purpose))
    session.commit()


@lru_cache
def demo_accounts() -> tuple[frozenset[str], str]:
    """The demo's usernames and its published password (fixtures/, what `jingpin demo` loads)."""
    names: set[str] = set()
    password = ""
    for name in ("demo.json", "workflow_demo.json"):
        path = FIXTURES / name
        if path.exists():
            data = json.loads(path.read_text())
            names.update(u[0] for u in data.get("users", []))
            password = data.get("password", password)
    return frozenset(names), password


def _refuse_demo_account(username: str, password: str) -> None:
    """In production no demo account logs in, whatever its database says: not by its name, and
    no account at all with the demo's published password."""
    if not get_settings().is_production:
        return
    names, demo_password = demo_accounts()
    if username in names or (demo_password and hmac.compare_digest(password, demo_password)):
        raise NotAuthenticated("生产环境不允许使用演示账号登录", code="demo_account_refused")


def authenticate(session: Session, username: str, password: str, address: str) -> User:
    purpose = AttemptPurpose.login
    _serialise_attempts(session, purpose, f"user:{username}", f"addr:{address}")
    _check_throttle(session, username, address, purpose)
    _refuse_demo_account(username, password)
    user = session.exec(select(User).where(User.username == username)).first()
    usable = user is not None and user.is_active and user.deleted_at is None
    if not verify_password(user.password_hash if usable and user else None, password):
        _remember_failure(session, username, address, purpose)
        raise NotAuthenticated("用户名或密码错误", code="invalid_credentials")
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def confirm_password(session: Session, user: User, password: str, address: str) -> None:
    """A fresh password entry before an irreversible act (signing), counted apart from logins:
    failing an account's logins does not lock it out of signing."""
    purpose = AttemptPurpose.confirm
    _serialise_attempts(session, purpose, f"user:{user.username}")
    _check_throttle(session, user.username, address, purpose)
    if not verify_password(user.password_hash, password):
        _remember_failure(session, user.username, address, purpose)
        raise PermissionDenied("密码错误，未执行操作", code="wrong_password")


def count_reset_request(session: Session, username: str, address: str) -> None:
    """忘记密码: limited like logins, per account and per address, whether or not the account
    exists (so the limit tells nothing either); every request counts, not only failures."""
    purpose = AttemptPurpose.reset
    _serialise_attempts(session, purpose, f"user:{username}", f"addr:{address}")
    _check_throttle(session, username, address, purpose)
    session.add(FailedLogin(username=username[:50], address=address[:64], purpose=purpose))
    session.flush()


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
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated("登录已失效，请重新登录", code="token_invalid")
    if kind is TokenKind.session and idle_expired(row, now):
        raise NotAuthenticated("长时间未操作，登录已失效，请重新登录", code="session_idle")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise NotAuthenticated("账号已停用或已删除", code="token_invalid")
    return user, row


def idle_expired(row: AuthToken, now: datetime) -> bool:
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    return (row.last_used_at or row.created_at) + idle <= now


def needs_touch(row: AuthToken, now: datetime) -> bool:
    """Whether to record a use of the session now (at most once a minute: a write per page
    view would be needless load)."""
    return (row.last_used_at or row.created_at) + TOUCH_EVERY <= now


def touch_session(session: Session, token_id: int, now: datetime) -> None:
    session.execute(
        update(AuthToken)
        .where(col(AuthToken.id) == token_id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_token(session: Session, row: AuthToken) -> None:
    row.revoked_at = utcnow()
    session.add(row)


def revoke_presented_session(session: Session, token: str | None) -> None:
    """Session rotation on login: whatever session the browser still carried ends, so that a
    session id planted before login (session fixation) is worth nothing after it."""
    if not token:
        return
    row = session.exec(select(AuthToken).where(AuthToken.token_sha256 == _sha(token))).first()
    if row is not None and row.revoked_at is None:
        revoke_token(session, row)


def revoke_all_tokens(session: Session, user: User) -> None:
    for row in session.exec(
        select(AuthToken).where(
            col(AuthToken.user_id) == user.id, col(AuthToken.revoked_at).is_(None)
        )
    ):
        revoke_token(session, row)


def change_role(session: Session, user: User, role: Role, *, actor: object | None = None) -> None:
    """A privilege change ends every session and token of the user: the next request signs in
    again and gets a fresh session with the new role."""
    previous = user.role
    user.role = role
    session.add(user)
    revoke_all_tokens(session, user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.role_change",
        object_type="user",
        object_id=user.id,
        payload={"from": previous.value, "to": role.value},
    )


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
    revoke_all_tokens(session, user)
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
