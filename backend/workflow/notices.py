"""The public notice (公示) of a batch's selected works, objections during it, and the
confirmation (确认入选) once it has ended. The public list needs no login."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.core.dates import SHANGHAI, before, deadline_zh, end_of_day, now_or_clock
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.core.validation import required_text
from backend.orgs.models import Organisation, RecommendingUnit
from backend.workflow import notifications as notes
from backend.workflow.batches import get_batch
from backend.workflow.experts import require_officer
from backend.workflow.models import (
    Objection,
    ObjectionOutcome,
    PublicNotice,
    ReviewRound,
)
from backend.workflow.selection import funding_status, record_decision, tell_outcome
from backend.works.models import Batch, Work, WorkStatus

REVIEW_STATES = (WorkStatus.recommended, WorkStatus.second_review, WorkStatus.final_review)


def published_notices(session: Session) -> list[PublicNotice]:
    """Every published notice, the newest first (the public index)."""
    return list(session.exec(select(PublicNotice).order_by(col(PublicNotice.id).desc())))


def notice_for(session: Session, batch_id: int) -> PublicNotice | None:
    return session.exec(select(PublicNotice).where(PublicNotice.batch_id == batch_id)).first()


def publish_blocker(session: Session, batch: Batch, works: list[Work]) -> Conflict | None:
    """Why the batch's notice cannot be published (shown before the click), or None."""
    if notice_for(session, batch.id or 0):
        return Conflict(f"{batch.label}入选名单已公示", code="notice_exists")
    pending = [w for w in works if w.status in REVIEW_STATES]
    if pending:
        return Conflict(
            f"尚有 {len(pending)} 部作品未完成评审："
            + "、".join(f"《{w.title}》" for w in pending),
            code="review_pending",
        )
    if not any(w.status is WorkStatus.selected for w in works):
        return Conflict("本批次没有拟入选作品，无需公示", code="nothing_selected")
    return None


def batch_works(session: Session, batch_id: int) -> list[Work]:
    return list(session.exec(select(Work).where(Work.batch_id == batch_id).order_by(col(Work.id))))


def publish_notice(
    session: Session, user: User, batch_id: int, *, now: datetime | None = None
) -> PublicNotice:
    require_officer(user)
    now = now_or_clock(now)
    batch = get_batch(session, batch_id)
    works = list(session.exec(select(Work).where(Work.batch_id == batch_id).with_for_update()))
    blocker = publish_blocker(session, batch, works)
    if blocker is not None:
        raise blocker
    chosen = [w for w in works if w.status is WorkStatus.selected]
    start_day = now.astimezone(SHANGHAI).date()
    notice = PublicNotice(
        batch_id=batch_id,
        starts_at=now,
        ends_at=end_of_day(start_day + timedelta(days=batch.notice_days - 1)),
        published_by=user.id or 0,
    )
    session.add(notice)
    for w in chosen:
        w.status, w.updated_at = WorkStatus.in_notice, utcnow()
        session.add(w)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.notice.publish",
        object_type="batch",
        object_id=batch_id,
        payload={
            "works": [w.id for w in chosen],
            "starts_at": now.isoformat(),
            "ends_at": notice.ends_at.isoformat(),
        },
    )
    for w in chosen:
        tell_outcome(session, w, "进入公示", f"公示期至 {deadline_zh(notice.ends_at)}")
    return notice


def record_objection(
    session: Session,
    user: User,
    batch_id: int,
    work_id: int,
    submitter: str,
    content: str,
    *,
    now: datetime | None = None,
) -> Objection:
    require_officer(user)
    now = now_or_clock(now)
    notice = notice_for(session, batch_id)
    if notice is None:
        raise NotFound("该批次尚未公示", code="notice_not_found")
    if notice.confirmed_at is not None:
        raise Conflict("公示已结束并确认，不再受理异议", code="notice_closed")
    submitter = required_text(submitter, "submitter", "异议人")
    content = required_text(content, "content", "异议内容")
    work = session.get(Work, work_id)
    if work is None or work.batch_id != batch_id or work.status is not WorkStatus.in_notice:
        raise ValidationFailed(
            "该作品不在本批次公示名单中", fields={"work_id": "该作品不在本批次公示名单中"}
        )
    row = Objection(
        notice_id=notice.id or 0,
        work_id=work_id,
        submitter=submitter[:100],
        content=content,
        recorded_by=user.id or 0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=user,
        action="notice.objection.record",
        object_type="objection",
        object_id=row.id,
        payload={"work_id": work_id, "submitter": submitter, "content": content},
    )
    notes.notify(
        session,
        notes.with_role(session, Role.ministry_officer),
        f"公示异议：《{work.title}》",
        content,
        "/reviews/ministry",
    )
    return row


def resolve_objection(
    session: Session, user: User, objection_id: int, upheld: bool, resolution: str
) -> Objection:
    require_officer(user)
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound("未找到该异议", code="objection_not_found")
    if row.outcome != ObjectionOutcome.open:
        raise Conflict("该异议已处理", code="already_resolved")
    resolution = required_text(resolution, "resolution", "处理意见")
    row.outcome = ObjectionOutcome.upheld if upheld else ObjectionOutcome.dismissed
    row.resolution, row.resolved_by, row.resolved_at = resolution, user.id, utcnow()
    session.add(row)
    work = session.get(Work, row.work_id)
    assert work is not None
    if upheld and work.status is WorkStatus.in_notice:
        record_decision(
            session,
            user,
            work,
            ReviewRound.final,
            False,
            f"公示异议成立：{resolution}",
            WorkStatus.not_selected,
        )
        tell_outcome(session, work, "因公示异议成立未入选", resolution)
    session.flush()
    record(
        session,
        actor=user,
        action="notice.objection.resolve",
        object_type="objection",
        object_id=row.id,
        payload={"outcome": row.outcome, "resolution": resolution},
    )
    return row


def objections(session: Session, batch_id: int) -> list[Objection]:
    notice = notice_for(session, batch_id)
    if notice is None:
        return []
    return list(
        session.exec(
            select(Objection).where(Objection.notice_id == notice.id).order_by(col(Objection.id))
        )
    )


def confirm_blocker(session: Session, batch: Batch, now: datetime | None = None) -> Conflict | None:
    """Why the selection cannot be confirmed yet (shown before the click), or None."""
    now = now_or_clock(now)
    notice = notice_for(session, batch.id or 0)
    if notice is None:
        return Conflict(f"{batch.label}尚未公示", code="notice_missing")
    if notice.confirmed_at is not None:
        return Conflict(f"{batch.label}入选名单已确认", code="already_confirmed")
    if before(now, notice.ends_at):
        return Conflict(
            f"公示期至 {deadline_zh(notice.ends_at)} 结束，期满后方可确认", code="notice_running"
        )
    open_ = [o for o in objections(session, batch.id or 0) if o.outcome == ObjectionOutcome.open]
    if open_:
        return Conflict(f"尚有 {len(open_)} 件异议未处理", code="objections_open")
    return None


def confirm_selection(
    session: Session, user: User, batch_id: int, *, now: datetime | None = None
) -> list[Work]:
    """After the notice period, with every objection resolved: in_notice → confirmed."""
    require_officer(user)
    now = now_or_clock(now)
    batch: Batch = get_batch(session, batch_id)
    blocker = confirm_blocker(session, batch, now)
    if blocker is not None:
        raise blocker
    notice = notice_for(session, batch_id)
    assert notice is not None
    works = list(
        session.exec(
            select(Work)
            .where(Work.batch_id == batch_id, Work.status == WorkStatus.in_notice)
            .with_for_update()
        )
    )
    for w in works:
        w.status, w.updated_at = WorkStatus.confirmed, utcnow()
        session.add(w)
    notice.confirmed_at, notice.confirmed_by = now, user.id
    session.add(notice)
    session.flush()
    record(
        session,
        actor=user,
        action="batch.selection.confirm",
        object_type="batch",
        object_id=batch_id,
        payload={"works": [w.id for w in works], "at": now.isoformat()},
    )
    for w in works:
        tell_outcome(session, w, "确认入选", "下一步：签订三方协议。")
    notes.notify(
        session,
        notes.with_role(session, Role.finance),
        f"{batch.label}入选名单已确认",
        f"共 {len(works)} 部作品",
        f"/public/notices/{batch_id}",
    )
    return works


def public_list(
    session: Session, batch_id: int
) -> tuple[Batch, PublicNotice, list[dict[str, Any]]]:
    """What the public notice page shows (no login): 404 until the batch is published."""
    batch = session.get(Batch, batch_id)
    notice = notice_for(session, batch_id) if batch else None
    if batch is None or notice is None:
        raise NotFound("未找到该批次的公示", code="notice_not_found")
    rows = []
    for w in session.exec(
        select(Work)
        .where(
            Work.batch_id == batch_id,
            col(Work.status).in_([WorkStatus.in_notice, WorkStatus.confirmed]),
        )
        .order_by(col(Work.id))
    ):
        org = session.get(Organisation, w.organisation_id)
        unit = session.get(RecommendingUnit, w.unit_id)
        rows.append(
            {
                "id": w.id,
                "title": w.title,
                "organisation": org.name if org else "",
                "unit": unit.name if unit else "",
                "direction": w.direction.label,
                "episodes": w.episodes,
                "status": w.status.label,
                "funding_note": funding_status(session, w)["note"],
            }
        )
    return batch, notice, rows


def notice_running(notice: PublicNotice, now: datetime | None = None) -> bool:
    return notice.confirmed_at is None and before(now_or_clock(now), notice.ends_at)
