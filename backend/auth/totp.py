"""Step-up with TOTP (动态口令, RFC 6238): enrolment with a locally rendered QR code, recovery
codes, the per-role requirement, and the check that signing and money approvals call.

- The shared secret is stored encrypted (AES-GCM under a key derived from the KEK), never in
  clear; recovery codes are stored as argon2 hashes and work once.
- A code is accepted once: the time step it matched is remembered, so the same code (or an older
  one) is refused for the rest of its window.
- Wrong codes count per user; after ``login_max_failures`` within ``login_window_seconds`` the
  step-up answers 429 until the window has passed (the count is committed before the error,
  like a wrong password).
- The audit log records which factor was used (``password+totp``, ``password+recovery``), never
  the code.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlmodel import Field, Session, SQLModel, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.passwords import hash_password, verify_password
from backend.auth.service import confirm_password, require_role
from backend.core.base import datetime_field, timestamp_field
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, PermissionDenied, TooManyAttempts, ValidationFailed

ISSUER = "jingpin 微短剧精品计划"
RECOVERY_CODES = 10
_CODE = re.compile(r"^\d{6}$")


# --------------------------------------------------------------------------- tables
class TotpAuthenticator(SQLModel, table=True):
    """A user's authenticator app. Unconfirmed until the first code has been entered."""

    __tablename__ = "totp_authenticators"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True, index=True)
    secret_encrypted: str = Field(sa_type=Text)  # nonce || AES-GCM(secret), base64
    confirmed_at: datetime | None = datetime_field(default=None)
    last_step: int = 0  # the newest time step accepted (replay protection)
    failures: int = 0
    failed_at: datetime | None = datetime_field(default=None)
    created_at: datetime = timestamp_field()


class RecoveryCode(SQLModel, table=True):
    """A single-use recovery code (恢复码), argon2-hashed."""

    __tablename__ = "totp_recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=200)
    used_at: datetime | None = datetime_field(default=None)


class TotpRequiredRole(SQLModel, table=True):
    """A role whose users must use TOTP to sign and to approve money (set by an administrator)."""

    __tablename__ = "totp_required_roles"

    role: str = Field(primary_key=True, max_length=20)
    set_by: int = Field(foreign_key="users.id")
    set_at: datetime = timestamp_field()


class Factor(StrEnum):
    """What a step-up was proven with (written to the audit log)."""

    none = "none"  # money step of a user without TOTP in a role that does not require it
    password = "password"  # noqa: S105 - the name of a factor, not a secret
    password_totp = "password+totp"  # noqa: S105
    password_recovery = "password+recovery"  # noqa: S105


@dataclass(frozen=True)
class StepUp:
    """Proof that ``user_id`` passed a step-up in this request."""

    user_id: int
    factor: Factor


# --------------------------------------------------------------------------- secret at rest
def _cipher() -> AESGCM:
    kek = get_settings().secret("kek").encode()
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"jingpin totp secret").derive(kek)
    return AESGCM(key)


def _seal(secret: str, user_id: int) -> str:
    nonce = os.urandom(12)
    data = _cipher().encrypt(nonce, secret.encode(), str(user_id).encode())
    return base64.b64encode(nonce + data).decode()


def _unseal(blob: str, user_id: int) -> str:
    raw = base64.b64decode(blob)
    return _cipher().decrypt(raw[:12], raw[12:], str(user_id).encode()).decode()


# --------------------------------------------------------------------------- reading
def authenticator(session: Session, user: User) -> TotpAuthenticator | None:
    return session.exec(
        select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id)
    ).first()


def enrolled(session: Session, user: User) -> bool:
    a = authenticator(session, user)
    return a is not None and a.confirmed_at is not None


def required_roles(session: Session) -> set[Role]:
    return {Role(r) for r in session.exec(select(TotpRequiredRole.role)).all()}


def required_for(session: Session, user: User) -> bool:
    return session.get(TotpRequiredRole, user.role.value) is not None


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.exec(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None)
            )
        ).all()
    )


# --------------------------------------------------------------------------- enrolment
@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an app that cannot scan
    uri: str  # otpauth://
    qr_svg: str  # rendered here (segno), no external service


def begin_enrolment(session: Session, user: User, password: str, address: str) -> Enrolment:
    """A new secret for ``user`` (replacing an unconfirmed one); needs the password."""
    confirm_password(session, user, password, address)
    existing = authenticator(session, user)
    if existing is not None and existing.confirmed_at is not None:
        raise Conflict("您已绑定动态口令", code="totp_already_enrolled")
    secret = pyotp.random_base32()
    if existing is None:
        existing = TotpAuthenticator(user_id=user.id or 0, secret_encrypted="")
    existing.secret_encrypted = _seal(secret, user.id or 0)
    existing.last_step, existing.failures, existing.failed_at = 0, 0, None
    session.add(existing)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=5, dark="#1a1a1a", light="#ffffff")
    return Enrolment(secret=secret, uri=uri, qr_svg=svg)


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    """The first code proves the app holds the secret; returns the recovery codes (shown once)."""
    a = authenticator(session, user)
    if a is None or a.confirmed_at is not None:
        raise Conflict("请先开始绑定动态口令", code="totp_not_pending")
    step = _check_code(session, a, code)
    a.confirmed_at, a.last_step = utcnow(), step
    session.add(a)
    codes = _new_recovery_codes(session, user)
    record(
        session,
        actor=user,
        action="auth.totp_enrolled",
        object_type="user",
        object_id=user.id,
        payload={"recovery_codes": len(codes)},
    )
    return codes


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    for old in session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = [
        "-".join(secrets.token_hex(3)[:5] for _ in range(2)).upper() for _ in range(RECOVERY_CODES)
    ]
    for c in codes:
        session.add(RecoveryCode(user_id=user.id or 0, code_hash=hash_password(c)))
    session.flush()
    return codes


# --------------------------------------------------------------------------- codes
def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (±1 for clock drift) whose code equals ``code``."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _throttle(a: TotpAuthenticator) -> None:
    s = get_settings()
    if (
        a.failures >= s.login_max_failures
        and a.failed_at is not None
        and a.failed_at > utcnow() - timedelta(seconds=s.login_window_seconds)
    ):
        raise TooManyAttempts(
            f"动态口令错误次数过多，请 {s.login_window_seconds // 60} 分钟后再试",
            headers={"Retry-After": str(s.login_window_seconds)},
        )


def _fail(session: Session, a: TotpAuthenticator, message: str) -> PermissionDenied:
    # Committed now, on purpose (like a wrong password): the error rolls the request back and
    # the failed attempt must still count. Callers run this before writing anything else.
    a.failures += 1
    a.failed_at = utcnow()
    session.add(a)
    session.commit()
    return PermissionDenied(message, code="totp_invalid")


def _check_code(session: Session, a: TotpAuthenticator, code: str) -> int:
    _throttle(a)
    code = code.strip().replace(" ", "")
    if not _CODE.match(code):
        raise ValidationFailed(
            "请输入 6 位数字动态口令", fields={"totp_code": "请输入 6 位数字动态口令"}
        )
    step = _matching_step(_unseal(a.secret_encrypted, a.user_id), code, utcnow())
    if step is None:
        raise _fail(session, a, "动态口令错误，未执行操作")
    if step <= a.last_step:
        raise _fail(session, a, "该动态口令已使用过，请等待下一个口令")
    a.failures, a.failed_at = 0, None
    return step


def _use_recovery_code(session: Session, user: User, a: TotpAuthenticator, code: str) -> bool:
    wanted = code.strip().upper()
    for row in session.exec(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None)
        )
    ):
        if verify_password(row.code_hash, wanted):
            row.used_at = utcnow()
            session.add(row)
            a.failures, a.failed_at = 0, None
            session.add(a)
            return True
    return False


# --------------------------------------------------------------------------- step-up
def verify_step_up(
    session: Session,
    user: User,
    *,
    password: str,
    code: str,
    address: str,
    password_always: bool,
) -> StepUp:
    """The check before signing (``password_always``) or a money approval. Enrolled users give
    password + a current code (or a recovery code); users of a role that requires TOTP but have
    none are told to enrol; others give the password when signing and nothing extra for money.
    Call it before anything is written in the request (failures are committed)."""
    a = authenticator(session, user)
    if a is None or a.confirmed_at is None:
        if required_for(session, user):
            raise PermissionDenied(
                "您所在角色须使用动态口令，请先在“动态口令”页面完成绑定后再办理",
                code="totp_enrolment_required",
            )
        if not password_always:
            return StepUp(user.id or 0, Factor.none)
        confirm_password(session, user, password, address)
        return StepUp(user.id or 0, Factor.password)
    if not code.strip():
        raise PermissionDenied("请输入登录密码和动态口令", code="totp_required")
    confirm_password(session, user, password, address)
    _throttle(a)
    if not _CODE.match(code.strip().replace(" ", "")):
        if _use_recovery_code(session, user, a, code):
            return StepUp(user.id or 0, Factor.password_recovery)
        raise _fail(session, a, "恢复码无效或已使用，未执行操作")
    a.last_step = _check_code(session, a, code)
    session.add(a)
    return StepUp(user.id or 0, Factor.password_totp)


def require_step_up(session: Session, user: User, proof: StepUp | None) -> Factor:
    """Services call this: the step was proven for this user, or the user needs none."""
    if proof is not None and proof.user_id == user.id:
        return proof.factor
    if enrolled(session, user) or required_for(session, user):
        raise PermissionDenied("请输入登录密码和动态口令", code="totp_required")
    return Factor.none


# --------------------------------------------------------------------------- administration
def set_required_roles(session: Session, admin: User, roles: set[Role]) -> set[Role]:
    """Administrators choose the roles that must use TOTP."""
    require_role(admin, Role.admin, message="仅系统管理员可以设置动态口令要求")
    before = required_roles(session)
    for row in session.exec(select(TotpRequiredRole)):
        if Role(row.role) not in roles:
            session.delete(row)
    for role in roles - before:
        session.add(TotpRequiredRole(role=role.value, set_by=admin.id or 0))
    session.flush()
    record(
        session,
        actor=admin,
        action="auth.totp_required_roles",
        object_type="setting",
        object_id="totp_required_roles",
        payload={
            "before": sorted(r.value for r in before),
            "after": sorted(r.value for r in roles),
        },
    )
    return roles


def step_up_fields(session: Session, user: User) -> str:
    """What a sign or approve form shows: ``totp`` (a code field), ``enrol`` (the role requires
    TOTP and the user has none: a link to enrol) or ``""`` (nothing beyond the password)."""
    if enrolled(session, user):
        return "totp"
    return "enrol" if required_for(session, user) else ""
