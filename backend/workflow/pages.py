"""Pages of the application workflow, one per role's desk (Chinese, server-rendered)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from backend.auth.deps import PageUser, SessionDep, client_address
from backend.auth.models import Role, User
from backend.auth.service import display_names, require_role, require_unit_of
from backend.core import xlsx
from backend.core.config import get_settings
from backend.core.dates import deadline_zh, to_local_input
from backend.core.errors import JingpinError, ValidationFailed
from backend.core.pages import confirmation, is_confirmed, redirect, render
from backend.core.responses import XLSX, download
from backend.core.validation import required_text
from backend.documents.converter import get_pool
from backend.orgs.service import list_units
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
from backend.workflow.endpoints import slot_from_url
from backend.workflow.models import (
    DocumentSlot,
    ExpertScore,
    ReviewRound,
    UnitDecision,
)
from backend.workflow.schemas import BatchIn, BatchPatch, BatchReopen
from backend.works.models import Batch, Work, WorkStatus
from backend.works.service import (
    EDITABLE,
    fields_from_pydantic,
    get_work,
    list_batches,
    list_filters,
    search_works,
    to_read,
    work_list_params,
)

router = APIRouter(include_in_schema=False)


def _pick_batch(session: Session, batch_id: int | None) -> Batch | None:
    """The batch asked for, else the current one (open for submission or recommendation),
    else the newest."""
    if batch_id is not None:
        return batches.get_batch(session, batch_id)
    rows = list_batches(session)
    current = [
        b
        for b in rows
        if batches.batch_phase(session, b)
        in (batches.BatchPhase.registration, batches.BatchPhase.recommendation)
    ]
    pick = current or rows
    return pick[0] if pick else None


# --- the application of one work (申报) -------------------------------------------------------


def _application_context(session: Session, user: User, work: Work) -> dict[str, Any]:
    docs = applications.current_documents(session, work)
    reviews = unit_review.unit_reviews(session, work)
    reviewers = display_names(session, (r.reviewer_id for r in reviews))
    versions = applications.versions_of(session, work)
    batch = session.get(Batch, work.batch_id) if work.batch_id else None
    last = unit_review.latest_unit_review(session, work)
    is_unit = user.role is Role.unit_reviewer
    return {
        "work": to_read(session, work),
        "raw": work,
        "docs": docs,
        "slots": list(DocumentSlot),
        "editable": user.role is Role.producer and work.status in EDITABLE,
        "problems": applications.eligibility_problems(session, work)
        if work.status in EDITABLE
        else {},
        "reviews": reviews,
        "reviewers": reviewers,
        "versions": versions,
        "batch": batch,
        "deadline": deadline_zh(batch.registration_deadline) if batch else "",
        "submission_deadline": deadline_zh(batch.submission_deadline) if batch else "",
        "can_review": is_unit and work.status is WorkStatus.submitted and last is None,
        "can_recommend": is_unit
        and work.status is WorkStatus.submitted
        and last is not None
        and last.decision == UnitDecision.passed,
        "quota": unit_review.quota_status(session, work.unit_id, batch)
        if batch and is_unit
        else None,
        # shown before the click, with the button disabled (推荐 after the deadline, quota)
        "recommend_blocker": unit_review.recommend_blocker(session, work.unit_id, batch)
        if batch and is_unit and work.status is WorkStatus.submitted
        else None,
        "decisions": [UnitDecision.passed, UnitDecision.reject, UnitDecision.return_],
        "funding": selection.funding_status(session, work),
        "max_mb": get_settings().upload_max_bytes // (1024 * 1024),
        "errors": {},
    }


@router.get("/works/{work_id}/application", response_class=HTMLResponse)
def application_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    work = get_work(session, user, work_id)
    return render(request, "workflow/application.html", **_application_context(session, user, work))


@router.post("/works/{work_id}/application/documents/{kind}", response_class=HTMLResponse)
async def upload_page(
    request: Request, work_id: int, kind: str, session: SessionDep, user: PageUser
) -> Response:
    slot = slot_from_url(kind)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(
            "请选择要上传的 PDF 文件", fields={"file": "请选择要上传的 PDF 文件"}
        )
    try:
        # The spooled file, not its bytes: the service reads it after its access checks.
        applications.upload_document(
            session, user, work_id, slot, upload.file, upload.filename or ""
        )
    except ValidationFailed as exc:
        session.rollback()
        work = get_work(session, user, work_id)
        ctx = _application_context(session, user, work)
        ctx["errors"] = {f"upload-{slot.url_name}": "；".join(exc.fields.values()) or exc.message}
        return render(request, "workflow/application.html", status_code=422, **ctx)
    return redirect(f"/works/{work_id}/application", f"已上传{slot.label}")


@router.post("/works/{work_id}/application/documents/{kind}/sign", response_class=HTMLResponse)
async def sign_page(
    request: Request, work_id: int, kind: str, session: SessionDep, user: PageUser
) -> Response:
    """在线签章 from the application page: the password field next to the upload form."""
    slot = slot_from_url(kind)
    form = await request.form()
    password = form.get("password")
    try:
        if not isinstance(password, str) or not password:
            raise ValidationFailed(
                "请输入登录密码以确认签章", fields={"password": "请输入登录密码"}
            )
        await signing.sign_online(
            session, user, work_id, slot, password, client_address(request), get_pool()
        )
    except JingpinError as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        session.rollback()
        work = get_work(session, user, work_id)
        ctx = _application_context(session, user, work)
        fields = getattr(exc, "fields", None) or {}
        ctx["errors"] = {f"sign-{slot.url_name}": "；".join(fields.values()) or exc.message}
        return render(request, "workflow/application.html", status_code=exc.status_code, **ctx)
    return redirect(f"/works/{work_id}/application", f"已在线签署{slot.label}")


def _documents_fact(session: Session, work: Work) -> str:
    docs = applications.current_documents(session, work)
    return "、".join(slot.label for slot in DocumentSlot if slot in docs) or "无"


@router.post("/works/{work_id}/application/submit", response_class=HTMLResponse)
async def submit_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    if not is_confirmed(form):
        work = get_work(session, user, work_id)
        read = to_read(session, work)
        problems = applications.eligibility_problems(session, work)
        return confirmation(
            request,
            title="提交申报",
            action=f"/works/{work_id}/application/submit",
            back=f"/works/{work_id}/application",
            warning="提交后申报内容冻结，不能修改；推荐单位将进行初评。",
            button=f"确认提交至{read.unit_name}",
            facts=[
                ("作品", f"《{work.title}》"),
                ("推荐单位", read.unit_name or ""),
                ("申报版本", f"第 {work.version} 版"),
                ("附件", _documents_fact(session, work)),
            ],
            blocker="；".join(problems.values()) if problems else None,
        )
    try:
        applications.submit(session, user, work_id)
    except ValidationFailed as exc:
        session.rollback()
        work = get_work(session, user, work_id)
        ctx = _application_context(session, user, work)
        ctx["problems"], ctx["submit_error"] = exc.fields, exc.message
        return render(request, "workflow/application.html", status_code=422, **ctx)
    return redirect(f"/works/{work_id}/application", "已提交推荐单位，申报内容已冻结")


@router.post("/works/{work_id}/application/unit-review", response_class=HTMLResponse)
async def unit_review_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    decision, opinion = str(form.get("decision", "")), str(form.get("opinion", ""))[:5000]
    try:
        choice = UnitDecision(decision)
    except ValueError:
        return _application_error(request, session, user, work_id, {"decision": "请选择初评结论"})
    if not opinion.strip():
        return _application_error(request, session, user, work_id, {"opinion": "请填写初评意见"})
    if not is_confirmed(form):
        work = get_work(session, user, work_id)
        return confirmation(
            request,
            title="初评结论",
            action=f"/works/{work_id}/application/unit-review",
            back=f"/works/{work_id}/application",
            warning="初评结论保存后不能修改，申报单位将收到通知。",
            facts=[
                ("作品", f"《{work.title}》"),
                ("初评结论", choice.label),
                ("初评意见", opinion),
            ],
            fields={"decision": decision, "opinion": opinion},
        )
    unit_review.review_submission(session, user, work_id, choice, opinion)
    return redirect(f"/works/{work_id}/application", f"已记录初评结论：{choice.label}")


def _application_error(
    request: Request, session: Session, user: User, work_id: int, errors: dict[str, str]
) -> Response:
    """The application page again, with the errors next to their fields."""
    ctx = _application_context(session, user, get_work(session, user, work_id))
    ctx["errors"] = errors
    return render(request, "workflow/application.html", status_code=422, **ctx)


@router.post("/works/{work_id}/application/recommend", response_class=HTMLResponse)
async def recommend_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    opinion = str(form.get("opinion", ""))[:5000]
    if not is_confirmed(form):
        work = get_work(session, user, work_id)
        require_role(user, Role.unit_reviewer, message="只有推荐单位审核员可以推荐作品")
        batch = session.get(Batch, work.batch_id) if work.batch_id else None
        blocker = unit_review.recommend_blocker(session, work.unit_id, batch) if batch else None
        quota = unit_review.quota_status(session, work.unit_id, batch) if batch else None
        facts = [("作品", f"《{work.title}》"), ("批次", batch.label if batch else "未选择")]
        if quota:
            facts.append(
                (
                    "推荐名额",
                    f"推荐后已用 {quota['used'] + 1} 部 / 上限 {quota['quota'] + quota['extra']} 部",
                )
            )
        facts.append(("推荐意见", opinion or "（无）"))
        return confirmation(
            request,
            title="推荐至总局",
            action=f"/works/{work_id}/application/recommend",
            back=f"/works/{work_id}/application",
            warning="推荐后占用本单位本批次名额，不能撤回；总局将安排复评。",
            facts=facts,
            fields={"opinion": opinion},
            blocker=blocker.message if blocker else None,
        )
    unit_review.recommend(session, user, work_id, opinion)
    return redirect(f"/works/{work_id}/application", "已推荐至总局")


@router.get("/works/{work_id}/application/versions/{version}", response_class=HTMLResponse)
def version_page(
    request: Request, work_id: int, version: int, session: SessionDep, user: PageUser
) -> Response:
    rows = [v for v in applications.versions(session, user, work_id) if v.version == version]
    if not rows:
        raise JingpinError("未找到该版本", code="not_found")
    return render(
        request,
        "workflow/version.html",
        work_id=work_id,
        version=rows[0],
        snapshot=json.loads(rows[0].snapshot),
    )


@router.get("/applications", response_class=HTMLResponse)
def applications_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    paged = search_works(session, user, work_list_params(request.query_params))
    rows = []
    for w in paged.items:
        batch = session.get(Batch, w.batch_id) if w.batch_id else None
        rows.append((to_read(session, w), batch, len(applications.current_documents(session, w))))
    return render(
        request,
        "workflow/applications.html",
        rows=rows,
        paged=paged,
        selects=list_filters(session, user),
    )


# --- unit desk (初评与推荐) --------------------------------------------------------------------


@router.get("/reviews/unit", response_class=HTMLResponse)
def unit_desk(
    request: Request, session: SessionDep, user: PageUser, batch_id: int | None = None
) -> Response:
    require_role(user, Role.unit_reviewer, message="只有推荐单位审核员可以查看初评队列")
    batch = _pick_batch(session, batch_id)
    unit = require_unit_of(session, user)
    works = unit_review.unit_queue(session, user, batch.id if batch else None)
    rows = [(to_read(session, w), unit_review.latest_unit_review(session, w)) for w in works]
    return render(
        request,
        "workflow/unit.html",
        unit=unit,
        batch=batch,
        batches=list_batches(session),
        rows=rows,
        quota=unit_review.quota_status(session, unit.id or 0, batch) if batch else None,
        deadline=deadline_zh(batch.submission_deadline) if batch else "",
    )


# --- ministry desk (复评、终评、公示) -----------------------------------------------------------


@router.get("/reviews/ministry", response_class=HTMLResponse)
def ministry_desk(
    request: Request, session: SessionDep, user: PageUser, batch_id: int | None = None
) -> Response:
    batch = _pick_batch(session, batch_id)
    standings = selection.standings(session, user, batch.id or 0) if batch else []
    notice = notices.notice_for(session, batch.id or 0) if batch else None
    expert_users = notes.with_role(session, Role.expert)
    titles = {s.work.id: s.work.title for s in standings}
    publish_block = confirm_block = None
    if batch is not None:
        block = notices.publish_blocker(session, batch, notices.batch_works(session, batch.id or 0))
        publish_block = block.message if block else None
        block = notices.confirm_blocker(session, batch) if notice else None
        confirm_block = block.message if block else None
    return render(
        request,
        "workflow/ministry.html",
        batch=batch,
        batches=list_batches(session),
        standings=standings,
        experts=expert_users,
        notice=notice,
        notice_end=deadline_zh(notice.ends_at) if notice else "",
        objections=notices.objections(session, batch.id or 0) if batch else [],
        titles=titles,
        rounds=ReviewRound,
        criteria=experts.CRITERIA,
        units={u.id: u.name for u in list_units(session)},
        publish_blocker=publish_block,
        confirm_blocker=confirm_block,
    )


def _ministry_back(work_id: int, session: Session, msg: str) -> Response:
    work = session.get(Work, work_id)
    suffix = f"?batch_id={work.batch_id}" if work and work.batch_id else ""
    return redirect(f"/reviews/ministry{suffix}", msg)


@router.post("/reviews/ministry/{work_id}/assign", response_class=HTMLResponse)
async def assign_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    round_ = ReviewRound(str(form.get("round", "second")))
    ids = [int(str(v)) for v in form.getlist("expert_ids") if str(v).isdigit()]
    experts.assign_experts(session, user, work_id, round_, ids)
    return _ministry_back(work_id, session, f"已分配{round_.label}专家")


def _outcome_reason(form: Any) -> str:
    """The reason of a 复评结论 / 终评决定: required, at most 5,000 characters (never cut)."""
    reason = required_text(str(form.get("reason", "")), "reason", "理由")
    if len(reason) > 5000:
        raise ValidationFailed("理由最多 5000 字", fields={"reason": "理由最多 5000 字"})
    return reason


def _round_outcome_confirmation(
    request: Request,
    session: Session,
    user: User,
    work_id: int,
    *,
    title: str,
    outcome: str,
    form: Any,
) -> Response:
    """复评结论 / 终评决定 are recorded for good: first show what will be recorded."""
    experts.require_officer(user)
    work = get_work(session, user, work_id)
    reason = _outcome_reason(form)
    return confirmation(
        request,
        title=title,
        action=str(request.url.path),
        back=f"/reviews/ministry?batch_id={work.batch_id}",
        warning="记录后不能修改，结论将进入评审记录和审计日志。",
        facts=[("作品", f"《{work.title}》"), ("结论", outcome), ("理由", reason)],
        fields=dict(form),
    )


@router.post("/reviews/ministry/{work_id}/conclude", response_class=HTMLResponse)
async def conclude_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    advance = str(form.get("advance", "")) == "yes"
    if not is_confirmed(form):
        outcome = "进入终评" if advance else "未入选（复评后不再进入终评）"
        return _round_outcome_confirmation(
            request, session, user, work_id, title="记录复评结论", outcome=outcome, form=form
        )
    selection.conclude_second_round(session, user, work_id, advance, _outcome_reason(form))
    return _ministry_back(work_id, session, "已记录复评结论")


@router.post("/reviews/ministry/{work_id}/decide", response_class=HTMLResponse)
async def decide_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    chosen = str(form.get("selected", "")) == "yes"
    if not is_confirmed(form):
        outcome = "拟入选（进入公示名单）" if chosen else "未入选"
        return _round_outcome_confirmation(
            request, session, user, work_id, title="记录终评决定", outcome=outcome, form=form
        )
    selection.decide(session, user, work_id, chosen, _outcome_reason(form))
    return _ministry_back(work_id, session, "已记录终评决定")


@router.post("/reviews/ministry/batches/{batch_id}/publish", response_class=HTMLResponse)
async def publish_page(
    request: Request, batch_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    if not is_confirmed(form):
        experts.require_officer(user)
        batch = batches.get_batch(session, batch_id)
        works = notices.batch_works(session, batch_id)
        blocker = notices.publish_blocker(session, batch, works)
        chosen = [w.title for w in works if w.status is WorkStatus.selected]
        return confirmation(
            request,
            title="发布公示",
            action=f"/reviews/ministry/batches/{batch_id}/publish",
            back=f"/reviews/ministry?batch_id={batch_id}",
            warning=f"发布后名单向社会公开，公示 {batch.notice_days} 天；本批次不再接受申报或推荐。",
            facts=[
                ("批次", batch.label),
                ("拟入选作品", "、".join(f"《{t}》" for t in chosen) or "无"),
                ("公示天数", f"{batch.notice_days} 天"),
            ],
            blocker=blocker.message if blocker else None,
        )
    notices.publish_notice(session, user, batch_id)
    return redirect(f"/reviews/ministry?batch_id={batch_id}", "入选名单已公示")


@router.post("/reviews/ministry/batches/{batch_id}/objections", response_class=HTMLResponse)
def objection_page(
    batch_id: int,
    session: SessionDep,
    user: PageUser,
    work_id: Annotated[int, Form()],
    submitter: Annotated[str, Form(max_length=100)] = "",
    content: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    notices.record_objection(session, user, batch_id, work_id, submitter, content)
    return redirect(f"/reviews/ministry?batch_id={batch_id}", "已登记异议")


@router.post("/reviews/ministry/objections/{objection_id}/resolve", response_class=HTMLResponse)
def resolve_page(
    objection_id: int,
    session: SessionDep,
    user: PageUser,
    upheld: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form(max_length=5000)] = "",
    batch_id: Annotated[int, Form()] = 0,
) -> Response:
    notices.resolve_objection(session, user, objection_id, upheld == "yes", resolution)
    return redirect(f"/reviews/ministry?batch_id={batch_id}", "已处理异议")


@router.post("/reviews/ministry/batches/{batch_id}/confirm", response_class=HTMLResponse)
async def confirm_page(
    request: Request, batch_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    if not is_confirmed(form):
        experts.require_officer(user)
        batch = batches.get_batch(session, batch_id)
        blocker = notices.confirm_blocker(session, batch)
        listed = [
            w.title
            for w in notices.batch_works(session, batch_id)
            if w.status is WorkStatus.in_notice
        ]
        return confirmation(
            request,
            title="确认入选名单",
            action=f"/reviews/ministry/batches/{batch_id}/confirm",
            back=f"/reviews/ministry?batch_id={batch_id}",
            warning="确认后名单生效，不能撤回；下一步为入选作品生成三方协议。",
            facts=[
                ("批次", batch.label),
                ("入选作品", "、".join(f"《{t}》" for t in listed) or "无"),
            ],
            blocker=blocker.message if blocker else None,
        )
    notices.confirm_selection(session, user, batch_id)
    return redirect(f"/reviews/ministry?batch_id={batch_id}", "入选名单已确认")


# --- expert desk (专家评审) --------------------------------------------------------------------


def _by_batch(
    session: Session, tasks: list[experts.ExpertTask]
) -> list[tuple[str, list[experts.ExpertTask], list[experts.ExpertTask]]]:
    """The expert's tasks per batch (newest batch first): 待评 (still open) and 已评 / 已结束."""
    labels = {b.id: b.label for b in list_batches(session)}
    order = list(labels)
    groups: dict[int | None, tuple[list[experts.ExpertTask], list[experts.ExpertTask]]] = {}
    for t in tasks:
        pending, done = groups.setdefault(t.work.batch_id, ([], []))
        (pending if t.open and t.score is None else done).append(t)
    keys = sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
    return [(labels.get(k, "未分批次"), *groups[k]) for k in keys]


@router.get("/reviews/expert", response_class=HTMLResponse)
def expert_desk(request: Request, session: SessionDep, user: PageUser) -> Response:
    tasks = experts.expert_tasks(session, user)
    return render(
        request,
        "workflow/expert.html",
        tasks=tasks,
        groups=_by_batch(session, tasks),
        criteria=experts.CRITERIA,
        parsed={id(t): json.loads(t.score.scores) for t in tasks if t.score},
        errors={},
    )


@router.post("/reviews/expert/{work_id}/score", response_class=HTMLResponse)
async def score_page(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    form = await request.form()
    round_ = ReviewRound(str(form.get("round", "second")))
    scores = {c.key: str(form.get(c.key, "")).strip() for c in experts.CRITERIA}
    opinion = str(form.get("opinion", ""))
    try:
        if not is_confirmed(form):
            clean = experts.check_scores(scores)  # a wrong score goes back to its field
            required_text(opinion, "opinion", "评审意见")
            work = get_work(session, user, work_id)
            return confirmation(
                request,
                title="提交评分",
                action=f"/reviews/expert/{work_id}/score",
                back="/reviews/expert",
                warning="提交后不能修改。",
                facts=[
                    ("作品", f"《{work.title}》"),
                    ("评审轮次", round_.label),
                    *[
                        (f"{c.label}（满分 {c.max_points}）", str(clean[c.key]))
                        for c in experts.CRITERIA
                    ],
                    ("合计", str(sum(clean.values()))),
                    ("评审意见", opinion),
                ],
                fields={"round": round_.value, **scores, "opinion": opinion},
            )
        experts.score_work(session, user, work_id, round_, scores, opinion)
    except ValidationFailed as exc:
        session.rollback()
        tasks = experts.expert_tasks(session, user)
        return render(
            request,
            "workflow/expert.html",
            status_code=422,
            tasks=tasks,
            groups=_by_batch(session, tasks),
            criteria=experts.CRITERIA,
            errors={(work_id, round_.value): exc},
            parsed={id(t): json.loads(t.score.scores) for t in tasks if t.score},
        )
    return redirect("/reviews/expert", "评分已提交")


# --- batches (admin) --------------------------------------------------------------------------


@router.get("/batches", response_class=HTMLResponse)
def batches_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    rows = [(b, unit_review.quota_exceptions(session, b.id or 0)) for b in list_batches(session)]
    units = list_units(session)
    return render(
        request,
        "workflow/batches.html",
        rows=rows,
        units=units,
        errors={},
        values={},
        beijing=deadline_zh,
        unit_names={u.id: u.name for u in units},
    )


def _batch_form(form: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("year", "number", "quota", "notice_days"):
        if str(form.get(key, "")).strip():
            out[key] = str(form[key]).strip()
    for key in ("registration_deadline", "submission_deadline"):
        if str(form.get(key, "")).strip():
            out[key] = str(form[key]).strip()
    return out


@router.post("/batches", response_class=HTMLResponse)
async def batch_create_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    form = dict(await request.form())
    try:
        batches.create_batch(session, user, BatchIn.model_validate(_batch_form(form)).model_dump())
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        errors = (
            fields_from_pydantic(list(exc.errors()))
            if isinstance(exc, ValidationError)
            else exc.fields
        )
        rows = [
            (b, unit_review.quota_exceptions(session, b.id or 0)) for b in list_batches(session)
        ]
        units = list_units(session)
        return render(
            request,
            "workflow/batches.html",
            status_code=422,
            rows=rows,
            units=units,
            errors=errors,
            values=form,
            beijing=deadline_zh,
            unit_names={u.id: u.name for u in units},
        )
    return redirect("/batches", "已新建批次")


def _batch_values(batch: Batch) -> dict[str, Any]:
    return {
        "year": batch.year,
        "number": batch.number,
        "quota": batch.quota,
        "notice_days": batch.notice_days,
        "registration_deadline": to_local_input(batch.registration_deadline),
        "submission_deadline": to_local_input(batch.submission_deadline),
    }


def _batch_edit(
    request: Request,
    session: Session,
    batch: Batch,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    reopen_errors: dict[str, str] | None = None,
    reopen_values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    phase = batches.batch_phase(session, batch)
    return render(
        request,
        "workflow/batch_edit.html",
        status_code=status_code,
        batch=batch,
        phase=phase,
        closed=batches.intake_closed(session, batch),
        # A deadline has passed and no 公示 yet: extending it is the explicit 重新开放.
        can_reopen=phase in (batches.BatchPhase.recommendation, batches.BatchPhase.review),
        errors=errors or {},
        values=values if values is not None else _batch_values(batch),
        reopen_errors=reopen_errors or {},
        reopen_values=reopen_values if reopen_values is not None else _batch_values(batch),
    )


def _form_errors(exc: ValidationError | JingpinError) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return fields_from_pydantic(list(exc.errors()))
    return exc.fields or {"__all__": exc.message}


@router.get("/batches/{batch_id}/edit", response_class=HTMLResponse)
def batch_edit_page(
    request: Request, batch_id: int, session: SessionDep, user: PageUser
) -> Response:
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    return _batch_edit(request, session, batches.get_batch(session, batch_id))


@router.post("/batches/{batch_id}/edit", response_class=HTMLResponse)
async def batch_update_page(
    request: Request, batch_id: int, session: SessionDep, user: PageUser
) -> Response:
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    form = dict(await request.form())
    try:
        patch = BatchPatch.model_validate(_batch_form(form)).model_dump(exclude_unset=True)
        batches.update_batch(session, user, batch_id, patch)
    except (ValidationError, JingpinError) as exc:
        session.rollback()
        errors = _form_errors(exc)
        if isinstance(exc, JingpinError) and exc.fields and exc.code == "reopen_required":
            errors = {**exc.fields, "__all__": exc.message}
        return _batch_edit(
            request,
            session,
            batches.get_batch(session, batch_id),
            values=form,
            errors=errors,
            status_code=422 if isinstance(exc, ValidationError) else exc.status_code,
        )
    return redirect("/batches", "批次已保存")


@router.post("/batches/{batch_id}/reopen", response_class=HTMLResponse)
async def batch_reopen_page(
    request: Request, batch_id: int, session: SessionDep, user: PageUser
) -> Response:
    """重新开放: new deadlines and a reason, in one explicit step (refused after 公示)."""
    require_role(user, Role.admin, message="只有系统管理员可以设置批次")
    form = dict(await request.form())
    fields = {k: v for k, v in _batch_form(form).items() if k in batches.DEADLINES}
    try:
        body = BatchReopen.model_validate({**fields, "reason": str(form.get("reason", ""))})
        batches.reopen_batch(
            session,
            user,
            batch_id,
            body.model_dump(exclude={"reason"}, exclude_none=True),
            body.reason,
        )
    except (ValidationError, JingpinError) as exc:
        session.rollback()
        return _batch_edit(
            request,
            session,
            batches.get_batch(session, batch_id),
            reopen_errors=_form_errors(exc),
            reopen_values=form,
            status_code=422 if isinstance(exc, ValidationError) else exc.status_code,
        )
    return redirect("/batches", "批次已重新开放，已记入审计日志")


@router.post("/batches/quota-exceptions", response_class=HTMLResponse)
def quota_exception_page(
    session: SessionDep,
    user: PageUser,
    batch_id: Annotated[int, Form()],
    unit_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    unit_review.grant_quota_exception(session, user, batch_id, unit_code, reason)
    return redirect("/batches", "已批准名额例外 +1")


# --- public notice (公示, no login) -----------------------------------------------------------


@router.get("/reviews/ministry/{batch_id}/results.xlsx")
def review_results_xlsx(batch_id: int, session: SessionDep, user: PageUser) -> Response:
    """评审结果 of a batch as Excel: rank, round averages and each expert's total, decision."""
    batch = batches.get_batch(session, batch_id)
    rows = [
        [
            s.rank,
            s.work.title,
            s.organisation,
            s.unit,
            s.second.average,
            f"{s.second.scored}/{s.second.assigned}",
            s.final.average,
            f"{s.final.scored}/{s.final.assigned}",
            s.work.status.label,
            s.decision.reason if s.decision else "",
            "；".join(
                f"{sc['expert']} {sc['total']} 分" for sc in s.second.scores + s.final.scores
            ),
        ]
        for s in selection.standings(session, user, batch.id or 0)
    ]
    header = ["排名", "作品名称", "申报机构", "推荐单位", "复评均分", "复评已评/分配"]
    header += ["终评均分", "终评已评/分配", "状态", "决定理由", "专家评分"]
    data = xlsx.table("评审结果", header, rows)
    return download(data, f"{batch.label}评审结果.xlsx", XLSX)


@router.get("/public/notices", response_class=HTMLResponse)
def public_index(request: Request, session: SessionDep) -> Response:
    published = notices.published_notices(session)
    by_id = {b.id: b for b in list_batches(session)}
    return render(
        request,
        "workflow/public_index.html",
        user=None,
        csrf_token="",
        notices=[(n, by_id[n.batch_id], deadline_zh(n.ends_at)) for n in published],
    )


@router.get("/public/notices/{batch_id}.xlsx")
def public_notice_xlsx(batch_id: int, session: SessionDep) -> Response:
    """公示名单 as Excel (as public as the page itself; text cells never formulas)."""
    batch, _notice, rows = notices.public_list(session, batch_id)
    keys = ("title", "organisation", "unit", "direction", "episodes", "status")
    data = xlsx.table(
        "公示名单",
        ["序号", "作品名称", "申报机构", "推荐单位", "创作方向", "集数", "状态"],
        [[i, *(r[k] for k in keys)] for i, r in enumerate(rows, start=1)],
    )
    return download(data, f"{batch.label}公示名单.xlsx", XLSX)


@router.get("/public/notices/{batch_id}", response_class=HTMLResponse)
def public_notice(request: Request, batch_id: int, session: SessionDep) -> Response:
    batch, notice, rows = notices.public_list(session, batch_id)
    return render(
        request,
        "workflow/public_notice.html",
        user=None,
        csrf_token="",
        batch=batch,
        notice=notice,
        rows=rows,
        starts=deadline_zh(notice.starts_at),
        ends=deadline_zh(notice.ends_at),
        running=notices.notice_running(notice),
    )


# --- notifications (站内通知) ------------------------------------------------------------------


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(
        request,
        "workflow/notifications.html",
        items=notes.list_notifications(session, user),
        unread=notes.unread_count(session, user),
    )


@router.post("/notifications/read-all", response_class=HTMLResponse)
def notifications_read_all_page(session: SessionDep, user: PageUser) -> Response:
    done = notes.mark_all_read(session, user)
    return redirect("/notifications", f"已将 {done} 条通知标为已读")


@router.post("/notifications/{notification_id}/read", response_class=HTMLResponse)
def notification_read_page(notification_id: int, session: SessionDep, user: PageUser) -> Response:
    note = notes.mark_read(session, user, notification_id)
    return redirect(note.link or "/notifications")


__all__ = ["router", "ExpertScore"]
