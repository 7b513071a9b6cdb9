"""Idempotency-Key for POSTs: the first response is stored with the key, the user and a hash of
the request in the same transaction as the change itself. A replay gets that response back (same
status, same body); the same key with a different request is a 409.

The key row is inserted *before* the change: a concurrent request with the same key waits on the
unique index until the first commits, then replays its stored response instead of acting twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.auth.models import User
from backend.core.canonical import canonical_json
from backend.core.errors import Conflict, ValidationFailed
from backend.funding.models import IdempotencyKey

MAX_KEY = 200


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "该 Idempotency-Key 已用于另一个不同的请求"


def request_hash(method: str, path: str, body: Any) -> str:
    return hashlib.sha256(
        canonical_json({"method": method, "path": path, "body": body}).encode()
    ).hexdigest()


def _replay(row: IdempotencyKey, digest: str) -> JSONResponse:
    if row.request_hash != digest:
        raise IdempotencyKeyReused()
    return JSONResponse(
        json.loads(row.response_body),
        status_code=row.status_code,
        headers={"Idempotent-Replayed": "true"},
    )


def _find(session: Session, user: User, key: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    ).first()


def stored(session: Session, user: User, key: str | None) -> bool:
    """Whether ``key`` was already used by ``user``: the request is a replay and acts on nothing
    (its step-up was checked the first time)."""
    return bool(key and key.strip()) and _find(session, user, (key or "").strip()) is not None


def idempotent(
    session: Session,
    user: User,
    key: str | None,
    digest: str,
    action: Callable[[], tuple[int, BaseModel]],
    *,
    required: bool = True,
) -> JSONResponse:
    """Run ``action`` once per (user, key); it returns (status, the response model)."""
    if key is None or not key.strip():
        if required:
            raise ValidationFailed(
                "请在请求头中提供 Idempotency-Key",
                code="idempotency_key_missing",
                fields={"Idempotency-Key": "缺少 Idempotency-Key"},
            )
        status, body = action()
        return JSONResponse(body.model_dump(mode="json"), status_code=status)
    key = key.strip()
    if len(key) > MAX_KEY:
        raise ValidationFailed(
            "Idempotency-Key 过长", fields={"Idempotency-Key": f"不超过 {MAX_KEY} 个字符"}
        )
    existing = _find(session, user, key)
    if existing is not None:
        return _replay(existing, digest)
    row = IdempotencyKey(
        user_id=user.id or 0, key=key, request_hash=digest, status_code=0, response_body="null"
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        session.rollback()  # a concurrent request with this key committed first
        winner = _find(session, user, key)
        if winner is None:
            raise
        return _replay(winner, digest)
    status, body = action()
    text = json.dumps(body.model_dump(mode="json"), ensure_ascii=False)
    row.status_code, row.response_body = status, text
    session.add(row)
    session.flush()
    return JSONResponse(json.loads(text), status_code=status)
