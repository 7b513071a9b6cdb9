"""Funding API under /api/v1 (tags: funding). Every POST takes an ``Idempotency-Key`` header
(required for money, optional for reviews and manual gates); a replay returns the first response."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backend.auth.deps import CurrentUser, SessionDep, client_address
from backend.auth.totp import StepUp, verify_step_up
from backend.core.errors import ValidationFailed
from backend.core.schemas import error_responses
from backend.funding import overview, reviews, service
from backend.funding.idempotency import idempotent, request_hash, stored
from backend.funding.schemas import (
    CREDENTIALS,
    ApproveBody,
    DisbursementCreate,
    DisbursementRead,
    FundingOverview,
    MilestoneRead,
    PayBody,
    ReasonBody,
    ReviewRead,
    ReviewRequestCreate,
    ReviewRequestRead,
)

router = APIRouter(prefix="/api/v1", tags=["funding"], responses=error_responses(401))
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
NOT_VISIBLE = {404: "协议（或其节点、拨付记录）不存在或您无权查看"}
READ_ERRORS = error_responses(404, 422, notes=NOT_VISIBLE)
# A POST: the role (403), scope (404), state or a reused Idempotency-Key (409), input (422).
WRITE_ERRORS = error_responses(
    403,
    404,
    409,
    422,
    429,
    notes={
        **NOT_VISIBLE,
        403: "角色无权、须由另一名财务人员办理（maker_checker），或密码/动态口令未通过"
        "（wrong_password、totp_required、totp_invalid、totp_enrolment_required）",
        409: "当前状态不允许此操作，或该 Idempotency-Key 已用于另一个请求",
        422: "提交的内容未通过校验（金额为整数分；缺少 Idempotency-Key 也是 422）",
    },
)


def _digest(request: Request, body: Any) -> str:
    """Method, path and body (a request model, or already JSON-able data) for Idempotency-Key;
    never the password or the code."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude=CREDENTIALS)
    return request_hash(request.method, request.url.path, body)


def _step_up(
    session: Session, user: Any, request: Request, body: ApproveBody | PayBody, key: str | None
) -> StepUp | None:
    """Password + TOTP before a money approval (when the user has TOTP or the role requires it),
    checked before the Idempotency-Key row is written; a replay of a stored key needs none."""
    if stored(session, user, key):
        return None
    return verify_step_up(
        session,
        user,
        password=body.password,
        code=body.totp_code,
        address=client_address(request),
        password_always=False,
    )


def _disbursement(session: Session, d_id: int) -> DisbursementRead:
    d = session.get(service.Disbursement, d_id)
    assert d is not None  # the service action just found it
    return service.disbursement_read(session, d)


def _disbursement_step(
    session: Session,
    user: Any,
    request: Request,
    body: Any,
    key: str | None,
    d_id: int,
    step: Callable[[], object],
) -> JSONResponse:
    """One money step on a disbursement under its Idempotency-Key: run it, answer the record."""

    def act() -> tuple[int, DisbursementRead]:
        step()
        return 200, _disbursement(session, d_id)

    return idempotent(session, user, key, _digest(request, body), act)


# --------------------------------------------------------------------------- reading
@router.get(
    "/agreements/{agreement_id}/milestones",
    response_model=list[MilestoneRead],
    summary="付款节点及其状态、解锁依据",
    responses=READ_ERRORS,
)
def list_milestones(
    agreement_id: int, session: SessionDep, user: CurrentUser
) -> list[MilestoneRead]:
    return overview.milestones(session, user, agreement_id)


@router.get(
    "/agreements/{agreement_id}/funding",
    response_model=FundingOverview,
    summary="资金拨付全貌：节点、解锁依据、检查验收、拨付流水、时间线",
    responses=READ_ERRORS,
)
def agreement_funding(agreement_id: int, session: SessionDep, user: CurrentUser) -> FundingOverview:
    return overview.funding(session, user, agreement_id)


@router.get(
    "/agreements/{agreement_id}/reviews",
    response_model=list[ReviewRead],
    summary="中期检查与审核验收记录",
    responses=READ_ERRORS,
)
def list_reviews(agreement_id: int, session: SessionDep, user: CurrentUser) -> list[ReviewRead]:
    service.get_agreement(session, user, agreement_id)
    return [reviews.review_read(session, r) for r in reviews.reviews_of(session, agreement_id)]


@router.get(
    "/disbursements",
    response_model=list[DisbursementRead],
    summary="拨付记录（本人可见的协议）",
    responses=READ_ERRORS,
)
def list_disbursements(
    session: SessionDep, user: CurrentUser, agreement_id: int | None = None
) -> list[DisbursementRead]:
    return [
        service.disbursement_read(session, d)
        for d in service.list_disbursements(session, user, agreement_id)
    ]


@router.get(
    "/disbursements/{disbursement_id}",
    response_model=DisbursementRead,
    summary="拨付记录详情（含审批、拨付、冲销流水）",
    responses=READ_ERRORS,
)
def get_disbursement(
    disbursement_id: int, session: SessionDep, user: CurrentUser
) -> DisbursementRead:
    return service.disbursement_read(
        session, service.get_disbursement(session, user, disbursement_id)
    )


# --------------------------------------------------------------------------- gates and reviews
@router.post(
    "/milestones/{milestone_id}/open-manually",
    response_model=MilestoneRead,
    summary="手动解锁付款节点（总局，须说明理由）",
    responses=WRITE_ERRORS,
)
def open_manually(
    milestone_id: int,
    body: ReasonBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def act() -> tuple[int, MilestoneRead]:
        service.open_manually(session, user, milestone_id, body.reason)
        return 200, next(
            m
            for m in overview.milestones(
                session, user, service.get_milestone(session, user, milestone_id)[0].id or 0
            )
            if m.id == milestone_id
        )

    return idempotent(
        session,
        user,
        idempotency_key,
        _digest(request, body),
        act,
        required=False,
    )


@router.post(
    "/agreements/{agreement_id}/review-requests",
    response_model=ReviewRequestRead,
    status_code=201,
    summary="申请中期检查或审核验收（节目制作机构）",
    responses=WRITE_ERRORS,
)
def request_review(
    agreement_id: int,
    body: ReviewRequestCreate,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def act() -> tuple[int, ReviewRequestRead]:
        req = reviews.request_review(session, user, agreement_id, body.kind, body.note)
        return 201, reviews.request_read(session, req)

    return idempotent(
        session,
        user,
        idempotency_key,
        _digest(request, body),
        act,
        required=False,
    )


def _form_list(form: Any, name: str) -> list[str]:
    values: list[str] = []
    for v in form.getlist(name):
        if isinstance(v, str):
            values.extend(part for part in v.replace("，", ",").replace("\n", ",").split(","))
    return [v.strip() for v in values if v.strip()]


@router.post(
    "/agreements/{agreement_id}/reviews",
    response_model=ReviewRead,
    status_code=201,
    summary="登记中期检查或审核验收结果（总局；multipart，附 PDF）",
    responses=WRITE_ERRORS,
)
async def record_review(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    reviews.check_can_record(session, user, agreement_id)  # before the body is read
    form = await request.form()
    files: list[tuple[str, bytes]] = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile):
            files.append((f.filename or "review.pdf", await f.read()))

    def text(name: str) -> str:
        v = form.get(name)
        return v.strip() if isinstance(v, str) else ""

    try:
        held_on = date.fromisoformat(text("held_on"))
    except ValueError:
        raise ValidationFailed(
            "请填写检查日期（YYYY-MM-DD）", fields={"held_on": "日期格式应为 YYYY-MM-DD"}
        ) from None
    request_id = text("request_id")
    if request_id and not request_id.isdigit():
        raise ValidationFailed("request_id 须为整数", fields={"request_id": "须为整数"})
    kind, result, opinion = text("kind"), text("result"), text("opinion")
    reviewers = _form_list(form, "reviewers")
    conditions = [c for c in form.getlist("conditions") if isinstance(c, str) and c.strip()]
    req_id = int(request_id) if request_id else None
    digest = _digest(
        request,
        {
            "kind": kind,
            "held_on": held_on.isoformat(),
            "result": result,
            "opinion": opinion,
            "reviewers": reviewers,
            "conditions": conditions,
            "request_id": req_id,
            "files": [hashlib.sha256(d).hexdigest() for _n, d in files],
        },
    )

    def act() -> tuple[int, ReviewRead]:
        review = reviews.record_review(
            session,
            user,
            agreement_id,
            kind=kind,
            held_on=held_on,
            reviewers=reviewers,
            result=result,
            opinion=opinion,
            attachments=files,
            conditions=conditions,
            request_id=req_id,
        )
        return 201, reviews.review_read(session, review)

    return await run_in_threadpool(
        idempotent, session, user, idempotency_key, digest, act, required=False
    )


# --------------------------------------------------------------------------- money
@router.post(
    "/disbursements",
    response_model=DisbursementRead,
    status_code=201,
    summary="申请拨付（财务；需 Idempotency-Key）",
    responses=WRITE_ERRORS,
)
def create_disbursement(
    body: DisbursementCreate,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def act() -> tuple[int, DisbursementRead]:
        d = service.request_disbursement(
            session,
            user,
            milestone_id=body.milestone_id,
            amount_fen=body.amount_fen,
            planned_on=body.planned_on,
            note=body.note,
        )
        return 201, service.disbursement_read(session, d)

    return idempotent(session, user, idempotency_key, _digest(request, body), act)


@router.post(
    "/disbursements/{disbursement_id}/approve",
    response_model=DisbursementRead,
    summary="审批通过（另一名财务人员）",
    responses=WRITE_ERRORS,
)
def approve(
    disbursement_id: int,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    body: ApproveBody | None = None,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    body = body or ApproveBody()
    proof = _step_up(session, user, request, body, idempotency_key)

    def step() -> None:
        service.approve(session, user, disbursement_id, body.note, step_up=proof)

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)


@router.post(
    "/disbursements/{disbursement_id}/reject",
    response_model=DisbursementRead,
    summary="退回（另一名财务人员，须说明理由）",
    responses=WRITE_ERRORS,
)
def reject(
    disbursement_id: int,
    body: ReasonBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def step() -> None:
        service.reject(session, user, disbursement_id, body.reason)

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)


@router.post(
    "/disbursements/{disbursement_id}/pay",
    response_model=DisbursementRead,
    summary="登记拨付（凭证号、银行流水号、拨付日期）",
    responses=WRITE_ERRORS,
)
def pay(
    disbursement_id: int,
    body: PayBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    proof = _step_up(session, user, request, body, idempotency_key)

    def step() -> None:
        service.pay(
            session,
            user,
            disbursement_id,
            voucher_no=body.voucher_no,
            bank_reference=body.bank_reference,
            paid_on=body.paid_on,
            step_up=proof,
        )

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)


@router.post(
    "/disbursements/{disbursement_id}/reverse",
    response_model=DisbursementRead,
    summary="申请冲销已拨付的款项（须由另一名财务人员批准；不修改、不删除原记录）",
    responses=WRITE_ERRORS,
)
def reverse(
    disbursement_id: int,
    body: ReasonBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def step() -> None:
        service.request_reversal(session, user, disbursement_id, body.reason)

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)


@router.post(
    "/disbursements/{disbursement_id}/reversal/approve",
    response_model=DisbursementRead,
    summary="批准冲销（另一名财务人员，不能是申请冲销的人）",
    responses=WRITE_ERRORS,
)
def approve_reversal(
    disbursement_id: int,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    body: ApproveBody | None = None,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    body = body or ApproveBody()
    proof = _step_up(session, user, request, body, idempotency_key)

    def step() -> None:
        service.approve_reversal(session, user, disbursement_id, body.note, step_up=proof)

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)


@router.post(
    "/disbursements/{disbursement_id}/reversal/reject",
    response_model=DisbursementRead,
    summary="退回冲销申请（另一名财务人员，须说明理由；原拨付保持有效）",
    responses=WRITE_ERRORS,
)
def reject_reversal(
    disbursement_id: int,
    body: ReasonBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def step() -> None:
        service.reject_reversal(session, user, disbursement_id, body.reason)

    return _disbursement_step(session, user, request, body, idempotency_key, disbursement_id, step)
