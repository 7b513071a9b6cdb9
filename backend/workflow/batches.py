"""Batches (批次): create and change them (admin), their deadlines and whether one is open.

Service functions flush; the request or CLI command commits once. Every transition calls
`backend.audit_log.service.record` in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.dates import before, now_or_clock
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.works.models import Batch


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("未找到该批次", code="batch_not_found")
    return batch


BATCH_FIELDS = (
    "year",
    "number",
    "registration_deadline",
    "submission_deadline",
    "quota",
    "notice_days",
)


def _check_batch(values: dict[str, Any]) -> None:
    # A PATCH may send an explicit null: the merged batch then lacks a value it must have.
    errors = {k: "不能为空" for k in BATCH_FIELDS if values.get(k) is None}
    if errors:
        raise ValidationFailed("批次信息有误", fields=errors)
    if values["submission_deadline"] < values["registration_deadline"]:
        errors["submission_deadline"] = "推荐单位报送截止时间不能早于注册截止时间"
    if not 0 <= values["quota"] <= 100:
        errors["quota"] = "推荐名额须在 0 至 100 之间"
    if not 1 <= values["notice_days"] <= 60:
        errors["notice_days"] = "公示天数须在 1 至 60 之间"
    if not 2020 <= values["year"] <= 2100:
        errors["year"] = "年度不正确"
    if not 1 <= values["number"] <= 12:
        errors["number"] = "批次序号须在 1 至 12 之间"
    if errors:
        raise ValidationFailed("批次信息有误", fields=errors)


def create_batch(session: Session, user: User, values: dict[str, Any]) -> Batch:
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    _check_batch(values)
    if session.exec(
        select(Batch).where(Batch.year == values["year"], Batch.number == values["number"])
    ).first():
        raise Conflict(f"{values['year']}年第{values['number']}批已存在", code="batch_exists")
    batch = Batch(**values)
    session.add(batch)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.create",
        object_type="batch",
        object_id=batch.id,
        payload=_batch_payload(batch),
    )
    return batch


def update_batch(session: Session, user: User, batch_id: int, changes: dict[str, Any]) -> Batch:
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    batch = get_batch(session, batch_id)
    merged = {**_batch_payload(batch, raw=True), **changes}
    _check_batch(merged)
    clash = session.exec(
        select(Batch).where(
            Batch.year == merged["year"], Batch.number == merged["number"], Batch.id != batch.id
        )
    ).first()
    if clash:
        raise Conflict(f"{merged['year']}年第{merged['number']}批已存在", code="batch_exists")
    for key, value in changes.items():
        setattr(batch, key, value)
    session.add(batch)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.update",
        object_type="batch",
        object_id=batch.id,
        payload={
            "changes": {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()
            }
        },
    )
    return batch


def _batch_payload(batch: Batch, raw: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "year": batch.year,
        "number": batch.number,
        "quota": batch.quota,
        "notice_days": batch.notice_days,
        "registration_deadline": batch.registration_deadline,
        "submission_deadline": batch.submission_deadline,
    }
    if not raw:
        out["registration_deadline"] = batch.registration_deadline.isoformat()
        out["submission_deadline"] = batch.submission_deadline.isoformat()
    return out


def batch_open(batch: Batch, now: datetime | None = None) -> bool:
    return before(now_or_clock(now), batch.registration_deadline)
