"""Users, their roles, login sessions / bearer tokens, and failed-login records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import AutoString, Field, SQLModel

from backend.core.base import datetime_field, timestamp_field


class Role(StrEnum):
    producer = "producer"
    unit_reviewer = "unit_reviewer"
    ministry_officer = "ministry_officer"
    expert = "expert"
    finance = "finance"
    auditor = "auditor"
    admin = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.producer: "节目制作机构",
    Role.unit_reviewer: "推荐单位审核员",
    Role.ministry_officer: "总局网络视听节目管理司",
    Role.expert: "评审专家",
    Role.finance: "财务人员",
    Role.auditor: "审计人员",
    Role.admin: "系统管理员",
}


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=50, unique=True, index=True)
    display_name: str = Field(max_length=50)
    password_hash: str = Field(max_length=200)
    role: Role = Field(max_length=20)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    is_active: bool = True
    created_at: datetime = timestamp_field()
    deleted_at: datetime | None = datetime_field(default=None)
    # Mail goes here (else to the organisation's contact address); opting out stops the mail
    # that is not mandatory (reminders), never what a decision or a deadline requires.
    email: str | None = Field(default=None, max_length=254)
    mail_opt_out: bool = False
    # Set with every password someone else chose (a new account's, an admin's reset, a resolved
    # 忘记密码 request): the user changes it before doing anything else (backend.auth.deps).
    must_change_password: bool = False


class TokenKind(StrEnum):
    session = "session"  # cookie for pages
    bearer = "bearer"  # Authorization header for programs


class AuthToken(SQLModel, table=True):
    """Only the sha256 of a token is stored; the token itself lives with the client."""

    __tablename__ = "auth_tokens"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    kind: TokenKind = Field(max_length=10)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(default="", max_length=64)
    created_at: datetime = timestamp_field()
    expires_at: datetime = datetime_field()
    revoked_at: datetime | None = datetime_field(default=None)
    # Page sessions end after session_idle_minutes without use (updated at most once a minute).
    last_used_at: datetime | None = datetime_field(default=None)


class AttemptPurpose(StrEnum):
    """What a failed password was for: each has its own counters, so that failing someone's
    logins cannot lock them out of signing, nor the other way round."""

    login = "login"
    confirm = "confirm"  # the fresh password before signing (签章前再次输入密码)
    # A 忘记密码 request: every one counts (not only failures), so the form cannot be used to
    # flood the admin or to probe for usernames faster than the login form allows.
    reset = "reset"


class FailedLogin(SQLModel, table=True):
    __tablename__ = "failed_logins"
    id: int | None = Field(default=None, primary_key=True)
    # A plain string column, as its migration made it (a native enum type would need one more
    # migration for every new purpose).
    purpose: AttemptPurpose = Field(
        default=AttemptPurpose.login, sa_type=AutoString(length=10), index=True
    )
    username: str = Field(max_length=50, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = timestamp_field(index=True)


class ResetRequestStatus(StrEnum):
    open = "open"
    resolved = "resolved"  # the admin set a temporary password
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"open": "待处理", "resolved": "已重置密码", "rejected": "已拒绝"}[self.value]


class PasswordResetRequest(SQLModel, table=True):
    """忘记密码申请: a user who forgot the password asks (with a note such as a phone number or
    department, so the admin can check who is asking); the admin sets a temporary password or
    rejects. No e-mail: the admin hands the temporary password over in person or by phone.
    Only requests naming an existing, active account are stored; the form answers the same
    either way."""

    __tablename__ = "password_reset_requests"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    note: str = Field(default="", max_length=200)
    address: str = Field(max_length=64)
    status: ResetRequestStatus = Field(
        default=ResetRequestStatus.open, sa_type=AutoString(length=10), index=True
    )
    created_at: datetime = timestamp_field()
    resolved_by: int | None = Field(default=None, foreign_key="users.id")
    resolved_at: datetime | None = datetime_field(default=None)
    rejection_reason: str = Field(default="", max_length=200)
