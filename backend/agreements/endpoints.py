"""三方协议 API under /api/v1/agreements (tags: agreements)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.agreements import service
from backend.agreements.models import Party
from backend.agreements.schemas import (
    AgreementCreate,
    AgreementDetail,
    AgreementRead,
    DeclineBody,
    SignBody,
    VoidBody,
)
from backend.auth.deps import CurrentUser, SessionDep, client_address
from backend.core.responses import download
from backend.core.schemas import error_responses

router = APIRouter(prefix="/api/v1/agreements", tags=["agreements"], responses=error_responses(401))
NOT_VISIBLE = {404: "协议不存在或您无权查看"}


@router.get(
    "",
    response_model=list[AgreementRead],
    summary="协议列表（本人可见的）",
    responses=error_responses(422),
)
def list_agreements(
    session: SessionDep, user: CurrentUser, work_id: int | None = None
) -> list[AgreementRead]:
    return [
        service.agreement_read(session, ag, user)
        for ag in service.list_agreements(session, user, work_id)
    ]


@router.post(
    "",
    response_model=AgreementRead,
    status_code=201,
    summary="生成三方协议（总局）",
    responses=error_responses(
        403,
        404,
        409,
        422,
        notes={
            403: "仅总局工作人员可以生成三方协议",
            404: "作品不存在",
            409: "作品未确认入选，或已有有效的三方协议",
            422: "金额或付款节点不一致（difference_fen：扶持资金减节点合计）",
        },
    ),
)
def create_agreement(
    body: AgreementCreate, session: SessionDep, user: CurrentUser
) -> AgreementRead:
    milestones = None
    if body.milestones is not None:
        milestones = [
            service.MilestoneInput(m.name, m.amount_fen, m.gate, m.planned_date)
            for m in body.milestones
        ]
    ag = service.create_agreement(
        session,
        user,
        body.work_id,
        grant_fen=body.grant_fen,
        milestones=milestones,
        over_request_reason=body.over_request_reason,
    )
    return service.agreement_read(session, ag, user)


@router.get(
    "/{agreement_id}",
    response_model=AgreementDetail,
    summary="协议详情：状态、各方、签章、付款节点",
    responses=error_responses(404, 422, notes=NOT_VISIBLE),
)
def get_agreement(agreement_id: int, session: SessionDep, user: CurrentUser) -> AgreementDetail:
    ag = service.get_agreement(session, user, agreement_id)
    return service.agreement_detail(session, ag, user)


@router.get(
    "/{agreement_id}/document.pdf",
    response_class=Response,
    summary="协议当前版本 PDF",
    responses={
        200: {
            "content": {"application/pdf": {}},
            "description": "协议当前版本；X-Document-SHA256 为文件的 sha256",
        },
        **error_responses(404, 422, notes={404: "协议不存在、无权查看或尚未生成文件"}),
    },
)
def document_pdf(agreement_id: int, session: SessionDep, user: CurrentUser) -> Response:
    ag, data = service.current_pdf(session, user, agreement_id)
    return download(
        data,
        f"三方协议-{ag.number}.pdf",
        "application/pdf",
        inline=True,
        headers={"X-Document-SHA256": ag.current_pdf_sha256 or ""},
    )


@router.get(
    "/{agreement_id}/signatures/{party}/ses-signature.der",
    response_class=Response,
    summary="某方国密签名的 GB/T 38540 电子签章数据（SES_Signature，DER）",
    responses={
        200: {"content": {"application/octet-stream": {}}},
        **error_responses(404, 422, notes={404: "协议不存在、无权查看，或该方没有 SES_Signature"}),
    },
)
def ses_signature(
    agreement_id: int, party: Party, session: SessionDep, user: CurrentUser
) -> Response:
    ag, data = service.ses_signature(session, user, agreement_id, party)
    return download(
        data, f"SES_Signature-{ag.number}-{party.value}.der", "application/octet-stream"
    )


@router.post(
    "/{agreement_id}/sign",
    response_model=AgreementRead,
    summary="签署（需再次输入密码；不可撤销）",
    responses=error_responses(
        403,
        404,
        409,
        422,
        429,
        notes={
            403: "密码错误（wrong_password）、动态口令错误或已使用（totp_invalid）、"
            "须输入动态口令（totp_required）或须先绑定动态口令（totp_enrolment_required）",
            404: "协议不存在，或您不是该协议的签署方（not_a_party）",
            409: "未轮到您签署、已签署、协议已作废，或签署后验证未通过",
            429: "密码或动态口令错误次数过多",
        },
    ),
)
async def sign(
    agreement_id: int, body: SignBody, request: Request, session: SessionDep, user: CurrentUser
) -> AgreementRead:
    plan = await run_in_threadpool(
        service.begin_signing,
        session,
        user,
        agreement_id,
        body.password,
        client_address(request),
        body.totp_code,
    )
    try:
        signed = await run_in_threadpool(service.apply_signatures, plan)
    except Exception:
        await run_in_threadpool(session.rollback)
        raise
    ag = await run_in_threadpool(service.finish_signing, session, user, plan, signed)
    return await run_in_threadpool(service.agreement_read, session, ag, user)


@router.post(
    "/{agreement_id}/decline",
    response_model=AgreementRead,
    summary="拒签（尚未签署的一方，须理由和登录密码；协议作废，总局可生成新版本）",
    responses=error_responses(
        403,
        404,
        409,
        422,
        429,
        notes={
            403: "密码错误（wrong_password）",
            404: "协议不存在，或您不是该协议的签署方（not_a_party）",
            409: "协议当前状态不能拒签，或本方已签署（already_signed：请总局作废）",
            429: "密码错误次数过多",
        },
    ),
)
def decline(
    agreement_id: int,
    body: DeclineBody,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
) -> AgreementRead:
    ag = service.decline(
        session, user, agreement_id, body.reason, body.password, client_address(request)
    )
    return service.agreement_read(session, ag, user)


@router.post(
    "/{agreement_id}/void",
    response_model=AgreementRead,
    summary="作废（总局；未完成三方签署的协议，须理由，记入审计日志）",
    responses=error_responses(
        403,
        404,
        409,
        422,
        notes={
            403: "只有总局工作人员可以作废协议",
            409: "协议已三方签署完成、已作废或已拒签",
        },
    ),
)
def void(
    agreement_id: int, body: VoidBody, session: SessionDep, user: CurrentUser
) -> AgreementRead:
    ag = service.void(session, user, agreement_id, body.reason)
    return service.agreement_read(session, ag, user)
