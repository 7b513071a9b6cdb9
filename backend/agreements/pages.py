"""三方协议 pages: list (and, for the ministry, works waiting for an agreement), detail with
the PDF embedded, sign form (fresh password, irreversible) and decline form."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.agreements import listing, service
from backend.agreements.models import AgreementStatus, Gate, Party
from backend.auth import totp
from backend.auth.deps import PageUser, SessionDep, client_address
from backend.auth.models import Role
from backend.auth.service import names_by_username
from backend.core import labels
from backend.core.display import local_time, plain_yuan, yuan
from backend.core.errors import JingpinError, NotFound, PermissionDenied
from backend.core.money import parse_yuan
from backend.core.pages import is_confirmed, redirect, render
from backend.documents import page_images

router = APIRouter(include_in_schema=False)


@router.get("/agreements")
def agreements_page(
    request: Request, session: SessionDep, user: PageUser, msg: str = ""
) -> Response:
    paged = listing.search_agreements(
        session, user, listing.agreement_list_params(request.query_params)
    )
    rows = [service.agreement_read(session, ag, user).model_dump(mode="json") for ag in paged.items]
    waiting = (
        service.works_awaiting_agreement(session) if user.role == Role.ministry_officer else []
    )
    mine = {ag.id for ag in service.awaiting(session, user)}
    return render(
        request,
        "agreements/list.html",
        rows=rows,
        waiting=waiting,
        mine=mine,
        msg=msg,
        yuan=yuan,
        paged=paged,
        selects=listing.pickers(session),
    )


def _split_rows(form: Any, grant_fen: int) -> list[dict[str, str]]:
    """The milestone rows as the form shows them: posted values, or the default split."""
    if "m0_amount" in form:
        return [
            {
                "name": str(form.get(f"m{i}_name", "")),
                "amount": str(form.get(f"m{i}_amount", "")),
                "gate": gate.value,
                "gate_label": gate.label,
                "date": str(form.get(f"m{i}_date", "")),
            }
            for i, gate in enumerate(Gate)
        ]
    defaults = {m.gate: m for m in service.default_milestones(grant_fen)}
    return [
        {
            "name": defaults[gate].name if gate in defaults else "",
            "amount": plain_yuan(defaults[gate].amount_fen).replace(",", "")
            if gate in defaults
            else "",
            "gate": gate.value,
            "gate_label": gate.label,
            "date": "",
        }
        for gate in Gate
    ]


def _parse_split(rows: list[dict[str, str]]) -> tuple[list[service.MilestoneInput], dict[str, str]]:
    """Rows with an amount become milestones; a blank amount leaves that payment out."""
    out: list[service.MilestoneInput] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        if not row["amount"].strip():
            continue
        try:
            amount = parse_yuan(row["amount"])
        except ValueError as exc:
            errors[f"m{i}_amount"] = str(exc)
            continue
        planned = None
        if row["date"].strip():
            try:
                planned = date.fromisoformat(row["date"].strip())
            except ValueError:
                errors[f"m{i}_date"] = "日期格式应为 YYYY-MM-DD"
        out.append(service.MilestoneInput(row["name"], amount, Gate(row["gate"]), planned))
    return out, errors


@router.post("/agreements")
async def create_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Step 1 shows the agreement to be generated with its milestone split (editable within
    the grant); step 2 (confirmed=1) generates it. Errors go back next to their fields."""
    form = await request.form()
    raw_id = str(form.get("work_id", ""))
    work_id = int(raw_id) if raw_id.isdigit() else 0
    reason = str(form.get("over_request_reason", ""))
    if user.role != Role.ministry_officer:
        raise PermissionDenied("仅总局工作人员可以生成三方协议")
    work = service.work_for_agreement(session, work_id)
    grant = service.default_grant(work)
    rows = _split_rows(form, grant)
    errors: dict[str, str] = {}
    if is_confirmed(form):
        milestones, errors = _parse_split(rows)
        if not errors:
            try:
                ag = await run_in_threadpool(
                    service.create_agreement,
                    session,
                    user,
                    work_id,
                    grant_fen=grant,
                    milestones=milestones,
                    over_request_reason=reason,
                )
            except JingpinError as exc:
                await run_in_threadpool(session.rollback)
                if exc.status_code in (403, 404):
                    raise
                errors = {**exc.fields} or {"__all__": exc.message}
            else:
                return redirect(f"/agreements/{ag.id}", f"已生成协议 {ag.number}，等待乙方签署")
    return render(
        request,
        "agreements/create_confirm.html",
        status_code=422 if errors else 200,
        work=work,
        grant=grant,
        rows=rows,
        errors=errors,
        reason=reason,
        yuan=yuan,
    )


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
    # Shown before the click: who may decline (a party that has not signed) or void (the
    # ministry, before all three have signed), and why not when the action is blocked.
    decline_block = service.decline_blocker(session, ag, my_party) if my_party is not None else None
    can_void = user.role == Role.ministry_officer
    void_block = service.void_blocker(ag) if can_void else None
    events = service.history(session, ag)
    actor_names = names_by_username(session, (e.actor for e in events))
    pages = (
        page_images.page_count(service.current_pdf(session, user, agreement_id)[1])
        if ag.current_pdf_sha256
        else 0
    )
    return render(
        request,
        "agreements/detail.html",
        ag=data,
        can_sign=can_sign,
        can_decline=my_party is not None,
        decline_block=decline_block.message if decline_block else None,
        can_void=can_void,
        void_block=void_block.message if void_block else None,
        step_up=totp.step_up_fields(session, user),
        my_party=my_party,
        events=events,
        actor_names=actor_names,
        page_count=pages,
        progress=service.finalise_progress(session, ag)
        if ag.status in (AgreementStatus.finalising, AgreementStatus.finalise_failed)
        else None,
        action_label=labels.action_label,
        msg=msg,
        yuan=yuan,
        local_time=local_time,
        Party=Party,
    )


@router.get("/agreements/{agreement_id}/pages/{number}.png")
def page_image_route(
    agreement_id: int, number: int, session: SessionDep, user: PageUser
) -> Response:
    """One page of the current agreement PDF as an image (phones cannot show a PDF inline);
    rendered once per document revision by pdftoppm and cached (backend.documents.page_images)."""
    ag, pdf = service.current_pdf(session, user, agreement_id)  # 404 outside the user's scope
    data = page_images.page_image(ag.current_pdf_sha256 or "", pdf, number)
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
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
        signed = await run_in_threadpool(service.apply_signatures, plan)
        ag = await run_in_threadpool(service.finish_signing, session, user, plan, signed)
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code == 404:
            raise
        return redirect(url, exc.message)
    done = {
        AgreementStatus.fully_signed: "三方签署已全部完成",
        AgreementStatus.finalising: "签署成功。三方均已签署，正在验证并生成长期保存格式",
    }.get(AgreementStatus(ag.status), "签署成功")
    return redirect(url, done)


@router.get("/agreements/{agreement_id}/finalising")
def finalising_fragment(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """The progress block of an agreement 待归档, polled by htmx every 2 s while the worker has
    not finished; once it has, the page reloads itself (HX-Refresh) to show the outcome."""
    ag = service.get_agreement(session, user, agreement_id)
    progress = service.finalise_progress(session, ag)
    response = render(request, "agreements/finalising.html", ag={"id": ag.id}, progress=progress)
    if progress.status != AgreementStatus.finalising:
        response.headers["HX-Refresh"] = "true"
    return response


def _closing_page(
    request: Request, session: SessionDep, user: PageUser, agreement_id: int, action: str
) -> Response:
    ag = service.get_agreement(session, user, agreement_id)
    data = service.agreement_read(session, ag, user).model_dump(mode="json")
    if action == "decline":
        party = service.party_of(user, ag)
        if party is None:
            raise NotFound("您不是该协议的签署方", code="not_a_party")
        blocker = service.decline_blocker(session, ag, party)
    else:
        if user.role != Role.ministry_officer:
            raise PermissionDenied("只有总局工作人员可以作废协议")
        blocker = service.void_blocker(ag)
    return render(
        request,
        "agreements/close_confirm.html",
        ag=data,
        action=action,
        blocker=blocker.message if blocker else None,
        error=request.query_params.get("error", ""),
        yuan=yuan,
    )


@router.get("/agreements/{agreement_id}/decline")
def decline_confirm_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """Step 1 of 2: what 拒签 does, then reason + password."""
    return _closing_page(request, session, user, agreement_id, "decline")


@router.get("/agreements/{agreement_id}/void")
def void_confirm_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """Step 1 of 2 (ministry): what 作废 does, then the reason."""
    return _closing_page(request, session, user, agreement_id, "void")


@router.post("/agreements/{agreement_id}/decline")
def decline_page(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    reason: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    back = f"/agreements/{agreement_id}/decline"
    try:
        service.decline(session, user, agreement_id, reason, password, client_address(request))
    except JingpinError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        return redirect(back, exc.message, error=True)
    return redirect(f"/agreements/{agreement_id}", "已拒签，本版本协议已关闭")


@router.post("/agreements/{agreement_id}/void")
def void_page(
    agreement_id: int,
    session: SessionDep,
    user: PageUser,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        service.void(session, user, agreement_id, reason)
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return redirect(f"/agreements/{agreement_id}/void", exc.message, error=True)
    return redirect(f"/agreements/{agreement_id}", "协议已作废，可重新生成新版本")
