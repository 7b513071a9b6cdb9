"""三方协议 pages: list (and, for the ministry, works waiting for an agreement), detail with
the PDF embedded, sign form (fresh password, irreversible) and decline form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.agreements import service
from backend.agreements.models import AgreementStatus, Party
from backend.auth import totp
from backend.auth.deps import PageUser, SessionDep, client_address
from backend.auth.models import Role
from backend.core.display import local_time, yuan
from backend.core.errors import JingpinError
from backend.core.pages import redirect, render
from signing.pades import sign_pdf

router = APIRouter(include_in_schema=False)


@router.get("/agreements")
def agreements_page(
    request: Request, session: SessionDep, user: PageUser, msg: str = ""
) -> Response:
    rows = [
        service.agreement_read(session, ag, user).model_dump(mode="json")
        for ag in service.list_agreements(session, user)
    ]
    waiting = (
        service.works_awaiting_agreement(session) if user.role == Role.ministry_officer else []
    )
    mine = {ag.id for ag in service.awaiting(session, user)}
    return render(
        request, "agreements/list.html", rows=rows, waiting=waiting, mine=mine, msg=msg, yuan=yuan
    )


@router.post("/agreements")
def create_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    work_id: Annotated[int, Form()],
    over_request_reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        ag = service.create_agreement(
            session, user, work_id, over_request_reason=over_request_reason
        )
    except JingpinError as exc:
        session.rollback()
        return redirect("/agreements", exc.message + "".join(f"；{v}" for v in exc.fields.values()))
    return redirect(f"/agreements/{ag.id}", f"已生成协议 {ag.number}，等待乙方签署")


@router.get("/agreements/{agreement_id}")
def agreement_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser, msg: str = ""
) -> Response:
    ag = service.get_agreement(session, user, agreement_id)
    data = service.agreement_read(session, ag, user).model_dump(mode="json")
    my_party = service.party_of(user, ag)
    can_sign = (
        my_party is not None
        and ag.next_party == my_party.value
        and ag.status in (AgreementStatus.open, AgreementStatus.signing)
    )
    can_decline = my_party is not None and ag.status in (
        AgreementStatus.open,
        AgreementStatus.signing,
    )
    events = service.history(session, ag)
    return render(
        request,
        "agreements/detail.html",
        ag=data,
        can_sign=can_sign,
        can_decline=can_decline,
        step_up=totp.step_up_fields(session, user),
        my_party=my_party,
        events=events,
        msg=msg,
        yuan=yuan,
        local_time=local_time,
        Party=Party,
    )


@router.post("/agreements/{agreement_id}/sign")
async def sign_page(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    password: Annotated[str, Form()],
    totp_code: Annotated[str, Form()] = "",
) -> Response:
    url = f"/agreements/{agreement_id}"
    try:
        plan = await run_in_threadpool(
            service.begin_signing,
            session,
            user,
            agreement_id,
            password,
            client_address(request),
            totp_code,
        )
        signed = await run_in_threadpool(sign_pdf, plan.pdf, plan.request)
        ag = await run_in_threadpool(service.finish_signing, session, user, plan, signed)
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code == 404:
            raise
        return redirect(url, exc.message)
    done = "三方签署已全部完成" if ag.status == AgreementStatus.fully_signed else "签署成功"
    return redirect(url, done)


@router.post("/agreements/{agreement_id}/decline")
def decline_page(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        service.decline(session, user, agreement_id, reason)
    except JingpinError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        return redirect(f"/agreements/{agreement_id}", exc.message)
    return redirect(f"/agreements/{agreement_id}", "已拒签，协议作废")
