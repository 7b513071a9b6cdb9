"""中期检查 / 审核验收 pages (issue 15.5): on a fully signed agreement the producer (乙方) asks
for a review; the ministry records its result with the signed opinion PDF(s), which opens the
matching payment gate (中期款 / 尾款). Everything goes through backend.funding.reviews."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from backend.agreements.models import AgreementStatus, Party
from backend.agreements.service import agreement_read, get_agreement, party_of
from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import Role
from backend.auth.service import display_names
from backend.core.display import local_time
from backend.core.errors import JingpinError, ValidationFailed
from backend.core.pages import redirect, render
from backend.funding import reviews
from backend.funding.models import ReviewKind, ReviewResult

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    agreement_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ag = get_agreement(session, user, agreement_id)  # 404 outside the user's scope
    requests = reviews.requests_of(session, agreement_id)
    done = reviews.reviews_of(session, agreement_id)
    names = display_names(
        session, [r.requested_by for r in requests] + [r.recorded_by for r in done]
    )
    signed = ag.status == AgreementStatus.fully_signed
    return render(
        request,
        "funding/reviews.html",
        status_code=status_code,
        ag=agreement_read(session, ag, user),
        signed=signed,
        can_request=signed and user.role is Role.producer and party_of(user, ag) == Party.yi,
        can_record=signed and user.role is Role.ministry_officer,
        requests=requests,
        reviews=[reviews.review_read(session, r) for r in done],
        names=names,
        kinds=list(ReviewKind),
        kind_labels={k.value: k.label for k in ReviewKind},
        results=list(ReviewResult),
        errors=errors or {},
        values=values or {},
        local_time=local_time,
    )


@router.get("/agreements/{agreement_id}/reviews")
def reviews_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    return _page(request, session, user, agreement_id)


@router.post("/agreements/{agreement_id}/reviews/request")
async def request_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    kind, note = str(form.get("kind", "")), str(form.get("note", ""))[:2000]
    try:
        req = reviews.request_review(session, user, agreement_id, kind, note)
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _page(
            request,
            session,
            user,
            agreement_id,
            errors={f"request_{k}": v for k, v in exc.fields.items()} or {"request": exc.message},
            values={"request_note": note},
            status_code=exc.status_code,
        )
    label = ReviewKind(req.kind).label
    return redirect(f"/agreements/{agreement_id}/reviews", f"已申请{label}，等待总局安排")


@router.post("/agreements/{agreement_id}/reviews/record")
async def record_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """The form itself carries the confirmation (a required 核对 checkbox): its PDFs cannot be
    carried through a second page; the result is final and opens the gate."""
    form = await request.form()
    text = {
        k: str(form.get(k, "")).strip()
        for k in ("kind", "held_on", "result", "opinion", "reviewers", "conditions", "request_id")
    }
    files = [
        (f.filename or "review.pdf", await f.read())
        for f in form.getlist("files")
        if isinstance(f, UploadFile) and f.filename
    ]
    try:
        if str(form.get("confirmed", "")) != "1":
            raise ValidationFailed(
                "请勾选确认：结论登记后不能修改", fields={"confirmed": "请勾选确认"}
            )
        try:
            held_on = date.fromisoformat(text["held_on"])
        except ValueError:
            raise ValidationFailed(fields={"held_on": "请填写检查日期"}) from None
        reviews.record_review(
            session,
            user,
            agreement_id,
            kind=text["kind"],
            held_on=held_on,
            reviewers=[r for r in text["reviewers"].replace("，", ",").split(",") if r.strip()],
            result=text["result"],
            opinion=text["opinion"],
            attachments=files,
            conditions=[c for c in text["conditions"].splitlines() if c.strip()],
            request_id=int(text["request_id"]) if text["request_id"].isdigit() else None,
        )
    except JingpinError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _page(
            request,
            session,
            user,
            agreement_id,
            errors=exc.fields or {"record": exc.message},
            values=text,
            status_code=exc.status_code,
        )
    return redirect(
        f"/agreements/{agreement_id}/reviews", "已登记结论；通过的检查已开启对应付款节点"
    )
