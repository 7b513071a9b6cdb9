"""The recommending unit's part: the initial review (初评) of each submission and the
recommendation to the ministry within the batch's quota (原则上不超过5部; exceptions by the admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role, require_unit_of
from backend.core.dates import before, deadline_zh, now_or_clock
from backend.core.db import utcnow
from backend.core.errors import Conflict
from backend.core.validation import required_text
from backend.orgs.service import unit_by_code
from backend.workflow import notifications as notes
from backend.workflow.batches import get_batch, intake_closed
from backend.workflow.models import (
    QuotaException,
    Recommendation,
    UnitDecision,
    UnitQuota,
    UnitReview,
)
from backend.works.models import Batch, Work, WorkStatus
from backend.works.service import get_work


def unit_reviews(session: Session, work: Work) -> list[UnitReview]:
    """Every 初评 conclusion on the work, oldest first."""
    return list(
        session.exec(
            select(UnitReview).where(UnitReview.work_id == work.id).order_by(col(UnitReview.id))
        )
    )


def latest_unit_review(session: Session, work: Work) -> UnitReview | None:
    return session.exec(
        select(UnitReview)
        .where(UnitReview.work_id == work.id, UnitReview.version == work.version)
        .order_by(col(UnitReview.id).desc())
    ).first()


def review_submission(
    session: Session,
    user: User,
    work_id: int,
    decision: UnitDecision,
    opinion: str,
    *,
    now: datetime | None = None,
) -> Work:
    """初评: pass (stays submitted, may then be recommended), reject, or return for changes."""
    now = now_or_clock(now)
    work = get_work(session, user, work_id, for_update=True)
    require_role(user, Role.unit_reviewer, message="只有推荐单位审核员可以进行初评")
    opinion = required_text(opinion, "opinion", "初评意见")
    if work.status is not WorkStatus.submitted:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不能初评", code="wrong_state")
    done = latest_unit_review(session, work)
    if done is not None:
        raise Conflict(
            f"本版本已完成初评（{UnitDecision(done.decision).label}）", code="already_reviewed"
        )
    session.add(
        UnitReview(
            work_id=work.id or 0,
            version=work.version,
            unit_id=work.unit_id,
            decision=decision,
            opinion=opinion,
            reviewer_id=user.id or 0,
            created_at=now,
        )
    )
    version = work.version
    if decision is UnitDecision.reject:
        work.status = WorkStatus.rejected
    elif decision is UnitDecision.return_:
        work.status = WorkStatus.returned
        work.version += 1  # the submitted version stays in work_versions
    work.updated_at = utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.unit_review.{decision.value}",
        object_type="work",
        object_id=work.id,
        payload={"version": version, "opinion": opinion, "status": work.status.value},
    )
    notes.notify(
        session,
        notes.producers(session, work.organisation_id),
        f"《{work.title}》{decision.label}",
        opinion,
        f"/works/{work.id}/application",
    )
    return work


def _quota_row(session: Session, unit_id: int, batch_id: int) -> UnitQuota:
    """The unit+batch counter row, created if missing and locked FOR UPDATE until commit."""
    dialect = session.get_bind().dialect.name
    values = {"unit_id": unit_id, "batch_id": batch_id, "used": 0, "extra": 0}
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(UnitQuota).values(**values)
    session.execute(ins.on_conflict_do_nothing(index_elements=["unit_id", "batch_id"]))
    row = session.exec(
        select(UnitQuota)
        .where(UnitQuota.unit_id == unit_id, UnitQuota.batch_id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def quota_status(session: Session, unit_id: int, batch: Batch) -> dict[str, Any]:
    row = session.exec(
        select(UnitQuota).where(UnitQuota.unit_id == unit_id, UnitQuota.batch_id == batch.id)
    ).first()
    used, extra = (row.used, row.extra) if row else (0, 0)
    return {
        "batch_id": batch.id,
        "unit_id": unit_id,
        "quota": batch.quota,
        "extra": extra,
        "used": used,
        "remaining": max(batch.quota + extra - used, 0),
    }


def recommend_blocker(
    session: Session, unit_id: int, batch: Batch, now: datetime | None = None, *, lock: bool = False
) -> Conflict | None:
    """Why this unit cannot recommend into the batch now (shown on the page before the click),
    or None: 公示 out, submission deadline passed, or quota used up. ``lock`` (the act itself)
    takes the quota row FOR UPDATE; pages read it without a lock."""
    now = now_or_clock(now)
    closed = intake_closed(session, batch, now)
    if closed is not None:
        return Conflict(closed, code="batch_closed")
    if not before(now, batch.submission_deadline):
        return Conflict(
            f"已超过报送截止时间 {deadline_zh(batch.submission_deadline)}", code="deadline_passed"
        )
    if lock:
        row = _quota_row(session, unit_id, batch.id or 0)
        used, extra_n = row.used, row.extra
    else:
        status = quota_status(session, unit_id, batch)
        used, extra_n = status["used"], status["extra"]
    if used >= batch.quota + extra_n:
        extra = f"（含管理员批准的例外 {extra_n} 部）" if extra_n else ""
        return Conflict(
            f"本单位{batch.label}推荐名额已用完：每批原则上不超过 {batch.quota} 部{extra}，"
            f"已推荐 {used} 部",
            code="quota_exceeded",
            extra={"quota": batch.quota, "used": used, "extra": extra_n},
        )
    return None


def recommend(
    session: Session, user: User, work_id: int, opinion: str = "", *, now: datetime | None = None
) -> Work:
    """推荐至总局: before the submission deadline, at most quota (+ recorded exceptions)."""
    now = now_or_clock(now)
    work = get_work(session, user, work_id, for_update=True)
    require_role(user, Role.unit_reviewer, message="只有推荐单位审核员可以推荐作品")
    if work.status is not WorkStatus.submitted:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不能推荐", code="wrong_state")
    review = latest_unit_review(session, work)
    if review is None or review.decision != UnitDecision.passed:
        raise Conflict("须先完成初评且结论为通过，才能推荐", code="not_passed")
    batch = session.get(Batch, work.batch_id) if work.batch_id else None
    if batch is None:
        raise Conflict("作品未选择批次", code="no_batch")
    blocker = recommend_blocker(session, work.unit_id, batch, now, lock=True)
    if blocker is not None:
        raise blocker
    counter = _quota_row(session, work.unit_id, batch.id or 0)
    counter.used += 1
    session.add(counter)
    session.add(
        Recommendation(
            work_id=work.id or 0,
            unit_id=work.unit_id,
            batch_id=batch.id or 0,
            opinion=(opinion or "").strip(),
            recommended_by=user.id or 0,
            beyond_quota=counter.used > batch.quota,
            created_at=now,
        )
    )
    work.status, work.updated_at = WorkStatus.recommended, utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action="work.recommend",
        object_type="work",
        object_id=work.id,
        payload={
            "batch_id": batch.id,
            "unit_id": work.unit_id,
            "used": counter.used,
            "quota": batch.quota,
            "extra": counter.extra,
            "beyond_quota": counter.used > batch.quota,
        },
    )
    notes.notify(
        session,
        notes.with_role(session, Role.ministry_officer),
        f"新推荐作品：《{work.title}》",
        f"{batch.label}，请安排复评。",
        "/reviews/ministry",
    )
    notes.notify(
        session,
        notes.producers(session, work.organisation_id),
        f"《{work.title}》已推荐至总局",
        opinion or "",
        f"/works/{work.id}/application",
    )
    return work


def grant_quota_exception(
    session: Session, user: User, batch_id: int, unit_code: str, reason: str
) -> UnitQuota:
    """原则上不超过5部: an admin's recorded +1 for one unit and batch, never silent."""
    require_role(user, Role.admin, message="只有系统管理员可以批准名额例外")
    reason = required_text(reason, "reason", "例外理由")
    batch = get_batch(session, batch_id)
    unit = unit_by_code(session, unit_code)
    counter = _quota_row(session, unit.id or 0, batch.id or 0)
    counter.extra += 1
    session.add(counter)
    session.add(
        QuotaException(
            unit_id=unit.id or 0, batch_id=batch.id or 0, reason=reason, granted_by=user.id or 0
        )
    )
    session.flush()
    record(
        session,
        actor=user,
        action="quota.exception",
        object_type="unit_quota",
        object_id=counter.id,
        payload={"unit": unit.code, "batch_id": batch.id, "extra": counter.extra, "reason": reason},
    )
    notes.notify(
        session,
        notes.unit_reviewers(session, unit.id or 0),
        f"{batch.label}推荐名额增加 1 部",
        reason,
        "/reviews/unit",
    )
    return counter


def quota_exceptions(session: Session, batch_id: int) -> list[QuotaException]:
    return list(
        session.exec(
            select(QuotaException)
            .where(QuotaException.batch_id == batch_id)
            .order_by(col(QuotaException.id))
        )
    )


def unit_queue(session: Session, user: User, batch_id: int | None = None) -> list[Work]:
    """The unit's submissions (every state after the draft), optionally for one batch."""
    require_role(user, Role.unit_reviewer, message="只有推荐单位审核员可以查看初评队列")
    unit = require_unit_of(session, user)
    query = select(Work).where(Work.unit_id == unit.id, Work.status != WorkStatus.draft)
    if batch_id is not None:
        query = query.where(Work.batch_id == batch_id)
    return list(session.exec(query.order_by(col(Work.submitted_at).desc(), col(Work.id))))


def count_unit_pending(session: Session, user: User) -> int:
    unit = require_unit_of(session, user)
    return session.exec(
        select(func.count())
        .select_from(Work)
        .where(Work.unit_id == unit.id, Work.status == WorkStatus.submitted)
    ).one()
