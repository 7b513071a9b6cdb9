"""Server-rendered pages (Jinja2, HTMX where it helps). All text in Simplified Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from backend.audit.service import record
from backend.auth.deps import (
    SESSION_COOKIE,
    CurrentAuth,
    CurrentUser,
    SessionDep,
    client_address,
)
from backend.auth.models import ROLE_LABELS, TokenKind
from backend.auth.service import authenticate, issue_token, revoke_token
from backend.config import get_settings
from backend.core import display
from backend.errors import JingpinError, NotAuthenticated, ValidationFailed
from backend.orgs.models import Organisation, RecommendingUnit
from backend.web.deps import PageUser
from backend.web.home import home_sections
from backend.works import service as works
from backend.works.models import DIRECTION_LABELS, Batch, Work
from backend.works.schemas import WorkCreate, WorkUpdate

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(role_labels=ROLE_LABELS, direction_labels=DIRECTION_LABELS)
templates.env.filters.update(yuan=display.yuan, local_time=display.local_time)
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, exc: JingpinError) -> Response:
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render(request, "error.html", status_code=exc.status_code, error=exc)


@router.get("/", response_class=HTMLResponse)
def index() -> Response:
    return RedirectResponse("/home", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/home") -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/home"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=50)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=300)] = "/home",
) -> Response:
    # No CSRF token exists before login; SameSite=Lax cookies and the credential check guard it.
    try:
        user = authenticate(session, username, password, client_address(request))
    except JingpinError as exc:
        return render(
            request,
            "login.html",
            status_code=exc.status_code,
            error=exc.message,
            next=_safe_next(next),
            username=username,
        )
    token, _row = issue_token(session, user, TokenKind.session)
    record(session, actor=user, action="auth.login", object_type="user", object_id=user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=settings.base_url.startswith("https") or settings.is_production,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(auth: CurrentAuth, session: SessionDep) -> Response:
    user, row = auth
    revoke_token(session, row)
    record(session, actor=user, action="auth.logout", object_type="user", object_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/home", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: PageUser) -> Response:
    org = session.get(Organisation, user.organisation_id)
    return render(request, "home.html", org=org, sections=home_sections(session, user))


# --- works (作品) -----------------------------------------------------------------------------


@router.get("/works", response_class=HTMLResponse)
def works_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    rows = [works.to_read(session, w) for w in works.list_works(session, user)]
    return render(request, "works/list.html", works=rows)


def _form_choices(session: SessionDep) -> dict[str, Any]:
    from sqlmodel import col, select

    return {
        "units": list(session.exec(select(RecommendingUnit).order_by(col(RecommendingUnit.id)))),
        "batches": list(session.exec(select(Batch).order_by(col(Batch.year), col(Batch.number)))),
    }


@router.get("/works/new", response_class=HTMLResponse)
def work_new(request: Request, session: SessionDep, user: PageUser) -> Response:
    if user.role.value != "producer":
        raise JingpinError("只有节目制作机构可以填报作品", code="forbidden")
    org = session.get(Organisation, user.organisation_id)
    unit = session.get(RecommendingUnit, org.unit_id) if org and org.unit_id else None
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
    if str(data.get("episodes", "")).isdigit():
        data["episodes"] = int(data["episodes"])
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


__all__ = ["router", "error_page", "render", "CurrentUser"]
