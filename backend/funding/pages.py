"""Finance pages (资金拨付): the summary per unit and per batch with its charts and XLSX export,
one agreement's funding timeline with the forms of the ledger (request / approve / reject / pay /
request a reversal / approve or reject it, each behind a confirmation page; a form is offered
only to a finance user who may do the step: never the requester of the money or of its reversal) and the auditors' money trail. (推进表 pages:
backend.funding.filing_pages.)

Forms carry ``csrf_token`` and an ``idempotency_key`` generated when the form is rendered; the
handler replays it through the same ``idempotent`` helper the API uses, so a double submit of
the confirmation page acts once. Everything goes through backend.funding.service.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.agreements import listing as agreements_listing
from backend.agreements.models import AgreementStatus
from backend.agreements.service import get_agreement
from backend.auth import totp
from backend.auth.deps import PageUser, SessionDep, client_address
from backend.auth.models import Role, User
from backend.auth.totp import StepUp, verify_step_up
from backend.core.dates import today_shanghai
from backend.core.display import local_time, yuan
from backend.core.errors import JingpinError, PermissionDenied, ValidationFailed
from backend.core.money import parse_yuan
from backend.core.pages import redirect, render
from backend.core.responses import XLSX, download
from backend.funding import charts, exports, listing, overview, review_pages, service
from backend.funding.idempotency import idempotent, request_hash, stored
from backend.funding.models import EntryKind
from backend.funding.schemas import DisbursementRead
from backend.funding.summary import FIGURE_LABELS, FIGURES, monthly_paid, summary, total
from backend.works.models import Work

router = APIRouter(include_in_schema=False)
VIEWERS = {Role.finance, Role.ministry_officer, Role.auditor, Role.admin}

ACTIONS: dict[str, str] = {
    "request": "申请拨付",
    "approve": "审批通过",
    "reject": "退回申请",
    "pay": "登记拨付",
    "reverse": "申请冲销",
    "approve_reversal": "批准冲销",
    "reject_reversal": "退回冲销申请",
}
FIELDS: dict[str, tuple[str, ...]] = {
    "request": ("milestone_id", "amount_yuan", "planned_on", "note"),
    "approve": ("disbursement_id", "note"),
    "reject": ("disbursement_id", "reason"),
    "pay": ("disbursement_id", "voucher_no", "bank_reference", "paid_on"),
    "reverse": ("disbursement_id", "reason"),
    "approve_reversal": ("disbursement_id", "note"),
    "reject_reversal": ("disbursement_id", "reason"),
}
FIELD_LABELS = {
    "milestone_id": "付款节点",
    "amount_yuan": "金额（元）",
    "planned_on": "计划拨付日期",
    "note": "说明",
    "disbursement_id": "拨付申请号",
    "reason": "理由",
    "voucher_no": "凭证号",
    "bank_reference": "银行流水号",
    "paid_on": "拨付日期",
}


# Steps that need password + TOTP when the user has TOTP (or the role requires it).
STEP_UP_ACTIONS = {"approve", "pay", "approve_reversal"}


def require_viewer(user: User) -> None:
    if user.role not in VIEWERS:
        raise PermissionDenied("只有财务、总局、审计人员和管理员可以查看资金拨付")


def _key() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- summary
def _summary_data(session: Session) -> dict[str, Any]:
    by_unit = summary(session, "unit")
    by_batch = summary(session, "batch")
    months = monthly_paid(session)
    return {
        "by_unit": by_unit,
        "by_batch": by_batch,
        "unit_total": total(by_unit),
        "batch_total": total(by_batch),
        "months": months,
        "bar_svg": charts.bar_chart_granted_paid(
            [(r.label, r.granted_fen, r.paid_fen) for r in by_unit]
        ),
        "line_svg": charts.line_chart_monthly(months),
    }


@router.get("/finance")
def finance_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    require_viewer(user)
    params = agreements_listing.agreement_list_params(request.query_params)
    # Funding follows fully signed agreements only: the status is fixed, batch and search free.
    params = replace(params, filters={**params.filters, "status": AgreementStatus.fully_signed})
    paged = agreements_listing.search_agreements(session, user, params)
    titles = dict(
        (ag.id, title)
        for ag, title in service.agreements_with_titles(session, {a.id or 0 for a in paged.items})
    )
    return render(
        request,
        "funding/summary.html",
        agreements=[(ag, titles[ag.id]) for ag in paged.items],
        paged=paged,
        selects=agreements_listing.pickers(session)[:1],
        figures=FIGURES,
        labels=FIGURE_LABELS,
        yuan=yuan,
        today=today_shanghai(),
        **_summary_data(session),
    )


@router.get("/finance/disbursements")
def disbursements_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """拨付申请 across agreements: search, filter (状态 / 批次 / 推荐单位), sort, page."""
    require_viewer(user)
    paged = listing.search_disbursements(
        session, user, listing.disbursement_list_params(request.query_params)
    )
    agreements = {
        ag.id: (ag, title)
        for ag, title in service.agreements_with_titles(
            session, {d.agreement_id for d in paged.items}
        )
    }
    rows = [
        (service.disbursement_read(session, d), *agreements[d.agreement_id]) for d in paged.items
    ]
    return render(
        request,
        "funding/disbursements.html",
        rows=rows,
        paged=paged,
        selects=listing.pickers(session),
        yuan=yuan,
    )


@router.get("/finance/export.xlsx")
def finance_export(session: SessionDep, user: PageUser) -> Response:
    require_viewer(user)
    data = exports.finance_workbook(session)
    name = f"资金汇总-{today_shanghai().isoformat()}.xlsx"
    return download(data, name, XLSX)


@router.get("/finance/charts/{name}.svg")
def finance_chart(name: str, session: SessionDep, user: PageUser) -> Response:
    require_viewer(user)
    if name == "granted-paid":
        rows = summary(session, "unit")
        svg = charts.bar_chart_granted_paid([(r.label, r.granted_fen, r.paid_fen) for r in rows])
    elif name == "monthly":
        svg = charts.line_chart_monthly(monthly_paid(session))
    else:
        raise JingpinError("未找到该图表", code="not_found")
    return Response(svg, media_type="image/svg+xml; charset=utf-8")


# --------------------------------------------------------------------------- timeline
def _can_decide(user: User, d: dict[str, Any]) -> bool:
    return d["state"] == "requested" and d["requested_by"] != user.username


def _reversal_requester(d: dict[str, Any]) -> str | None:
    return next((e["actor"] for e in d["entries"] if e["kind"] == "reversal_requested"), None)


@router.get("/finance/agreements/{agreement_id}")
def agreement_funding_page(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    msg: str = "",
    error: str = "",
) -> Response:
    require_viewer(user)
    data = overview.funding(session, user, agreement_id).model_dump(mode="json")
    ag = get_agreement(session, user, agreement_id)
    work = session.get(Work, ag.work_id)
    can_act = user.role is Role.finance and ag.status == AgreementStatus.fully_signed.value
    milestones = {m["id"]: m for m in data["milestones"]}
    for d in data["disbursements"]:
        d["milestone_name"] = milestones.get(d["milestone_id"], {}).get("name", "")
        d["can_decide"] = can_act and _can_decide(user, d)
        # Dual control: whoever asked (for the money or for its reversal) does not do the next step.
        mine = d["requested_by"] == user.username
        d["can_pay"] = can_act and d["state"] == "approved" and not mine
        reversed_once = any(e["kind"] == "reversal_rejected" for e in d["entries"])
        d["can_reverse"] = can_act and d["state"] == "paid" and not reversed_once
        d["reversal_by"] = _reversal_requester(d)
        d["can_decide_reversal"] = (
            can_act and d["state"] == "reversal_requested" and d["reversal_by"] != user.username
        )
        d["form_keys"] = {a: _key() for a in ACTIONS if a != "request"}
    requestable = [m for m in data["milestones"] if m["status"] != "locked" and m["remaining_fen"]]
    return render(
        request,
        "funding/agreement.html",
        data=data,
        ag=ag,
        work=work,
        can_act=can_act,
        requestable=requestable,
        request_key=_key(),
        kind_labels={k.value: k.label for k in EntryKind},
        msg=msg,
        error=error,
        yuan=yuan,
        local_time=local_time,
        today=today_shanghai(),
    )


async def _form(request: Request, action: str) -> dict[str, str]:
    form = await request.form()
    out = {}
    for name in (*FIELDS[action], "idempotency_key"):
        v = form.get(name)
        out[name] = v.strip() if isinstance(v, str) else ""
    return out


def _error_text(exc: JingpinError) -> str:
    """The message, then each field's own error (named by its label) unless it repeats it."""
    extra = [
        f"{FIELD_LABELS.get(k, k)}：{v}" if not v.startswith(FIELD_LABELS.get(k, k)) else v
        for k, v in exc.fields.items()
        if v != exc.message
    ]
    return "；".join([exc.message, *extra])


def _check_action(action: str, user: User) -> None:
    if action not in ACTIONS:
        raise JingpinError("未知操作", code="not_found")
    if user.role is not Role.finance:
        raise PermissionDenied("只有财务人员可以办理拨付")


@router.post("/finance/agreements/{agreement_id}/confirm/{action}")
async def confirm_page(
    agreement_id: int, action: str, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """Step 1 of 2: show what will happen (irreversible: the ledger is append-only)."""
    _check_action(action, user)
    get_agreement(session, user, agreement_id)
    fields = await _form(request, action)
    url = f"/finance/agreements/{agreement_id}"
    try:
        _parse(action, fields)
    except JingpinError as exc:
        return redirect(url, _error_text(exc), error=True)
    shown = [(FIELD_LABELS[k], fields[k]) for k in FIELDS[action] if fields[k]]
    if "disbursement_id" in fields:
        d = service.get_disbursement(session, user, int(fields["disbursement_id"]))
        shown.append(("申请金额", yuan(d.amount_fen)))
        shown.append(("收款单位", f"{d.payee_name}（{d.bank_name} {d.bank_account}）"))
    return render(
        request,
        "funding/confirm.html",
        step_up=totp.step_up_fields(session, user) if action in STEP_UP_ACTIONS else "",
        action=action,
        action_label=ACTIONS[action],
        agreement_id=agreement_id,
        fields=fields,
        shown=shown,
    )


def _parse(action: str, f: dict[str, str]) -> dict[str, Any]:
    def day(name: str) -> date | None:
        if not f.get(name):
            return None
        try:
            return date.fromisoformat(f[name])
        except ValueError:
            raise ValidationFailed(fields={name: "日期格式应为 YYYY-MM-DD"}) from None

    def integer(name: str) -> int:
        if not f.get(name, "").isdigit():
            raise ValidationFailed(fields={name: f"请选择{FIELD_LABELS[name]}"})
        return int(f[name])

    if action == "request":
        try:
            amount = parse_yuan(f["amount_yuan"])
        except ValueError as exc:
            raise ValidationFailed(fields={"amount_yuan": str(exc)}) from None
        return {
            "milestone_id": integer("milestone_id"),
            "amount_fen": amount,
            "planned_on": day("planned_on"),
            "note": f["note"],
        }
    out: dict[str, Any] = {"disbursement_id": integer("disbursement_id")}
    if action in ("approve", "approve_reversal"):
        out["note"] = f["note"]
    elif action in ("reject", "reverse", "reject_reversal"):
        out["reason"] = f["reason"]
    elif action == "pay":
        out.update(
            voucher_no=f["voucher_no"],
            bank_reference=f["bank_reference"],
            paid_on=service.check_paid_on(day("paid_on")),
        )
    return out


def _act(
    session: Session, user: User, action: str, p: dict[str, Any], proof: StepUp | None
) -> tuple[int, DisbursementRead]:
    if action == "request":
        d = service.request_disbursement(
            session,
            user,
            milestone_id=p["milestone_id"],
            amount_fen=p["amount_fen"],
            planned_on=p["planned_on"],
            note=p["note"],
        )
        return 201, service.disbursement_read(session, d)
    d_id = p["disbursement_id"]
    if action == "approve":
        service.approve(session, user, d_id, p["note"], step_up=proof)
    elif action == "reject":
        service.reject(session, user, d_id, p["reason"])
    elif action == "pay":
        service.pay(
            session,
            user,
            d_id,
            voucher_no=p["voucher_no"],
            bank_reference=p["bank_reference"],
            paid_on=p["paid_on"],
            step_up=proof,
        )
    elif action == "reverse":
        service.request_reversal(session, user, d_id, p["reason"])
    elif action == "approve_reversal":
        service.approve_reversal(session, user, d_id, p["note"], step_up=proof)
    else:
        service.reject_reversal(session, user, d_id, p["reason"])
    return 200, service.disbursement_read(session, service.get_disbursement(session, user, d_id))


@router.post("/finance/agreements/{agreement_id}/actions/{action}")
async def do_action(
    agreement_id: int, action: str, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """Step 2 of 2: act once per idempotency key (a replay shows the same outcome)."""
    _check_action(action, user)
    ag = get_agreement(session, user, agreement_id)
    fields = await _form(request, action)
    url = f"/finance/agreements/{agreement_id}"
    try:
        params = _parse(action, fields)
        if params.get("disbursement_id"):
            d = service.get_disbursement(session, user, params["disbursement_id"])
            if d.agreement_id != ag.id:
                raise ValidationFailed("拨付申请不属于该协议")
        digest = request_hash("POST", f"/finance/{action}", {k: str(v) for k, v in params.items()})
        key = fields["idempotency_key"] or None
        proof = None
        if action in STEP_UP_ACTIONS and not stored(session, user, key):
            form = await request.form()
            proof = verify_step_up(
                session,
                user,
                password=str(form.get("password") or ""),
                code=str(form.get("totp_code") or ""),
                address=client_address(request),
                password_always=False,
            )
        response = idempotent(
            session, user, key, digest, lambda: _act(session, user, action, params, proof)
        )
    except JingpinError as exc:
        session.rollback()
        return redirect(url, _error_text(exc), error=True)
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    note = "（重复提交，未重复办理）" if replayed else ""
    return redirect(url, f"已{ACTIONS[action]}{note}")


# --------------------------------------------------------------------------- money trail
@router.get("/audit/money-trail/{agreement_id}")
def money_trail_page(
    agreement_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    require_viewer(user)
    trail = exports.money_trail(session, user, agreement_id).model_dump(mode="json")
    return render(request, "funding/trail.html", trail=trail, yuan=yuan, local_time=local_time)


@router.get("/audit/money-trail/{agreement_id}/trail.{fmt}")
def money_trail_export(
    agreement_id: int, fmt: str, session: SessionDep, user: PageUser
) -> Response:
    require_viewer(user)
    trail = exports.money_trail(session, user, agreement_id)
    number = trail.agreement.number
    if fmt == "jsonl":
        data, media = exports.trail_jsonl(trail), "application/x-ndjson"
    elif fmt == "xlsx":
        data, media = exports.trail_workbook(trail), XLSX
    else:
        raise JingpinError("支持的格式：jsonl、xlsx", code="not_found")
    name = f"资金轨迹-{number}.{fmt}"
    return download(data, name, media)


# 中期检查 / 审核验收 pages share this router (registered once by the app).
router.include_router(review_pages.router)
