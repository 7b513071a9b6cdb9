"""三方协议 API under /api/v1/agreements (tags: agreements)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.agreements import service
from backend.agreements.schemas import AgreementCreate, DeclineBody, SignBody
from backend.auth.deps import CurrentUser, SessionDep, client_address
from backend.core.responses import download
from signing.pades import sign_pdf

router = APIRouter(prefix="/api/v1/agreements", tags=["agreements"])


@router.get("", summary="协议列表（本人可见的）")
def list_agreements(
    session: SessionDep, user: CurrentUser, work_id: int | None = None
) -> list[dict[str, Any]]:
    return [
        service.to_dict(session, ag, user) for ag in service.list_agreements(session, user, work_id)
    ]


@router.post("", status_code=201, summary="生成三方协议（总局）")
def create_agreement(
    body: AgreementCreate, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
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
    return service.to_dict(session, ag, user)


@router.get("/{agreement_id}", summary="协议详情：状态、各方、签章、付款节点")
def get_agreement(agreement_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    ag = service.get_agreement(session, user, agreement_id)
    data = service.to_dict(session, ag, user)
    data["history"] = [
        {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action}
        for e in service.history(session, ag)
    ]
    return data


@router.get("/{agreement_id}/document.pdf", response_class=Response, summary="协议当前版本 PDF")
def document_pdf(agreement_id: int, session: SessionDep, user: CurrentUser) -> Response:
    ag, data = service.current_pdf(session, user, agreement_id)
    return download(
        data,
        f"三方协议-{ag.number}.pdf",
        "application/pdf",
        inline=True,
        headers={"X-Document-SHA256": ag.current_pdf_sha256 or ""},
    )


@router.post("/{agreement_id}/sign", summary="签署（需再次输入密码；不可撤销）")
async def sign(
    agreement_id: int, body: SignBody, request: Request, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    plan = await run_in_threadpool(
        service.begin_signing, session, user, agreement_id, body.password, client_address(request)
    )
    try:
        signed = await run_in_threadpool(sign_pdf, plan.pdf, plan.request)
    except Exception:
        await run_in_threadpool(session.rollback)
        raise
    ag = await run_in_threadpool(service.finish_signing, session, user, plan, signed)
    return await run_in_threadpool(service.to_dict, session, ag, user)


@router.post("/{agreement_id}/decline", summary="拒签（协议作废，总局可生成新版本）")
def decline(
    agreement_id: int, body: DeclineBody, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    ag = service.decline(session, user, agreement_id, body.reason)
    return service.to_dict(session, ag, user)
