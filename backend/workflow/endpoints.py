"""JSON API of the application workflow (under /api/v1): batches, documents, submission, the
unit's review and recommendation, expert review, decisions, the public notice, notifications."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from backend.auth.deps import CurrentUser, SessionDep, client_address
from backend.auth.models import Role
from backend.auth.service import require_role, require_unit_of
from backend.core.config import get_settings
from backend.core.dates import deadline_zh
from backend.core.errors import NotFound, ValidationFailed
from backend.core.responses import content_disposition
from backend.core.schemas import error_responses
from backend.documents.converter import ConverterPool, get_pool
from backend.workflow import (
    applications,
    batches,
    experts,
    notices,
    selection,
    signing,
    unit_review,
)
from backend.workflow import notifications as notes
from backend.workflow.models import DocumentSlot, SelectionDecision
from backend.workflow.schemas import (
    ApplicationRead,
    AssignIn,
    BatchIn,
    BatchPatch,
    BatchRead,
    BatchReopen,
    ConcludeIn,
    DecisionIn,
    DecisionRead,
    DocumentRead,
    NoticeRead,
    NotificationRead,
    ObjectionIn,
    ObjectionRead,
    QuotaExceptionIn,
    QuotaRead,
    RecommendIn,
    ResolveIn,
    ScoreIn,
    SignDocumentIn,
    UnitReviewIn,
)
from backend.works.models import Batch, Work
from backend.works.schemas import WorkRead
from backend.works.service import EDITABLE, get_work, list_batches, to_read

router = APIRouter(prefix="/api/v1", tags=["workflow"])
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


def batch_read(session: Session, batch: Batch) -> BatchRead:
    phase = batches.batch_phase(session, batch)
    return BatchRead(
        id=batch.id or 0,
        year=batch.year,
        number=batch.number,
        label=batch.label,
        registration_deadline=batch.registration_deadline,
        submission_deadline=batch.submission_deadline,
        registration_deadline_beijing=deadline_zh(batch.registration_deadline),
        submission_deadline_beijing=deadline_zh(batch.submission_deadline),
        quota=batch.quota,
        notice_days=batch.notice_days,
        open=batches.batch_open(batch),
        phase=phase.value,
        phase_label=phase.label,
    )


def slot_from_url(name: str) -> DocumentSlot:
    for slot in DocumentSlot:
        if slot.url_name == name:
            return slot
    raise NotFound("未知的申报材料类型（application 或 copyright-pledge）", code="unknown_document")


def application_read(session: Session, work: Work) -> ApplicationRead:
    docs = applications.current_documents(session, work)
    problems = applications.eligibility_problems(session, work) if work.status in EDITABLE else {}
    last = unit_review.latest_unit_review(session, work)
    return ApplicationRead(
        work_id=work.id or 0,
        status=work.status.value,
        status_label=work.status.label,
        version=work.version,
        documents=[document_read(d) for d in docs.values()],
        eligible=not problems,
        problems=problems,
        unit_review=(
            {"decision": last.decision, "opinion": last.opinion, "at": last.created_at.isoformat()}
            if last
            else None
        ),
        funding=selection.funding_status(session, work),
    )


def decision_read(row: SelectionDecision, work: Work) -> DecisionRead:
    return DecisionRead(
        work_id=row.work_id,
        round=row.round,
        selected=row.selected,
        reason=row.reason,
        grant_eligible=row.grant_eligible,
        funding_note=row.funding_note,
        status=work.status.value,
    )


# --- batches ----------------------------------------------------------------------------------


@router.get("/batches", response_model=list[BatchRead], summary="批次列表")
def batches_index(session: SessionDep, user: CurrentUser) -> list[BatchRead]:
    return [batch_read(session, b) for b in list_batches(session)]


@router.post("/batches", response_model=BatchRead, status_code=201, summary="新建批次（管理员）")
def create_batch(body: BatchIn, session: SessionDep, user: CurrentUser) -> BatchRead:
    return batch_read(session, batches.create_batch(session, user, body.model_dump()))


@router.patch("/batches/{batch_id}", response_model=BatchRead, summary="修改批次（管理员）")
def update_batch(
    batch_id: int, body: BatchPatch, session: SessionDep, user: CurrentUser
) -> BatchRead:
    return batch_read(
        session,
        batches.update_batch(session, user, batch_id, body.model_dump(exclude_unset=True)),
    )


@router.post(
    "/batches/{batch_id}/reopen",
    response_model=BatchRead,
    summary="重新开放批次（管理员：延后已过的截止时间，须说明理由；公示后不可）",
    responses=error_responses(403, 404, 409, 422),
)
def reopen_batch(
    batch_id: int, body: BatchReopen, session: SessionDep, user: CurrentUser
) -> BatchRead:
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)
    return batch_read(session, batches.reopen_batch(session, user, batch_id, changes, body.reason))


@router.post(
    "/batches/{batch_id}/quota-exceptions",
    response_model=QuotaRead,
    status_code=201,
    summary="批准推荐名额例外 +1（管理员，须说明理由）",
)
def quota_exception(
    batch_id: int, body: QuotaExceptionIn, session: SessionDep, user: CurrentUser
) -> QuotaRead:
    row = unit_review.grant_quota_exception(session, user, batch_id, body.unit_code, body.reason)
    return QuotaRead(
        **unit_review.quota_status(session, row.unit_id, batches.get_batch(session, batch_id))
    )


@router.get("/batches/{batch_id}/quota", response_model=QuotaRead, summary="本单位推荐名额使用情况")
def my_quota(batch_id: int, session: SessionDep, user: CurrentUser) -> QuotaRead:
    require_role(user, Role.unit_reviewer)
    unit = require_unit_of(session, user)
    return QuotaRead(
        **unit_review.quota_status(session, unit.id or 0, batches.get_batch(session, batch_id))
    )


# --- producer: documents and submission -------------------------------------------------------


@router.get(
    "/works/{work_id}/application", response_model=ApplicationRead, summary="申报状态与资格检查"
)
def application(work_id: int, session: SessionDep, user: CurrentUser) -> ApplicationRead:
    return application_read(session, get_work(session, user, work_id))


@router.post(
    "/works/{work_id}/documents/{kind}/upload",
    response_model=DocumentRead,
    status_code=201,
    summary="上传签字盖章的申请书/承诺书扫描件（PDF）",
)
async def upload(
    work_id: int,
    kind: str,
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="PDF 扫描件")],
) -> DocumentRead:
    slot = slot_from_url(kind)
    limit = get_settings().upload_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed(
            "文件过大", fields={"file": f"文件不能超过 {limit // (1024 * 1024)} MB"}
        )
    d = applications.upload_document(session, user, work_id, slot, data, file.filename or "")
    return document_read(d)


def document_read(d: Any) -> DocumentRead:
    return DocumentRead(
        slot=d.slot,
        label=DocumentSlot(d.slot).label,
        version=d.version,
        provided_by=d.provided_by,
        provided_by_label=d.provided_by.label,
        sha256=d.sha256,
        size=d.size,
        pages=d.pages,
        filename=d.filename,
        created_at=d.created_at,
    )


@router.post(
    "/works/{work_id}/documents/{kind}/sign",
    response_model=DocumentRead,
    status_code=201,
    summary="在线签章：以本机构电子印章签署预填的申请书/承诺书（需再次输入密码）",
    responses={
        403: {"description": "密码错误或角色无权签署"},
        404: {"description": "无权查看或不存在"},
        409: {"description": "作品已提交（冻结）或机构没有有效印章证书"},
        429: {"description": "密码错误次数过多"},
    },
)
async def sign_document(
    work_id: int,
    kind: str,
    body: SignDocumentIn,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    pool: Annotated[ConverterPool, Depends(get_pool)],
) -> DocumentRead:
    slot = slot_from_url(kind)
    d = await signing.sign_online(
        session, user, work_id, slot, body.password, client_address(request), pool
    )
    return document_read(d)


@router.get(
    "/works/{work_id}/documents/{kind}/provided.pdf", summary="下载已提供的申请书/承诺书 PDF"
)
def provided_pdf(
    work_id: int, kind: str, session: SessionDep, user: CurrentUser, version: int | None = None
) -> Response:
    row, data = applications.document_bytes(session, user, work_id, slot_from_url(kind), version)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"{kind}-v{row.version}.pdf", inline=True)
        },
    )


@router.post("/works/{work_id}/submit", response_model=WorkRead, summary="提交推荐单位（资格审查）")
def submit(work_id: int, session: SessionDep, user: CurrentUser) -> WorkRead:
    return to_read(session, applications.submit(session, user, work_id))


@router.get("/works/{work_id}/versions", summary="已提交版本快照")
def versions(work_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "submitted_at": v.submitted_at.isoformat(),
            "snapshot": json.loads(v.snapshot),
        }
        for v in applications.versions(session, user, work_id)
    ]


# --- unit: initial review and recommendation --------------------------------------------------


@router.get("/reviews/unit", response_model=list[WorkRead], summary="本单位收到的申报（初评队列）")
def unit_queue(
    session: SessionDep, user: CurrentUser, batch_id: Annotated[int | None, Query()] = None
) -> list[WorkRead]:
    return [to_read(session, w) for w in unit_review.unit_queue(session, user, batch_id)]


@router.post(
    "/reviews/unit/{work_id}", response_model=WorkRead, summary="初评：通过/不通过/退回修改"
)
def record_unit_review(
    work_id: int, body: UnitReviewIn, session: SessionDep, user: CurrentUser
) -> WorkRead:
    return to_read(
        session, unit_review.review_submission(session, user, work_id, body.decision, body.opinion)
    )


@router.post(
    "/works/{work_id}/recommend", response_model=WorkRead, summary="推荐至总局（受名额限制）"
)
def recommend(
    work_id: int, session: SessionDep, user: CurrentUser, body: RecommendIn | None = None
) -> WorkRead:
    return to_read(
        session, unit_review.recommend(session, user, work_id, body.opinion if body else "")
    )


# --- ministry and experts ---------------------------------------------------------------------


@router.get("/reviews/criteria", summary="公布的评分标准")
def criteria() -> list[dict[str, Any]]:
    return [{"key": c.key, "label": c.label, "max_points": c.max_points} for c in experts.CRITERIA]


@router.get("/reviews/batches/{batch_id}", summary="推荐作品评审汇总与排名（总局）")
def standings(batch_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    out = []
    for s in selection.standings(session, user, batch_id):
        out.append(
            {
                "work_id": s.work.id,
                "title": s.work.title,
                "organisation": s.organisation,
                "unit": s.unit,
                "status": s.work.status.value,
                "rank": s.rank,
                "second": s.second.__dict__,
                "final": s.final.__dict__,
                "central_support_received": s.work.central_support_received,
                "decision": (
                    {
                        "round": s.decision.round,
                        "selected": s.decision.selected,
                        "reason": s.decision.reason,
                        "grant_eligible": s.decision.grant_eligible,
                        "funding_note": s.decision.funding_note,
                    }
                    if s.decision
                    else None
                ),
            }
        )
    return out


@router.post("/reviews/{work_id}/assignments", status_code=201, summary="分配复评/终评专家（总局）")
def assign(work_id: int, body: AssignIn, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    made = experts.assign_experts(
        session, user, work_id, body.round, list(body.expert_ids), usernames=body.expert_usernames
    )
    return {"work_id": work_id, "round": body.round, "assigned": [m.expert_id for m in made]}


@router.get("/reviews/assignments", summary="分配给我的评审任务（专家）")
def my_tasks(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "work_id": t.work.id,
            "title": t.work.title,
            "round": t.round,
            "open": t.open,
            "total": t.score.total if t.score else None,
        }
        for t in experts.expert_tasks(session, user)
    ]


@router.post("/reviews/{work_id}/scores", status_code=201, summary="专家打分（每轮一次）")
def score(work_id: int, body: ScoreIn, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    row = experts.score_work(session, user, work_id, body.round, body.scores, body.opinion)
    return {"work_id": work_id, "round": row.round, "total": row.total}


@router.post(
    "/reviews/{work_id}/second-round-conclusion",
    response_model=DecisionRead,
    summary="复评结论：进入终评或未入选（总局）",
)
def conclude(
    work_id: int, body: ConcludeIn, session: SessionDep, user: CurrentUser
) -> DecisionRead:
    row = selection.conclude_second_round(session, user, work_id, body.advance, body.reason)
    return decision_read(row, get_work(session, user, work_id))


@router.post(
    "/reviews/{work_id}/decision",
    response_model=DecisionRead,
    summary="终评决定：拟入选或未入选（总局）",
)
def decision(
    work_id: int, body: DecisionIn, session: SessionDep, user: CurrentUser
) -> DecisionRead:
    row = selection.decide(session, user, work_id, body.selected, body.reason)
    return decision_read(row, get_work(session, user, work_id))


# --- public notice ----------------------------------------------------------------------------


def notice_read(session: Session, batch_id: int) -> NoticeRead:
    batch, notice, rows = notices.public_list(session, batch_id)
    return NoticeRead(
        batch_id=batch_id,
        batch_label=batch.label,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        ends_at_beijing=deadline_zh(notice.ends_at),
        confirmed_at=notice.confirmed_at,
        works=rows,
    )


@router.post(
    "/batches/{batch_id}/notice",
    response_model=NoticeRead,
    status_code=201,
    summary="发布入选名单公示（总局）",
)
def publish(batch_id: int, session: SessionDep, user: CurrentUser) -> NoticeRead:
    notices.publish_notice(session, user, batch_id)
    return notice_read(session, batch_id)


@router.post(
    "/batches/{batch_id}/notice/objections",
    response_model=ObjectionRead,
    status_code=201,
    summary="登记公示异议（总局）",
)
def objection(
    batch_id: int, body: ObjectionIn, session: SessionDep, user: CurrentUser
) -> ObjectionRead:
    o = notices.record_objection(
        session, user, batch_id, body.work_id, body.submitter, body.content
    )
    return ObjectionRead(**o.model_dump())


@router.post(
    "/objections/{objection_id}/resolve",
    response_model=ObjectionRead,
    summary="处理公示异议（总局）",
)
def resolve(
    objection_id: int, body: ResolveIn, session: SessionDep, user: CurrentUser
) -> ObjectionRead:
    o = notices.resolve_objection(session, user, objection_id, body.upheld, body.resolution)
    return ObjectionRead(**o.model_dump())


@router.post(
    "/batches/{batch_id}/confirm", response_model=NoticeRead, summary="公示期满确认入选（总局）"
)
def confirm(batch_id: int, session: SessionDep, user: CurrentUser) -> NoticeRead:
    notices.confirm_selection(session, user, batch_id)
    return notice_read(session, batch_id)


@public_router.get(
    "/notices/{batch_id}", response_model=NoticeRead, summary="入选名单公示（无需登录）"
)
def public_notice(batch_id: int, session: SessionDep) -> NoticeRead:
    return notice_read(session, batch_id)


# --- notifications ----------------------------------------------------------------------------


@router.get("/notifications", response_model=list[NotificationRead], summary="我的站内通知")
def my_notifications(session: SessionDep, user: CurrentUser) -> list[NotificationRead]:
    return [NotificationRead(**n.model_dump()) for n in notes.list_notifications(session, user)]


@router.post(
    "/notifications/{notification_id}/read", response_model=NotificationRead, summary="标为已读"
)
def read_notification(
    notification_id: int, session: SessionDep, user: CurrentUser
) -> NotificationRead:
    return NotificationRead(**notes.mark_read(session, user, notification_id).model_dump())
