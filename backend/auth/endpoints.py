"""Bearer tokens for programs: POST /api/v1/auth/token (OAuth2 password form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from backend.audit_log.service import record
from backend.auth.deps import CurrentAuth, CurrentUser, SessionDep, client_address
from backend.auth.models import TokenKind
from backend.auth.service import authenticate, issue_token, revoke_token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: str


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    organisation_id: int


@router.post("/token", response_model=TokenOut, summary="用户名密码换取访问令牌")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep
) -> TokenOut:
    user = authenticate(session, form.username, form.password, client_address(request))
    value, row = issue_token(session, user, TokenKind.bearer)
    record(session, actor=user, action="auth.token", object_type="user", object_id=user.id)
    return TokenOut(access_token=value, expires_at=row.expires_at.isoformat())


@router.post("/logout", status_code=204, summary="注销当前令牌")
def logout(auth: CurrentAuth, session: SessionDep) -> None:
    user, row = auth
    revoke_token(session, row)
    record(session, actor=user, action="auth.logout", object_type="user", object_id=user.id)


@router.get("/me", response_model=Me, summary="当前用户")
def me(user: CurrentUser) -> Me:
    return Me(
        id=user.id or 0,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        role_label=user.role.label,
        organisation_id=user.organisation_id,
    )
