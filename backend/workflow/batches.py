"""Batches (批次): create and change them (admin), their deadlines and their phase.

A batch moves through phases (``BatchPhase``): 申报 (until the registration deadline) → 推荐报送
(until the submission deadline) → 评审 → 公示 → 已确认. Moving a passed deadline into the future
re-opens intake: that is an explicit ``reopen_batch`` with a reason, never a side effect of
editing; after the 公示 is published intake never re-opens and the deadlines are fixed.

Service functions flush; the request or CLI command commits once. Every transition calls
`backend.audit_log.service.record` in the same transaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.dates import before, now_or_clock
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.workflow.models import PublicNotice
from backend.works.models import Batch

DEADLINES = ("registration_deadline", "submission_deadline")


class BatchPhase(StrEnum):
    registration = "registration"
    recommendation = "recommendation"
    review = "review"
    notice = "notice"
    confirmed = "confirmed"

    @property
    def label(self) -> str:
        return {
            BatchPhase.registration: "申报中",
            BatchPhase.recommendation: "推荐报送中",
            BatchPhase.review: "评审中",
            BatchPhase.notice: "已公示",
            BatchPhase.confirmed: "已确认入选",
        }[self]


def batch_notice(session: Session, batch_id: int) -> PublicNotice | None:
    return session.exec(select(PublicNotice).where(PublicNotice.batch_id == batch_id)).first()


def batch_phase(session: Session, batch: Batch, now: datetime | None = None) -> BatchPhase:
    notice = batch_notice(session, batch.id or 0)
    if notice is not None:
        return BatchPhase.confirmed if notice.confirmed_at else BatchPhase.notice
    now = now_or_clock(now)
    if before(now, batch.registration_deadline):
        return BatchPhase.registration
    if before(now, batch.submission_deadline):
        return BatchPhase.recommendation
    return BatchPhase.review


def intake_closed(session: Session, batch: Batch, now: datetime | None = None) -> str | None:
    """Why no new submission or recommendation may enter whatever the deadlines say, or None:
    from the moment the 公示 is published."""
    notice = batch_notice(session, batch.id or 0)
    if notice is not None and notice.starts_at <= now_or_clock(now):
        return f"{batch.label}入选名单已公示，不再接受申报或推荐"
    return None


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
    reopened = _reopened(batch, merged)
    moved = [k for k in DEADLINES if merged[k] != getattr(batch, k)]
    if moved and batch_notice(session, batch.id or 0) is not None:
        raise Conflict(f"{batch.label}入选名单已公示，截止时间不能再修改", code="notice_published")
    if reopened:
        raise Conflict(
            f"{batch.label}的{'、'.join(DEADLINE_LABELS[k] for k in reopened)}已过；"
            "延后已过的截止时间会重新开放申报或推荐，请使用“重新开放”并说明理由",
            code="reopen_required",
            fields={k: "已过的截止时间须通过“重新开放”延后" for k in reopened},
        )
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


DEADLINE_LABELS = {
    "registration_deadline": "注册提交截止时间",
    "submission_deadline": "推荐报送截止时间",
}


def _reopened(batch: Batch, merged: dict[str, Any], now: datetime | None = None) -> list[str]:
    """The deadlines that have passed and would move into the future (intake re-opens)."""
    now = now_or_clock(now)
    return [k for k in DEADLINES if not before(now, getattr(batch, k)) and before(now, merged[k])]


def reopen_batch(
    session: Session, user: User, batch_id: int, changes: dict[str, Any], reason: str
) -> Batch:
    """重新开放: the admin extends passed deadlines, with a reason; refused after 公示."""
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    batch = get_batch(session, batch_id)
    closed = intake_closed(session, batch)
    if closed is not None:
        raise Conflict(closed + "，不能重新开放", code="notice_published")
    if not reason.strip():
        raise ValidationFailed("请填写重新开放的理由", fields={"reason": "请填写重新开放的理由"})
    changes = {k: v for k, v in changes.items() if k in DEADLINES and v is not None}
    merged = {**_batch_payload(batch, raw=True), **changes}
    _check_batch(merged)
    reopened = _reopened(batch, merged)
    if not reopened:
        raise ValidationFailed(
            "重新开放须把已过的截止时间延后到现在之后",
            fields={k: "须晚于当前时间" for k in DEADLINES if k in changes} or None,
        )
    before_change = {k: getattr(batch, k).isoformat() for k in DEADLINES}
    for key, value in changes.items():
        setattr(batch, key, value)
    session.add(batch)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.reopen",
        object_type="batch",
        object_id=batch.id,
        payload={
            "reason": reason.strip(),
            "before": before_change,
            "after": {k: getattr(batch, k).isoformat() for k in DEADLINES},
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
