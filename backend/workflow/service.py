"""The application path up to the ministry: batches, the producer's documents and submission
(with the eligibility check), the unit's initial review (初评) and recommendation within the quota.

Service functions flush; the request or CLI command commits once. Every transition calls
`backend.audit_log.service.record` in the same transaction. Deadlines are compared against `now`
(aware; defaults to the clock) so tests and the demo can say when things happen."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backend.audit_log.service import record
from backend.auth.models import Role, User
from backend.auth.service import require_role, require_unit_of
from backend.core.canonical import canonical_json
from backend.core.dates import before, deadline_zh, now_or_clock
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.documents.store import get_store
from backend.documents.uploads import check_pdf
from backend.orgs.service import unit_by_code
from backend.workflow import notifications as notes
from backend.workflow.models import (
    ApplicationDocument,
    DocumentSlot,
    ProvidedBy,
    QuotaException,
    Recommendation,
    UnitDecision,
    UnitQuota,
    UnitReview,
    WorkVersion,
)
from backend.works.models import Batch, Work, WorkStatus
from backend.works.schemas import FILING_PATTERN
from backend.works.service import EDITABLE, get_work

_FILING_RE = re.compile(FILING_PATTERN)


def required_text(value: str | None, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"请填写{label}", fields={field: f"请填写{label}"})
    return value


# --- batches (批次) ----------------------------------------------------------------------------


def list_batches(session: Session) -> list[Batch]:
    return list(session.exec(select(Batch).order_by(col(Batch.year).desc(), col(Batch.number))))


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


# --- application documents (申请书、承诺书) -------------------------------------------------------


def _editable_own_work(session: Session, user: User, work_id: int) -> Work:
    work = get_work(session, user, work_id, for_update=True)  # 404 before 403
    require_role(user, Role.producer, message="只有作品所属的节目制作机构可以提供申报材料")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，申报材料已冻结", code="work_frozen")
    return work


def _put_document(
    session: Session,
    user: User,
    work: Work,
    slot: DocumentSlot,
    *,
    provided_by: ProvidedBy,
    sha256: str,
    size: int,
    pages: int,
    filename: str,
    document_id: int | None,
) -> ApplicationDocument:
    row = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id,
            ApplicationDocument.version == work.version,
            ApplicationDocument.slot == slot,
        )
    ).first()
    if row is None:
        row = ApplicationDocument(
            work_id=work.id or 0,
            version=work.version,
            slot=slot,
            provided_by=provided_by,
            sha256=sha256,
            size=size,
        )
    row.provided_by, row.sha256, row.size, row.pages = provided_by, sha256, size, pages
    row.filename, row.document_id, row.created_by, row.created_at = (
        filename[:200],
        document_id,
        user.id,
        utcnow(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=user,
        action=f"work.document.{provided_by.value}",
        object_type="work",
        object_id=work.id,
        payload={
            "slot": slot.value,
            "version": work.version,
            "sha256": sha256,
            "size": size,
            "pages": pages,
        },
    )
    return row


def upload_document(
    session: Session, user: User, work_id: int, slot: DocumentSlot, data: bytes, filename: str = ""
) -> ApplicationDocument:
    """The signed-and-sealed scan (PDF) of 申请书 or 承诺书, stored content-addressed."""
    work = _editable_own_work(session, user, work_id)
    pages = check_pdf(data)
    sha256 = get_store().put(data)  # content-addressed: a rollback leaves at most an orphan
    return _put_document(
        session,
        user,
        work,
        slot,
        provided_by=ProvidedBy.sealed_scan,
        sha256=sha256,
        size=len(data),
        pages=pages,
        filename=filename,
        document_id=None,
    )


def mark_documents_signed(
    session: Session,
    user: User,
    work_id: int,
    slot: DocumentSlot,
    *,
    sha256: str,
    document_id: int | None = None,
) -> ApplicationDocument:
    """HOOK for online signing (signing/ + backend.documents): call after the producer's PAdES
    signature over the rendered 申请书/承诺书 has been applied and the signed PDF stored in the
    blob store under `sha256`. This records that the slot is provided by an online signature;
    it does not sign anything itself and refuses bytes that are not a stored, readable PDF."""
    work = _editable_own_work(session, user, work_id)
    data = get_store().get(sha256)
    pages = check_pdf(data)
    return _put_document(
        session,
        user,
        work,
        slot,
        provided_by=ProvidedBy.signed_online,
        sha256=sha256,
        size=len(data),
        pages=pages,
        filename="",
        document_id=document_id,
    )


def current_documents(session: Session, work: Work) -> dict[DocumentSlot, ApplicationDocument]:
    rows = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id, ApplicationDocument.version == work.version
        )
    )
    return {DocumentSlot(r.slot): r for r in rows}


def document_bytes(
    session: Session, user: User, work_id: int, slot: DocumentSlot, version: int | None = None
) -> tuple[ApplicationDocument, bytes]:
    work = get_work(session, user, work_id)
    row = session.exec(
        select(ApplicationDocument).where(
            ApplicationDocument.work_id == work.id,
            ApplicationDocument.version == (version or work.version),
            ApplicationDocument.slot == slot,
        )
    ).first()
    if row is None:
        raise NotFound(f"尚未提供{slot.label}", code="document_not_found")
    return row, get_store().get(row.sha256)


# --- eligibility and submission (资格审查、提交) -------------------------------------------------


def eligibility_problems(
    session: Session, work: Work, now: datetime | None = None
) -> dict[str, str]:
    """Every reason the work cannot be submitted now, in Chinese, at once (empty = eligible)."""
    now = now_or_clock(now)
    problems: dict[str, str] = {}
    filing = (work.filing_number or "").strip()
    if not filing:
        problems["filing_number"] = "未填写规划立项备案号（申报作品须通过微短剧规划立项备案）"
    elif not _FILING_RE.match(filing):
        problems["filing_number"] = "规划立项备案号格式不正确（6–60 位汉字、字母、数字或〔〕（）-）"
    if not work.is_original:
        problems["is_original"] = "申报作品须为原创微短剧"
    if work.is_online:
        problems["is_online"] = "申报作品须截至申报时未上线播出"
    docs = current_documents(session, work)
    for slot in DocumentSlot:
        if slot not in docs:
            problems[f"documents.{slot.url_name}"] = f"尚未上传或在线签署{slot.label}"
    batch = session.get(Batch, work.batch_id) if work.batch_id else None
    if batch is None:
        problems["batch_id"] = "未选择申报批次"
    elif work.status is WorkStatus.returned:
        # A returned application may be resubmitted until the unit's own deadline.
        if not before(now, batch.submission_deadline):
            problems["batch_id"] = (
                f"{batch.label}已超过报送截止时间 {deadline_zh(batch.submission_deadline)}"
            )
    elif not before(now, batch.registration_deadline):
        problems["batch_id"] = f"已超过注册截止时间 {deadline_zh(batch.registration_deadline)}"
    return problems


def snapshot(session: Session, work: Work) -> dict[str, Any]:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in work.model_dump().items()
    }
    data["documents"] = {
        slot.value: {"sha256": d.sha256, "provided_by": d.provided_by, "size": d.size}
        for slot, d in current_documents(session, work).items()
    }
    return data


def submit(session: Session, user: User, work_id: int, *, now: datetime | None = None) -> Work:
    """Producer → recommending unit. Frozen afterwards; the version's snapshot is kept."""
    now = now_or_clock(now)
    work = get_work(session, user, work_id, for_update=True)
    require_role(user, Role.producer, message="只有作品所属的节目制作机构可以提交申报")
    if work.status not in EDITABLE:
        raise Conflict(f"作品当前状态为“{work.status.label}”，不能重复提交", code="work_frozen")
    problems = eligibility_problems(session, work, now)
    if problems:
        raise ValidationFailed(
            "申报未通过资格审查：" + "；".join(problems.values()),
            code="not_eligible",
            fields=problems,
        )
    session.add(
        WorkVersion(
            work_id=work.id or 0,
            version=work.version,
            snapshot=canonical_json(snapshot(session, work)),
            submitted_by=user.id,
            submitted_at=now,
        )
    )
    previous = work.status
    work.status, work.submitted_at, work.updated_at = WorkStatus.submitted, now, utcnow()
    session.add(work)
    session.flush()
    record(
        session,
        actor=user,
        action="work.submit",
        object_type="work",
        object_id=work.id,
        payload={
            "version": work.version,
            "from": previous.value,
            "batch_id": work.batch_id,
            "unit_id": work.unit_id,
        },
    )
    notes.notify(
        session,
        notes.unit_reviewers(session, work.unit_id),
        f"收到新的申报：《{work.title}》",
        f"第 {work.version} 版，请在报送截止前完成初评。",
        f"/works/{work.id}/application",
    )
    return work


def versions(session: Session, user: User, work_id: int) -> list[WorkVersion]:
    work = get_work(session, user, work_id)
    return list(
        session.exec(
            select(WorkVersion)
            .where(WorkVersion.work_id == work.id)
            .order_by(col(WorkVersion.version))
        )
    )


# --- initial review (初评) ---------------------------------------------------------------------


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
    if not before(now, batch.submission_deadline):
        raise Conflict(
            f"已超过报送截止时间 {deadline_zh(batch.submission_deadline)}", code="deadline_passed"
        )
    counter = _quota_row(session, work.unit_id, batch.id or 0)
    limit = batch.quota + counter.extra
    if counter.used >= limit:
        extra = f"（含管理员批准的例外 {counter.extra} 部）" if counter.extra else ""
        raise Conflict(
            f"本单位{batch.label}推荐名额已用完：每批原则上不超过 {batch.quota} 部{extra}，"
            f"已推荐 {counter.used} 部",
            code="quota_exceeded",
            extra={"quota": batch.quota, "used": counter.used, "extra": counter.extra},
        )
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
