"""Pages for works (作品): the list, the form (create / edit) and the detail page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from backend.auth.deps import PageUser, SessionDep
from backend.auth.service import unit_of
from backend.core import display, xlsx
from backend.core.errors import JingpinError, ValidationFailed
from backend.core.pages import render
from backend.core.responses import XLSX, download
from backend.orgs.service import list_units
from backend.works import service as works
from backend.works.models import Work
from backend.works.schemas import WorkCreate, WorkUpdate

router = APIRouter(include_in_schema=False)


@router.get("/works", response_class=HTMLResponse)
def works_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    params = works.work_list_params(request.query_params)
    paged = works.search_works(session, user, params)
    rows = [works.to_read(session, w) for w in paged.items]
    return render(
        request,
        "works/list.html",
        works=rows,
        paged=paged,
        selects=works.list_filters(session, user),
    )


@router.get("/works/export.xlsx")
def works_export(request: Request, session: SessionDep, user: PageUser) -> Response:
    """作品清单: every work the list shows with its filters, across all pages."""
    params = works.work_list_params(request.query_params)
    rows = [works.to_read(session, w) for w in works.matching_works(session, user, params)]
    batches = {b.id: b.label for b in works.list_batches(session)}
    data = xlsx.table(
        "作品清单",
        [
            "序号",
            "作品名称",
            "申报机构",
            "推荐单位",
            "批次",
            "创作方向",
            "集数",
            "申请金额（元）",
            "状态",
        ],
        [
            [
                i,
                w.title,
                w.organisation_name,
                w.unit_name,
                batches.get(w.batch_id, "未选择"),
                w.direction_label,
                w.episodes,
                Decimal(w.requested_fen) / 100,
                w.status_label,
            ]
            for i, w in enumerate(rows, start=1)
        ],
    )
    return download(data, "作品清单.xlsx", XLSX)


def _form_choices(session: SessionDep) -> dict[str, Any]:
    return {
        "units": list_units(session),
        "batches": works.list_batches(session),
    }


@router.get("/works/new", response_class=HTMLResponse)
def work_new(request: Request, session: SessionDep, user: PageUser) -> Response:
    if user.role.value != "producer":
        raise JingpinError("只有节目制作机构可以填报作品", code="forbidden")
    unit = unit_of(session, user)
    values = {"unit_code": unit.code if unit else "", "is_original": True, "is_online": False}
    return render(
        request, "works/form.html", values=values, errors={}, work=None, **_form_choices(session)
    )


def _work_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """Form strings → API fields; amounts are typed in 元 and stored in 分."""
    data: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf_token"}
    for flag in ("is_original", "is_online", "central_support_received"):
        data[flag] = form.get(flag) in ("on", "true", "1", "yes")
    for money in ("budget", "requested"):
        raw = str(form.get(money + "_yuan", "")).replace(",", "").strip()
        data.pop(money + "_yuan", None)
        data[money + "_fen"] = display.parse_yuan(raw, field=money + "_fen")
    # A typed whole number (also -3) becomes an int, so the check names the real rule (须大于 0)
    # rather than saying it is not a whole number.
    episodes = str(data.get("episodes", "")).strip()
    if episodes.lstrip("-").isdigit():
        data["episodes"] = int(episodes)
    for optional in ("planned_start", "planned_completion", "batch_id"):
        if not data.get(optional):
            data[optional] = None
    return data


@router.post("/works/new", response_class=HTMLResponse)
async def work_create(request: Request, session: SessionDep, user: PageUser) -> Response:
    form = dict(await request.form())
    try:
        body = WorkCreate.model_validate(_work_from_form(form))
        work = works.create_work(session, user, body)
    except (ValidationError, ValidationFailed) as exc:
        errors = _errors(exc)
        return render(
            request,
            "works/form.html",
            status_code=422,
            values=form,
            errors=errors,
            work=None,
            **_form_choices(session),
        )
    return RedirectResponse(f"/works/{work.id}?created=1", status_code=303)


@router.get("/works/{work_id}", response_class=HTMLResponse)
def work_detail(request: Request, work_id: int, session: SessionDep, user: PageUser) -> Response:
    work = works.get_work(session, user, work_id)
    return render(
        request,
        "works/detail.html",
        work=works.to_read(session, work),
        editable=user.role.value == "producer" and work.status in works.EDITABLE,
    )


@router.get("/works/{work_id}/edit", response_class=HTMLResponse)
def work_edit(request: Request, work_id: int, session: SessionDep, user: PageUser) -> Response:
    work = works.get_work(session, user, work_id)
    read = works.to_read(session, work)
    values = read.model_dump()
    values["budget_yuan"] = display.plain_yuan(work.budget_fen)
    values["requested_yuan"] = display.plain_yuan(work.requested_fen)
    return render(
        request, "works/form.html", values=values, errors={}, work=read, **_form_choices(session)
    )


@router.post("/works/{work_id}/edit", response_class=HTMLResponse)
async def work_update(
    request: Request, work_id: int, session: SessionDep, user: PageUser
) -> Response:
    work: Work = works.get_work(session, user, work_id)
    form = dict(await request.form())
    try:
        patch = WorkUpdate.model_validate(_work_from_form(form))
        works.update_work(session, user, work_id, patch)
    except (ValidationError, ValidationFailed) as exc:
        return render(
            request,
            "works/form.html",
            status_code=422,
            values=form,
            errors=_errors(exc),
            work=works.to_read(session, work),
            **_form_choices(session),
        )
    return RedirectResponse(f"/works/{work_id}?saved=1", status_code=303)


def _errors(exc: ValidationError | ValidationFailed) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return works.fields_from_pydantic(list(exc.errors()))
    return exc.fields or {"__all__": exc.message}
