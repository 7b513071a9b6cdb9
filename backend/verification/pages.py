"""Auditor pages: 签名验证 (any signed-in user) and 审计日志 (auditor, admin; read-only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.audit_log.service import verify_chain
from backend.auth.deps import PageUser, SessionDep
from backend.core.dates import SHANGHAI
from backend.core.errors import JingpinError, ValidationFailed
from backend.core.pages import render
from backend.verification import audit_browser, report, service

router = APIRouter(include_in_schema=False)


@router.get("/verify")
def verify_form(request: Request, user: PageUser) -> Response:
    return render(request, "verification/verify.html", body=None, error=None, report=report)


@router.post("/verify")
async def verify_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    try:
        file = await service.form_upload(request)
        data = await service.read_upload(file)
        if b"%PDF-" not in data[:1024]:  # the header PDF readers look for (ISO 32000-1 7.5.2)
            raise ValidationFailed(
                "上传的文件不是 PDF，无法验证签章。请上传 PDF 格式的文件。",
                code="not_a_pdf",
                fields={"file": "不是 PDF 文件"},
            )
        result = await service.verify_upload(session, user, data, file.filename)
    except JingpinError as exc:
        return render(
            request,
            "verification/verify.html",
            status_code=exc.status_code,
            body=None,
            error=exc.message,
            report=report,
        )
    body = result.model_dump(mode="json")
    sigs = [
        {"sig": s, "heading": report.signature_heading(i, s), "rows": report.signature_rows(s)}
        for i, s in enumerate(body["signatures"], start=1)
    ]
    return render(
        request,
        "verification/verify.html",
        body=body,
        sigs=sigs,
        error=None,
        report=report,
        context=report.report_context(body),
    )


def _day(value: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD date in Beijing time → the start of that day (or of the next one) in UTC."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    object_type: str = "",
    object_id: str = "",
    actor: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    audit_browser.require_reader(user)
    f = audit_browser.AuditFilter(
        object_type[:40] or None,
        object_id[:64] or None,
        actor[:50] or None,
        action[:60] or None,
        _day(since),
        _day(until, end=True),
        max(1, min(page, 100_000)),
    )
    result = audit_browser.search(session, f)
    query: dict[str, Any] = {
        "object_type": object_type,
        "object_id": object_id,
        "actor": actor,
        "action": action,
        "since": since,
        "until": until,
    }
    return render(
        request,
        "verification/audit.html",
        chain=verify_chain(session),
        result=result,
        query=query,
        object_types=audit_browser.object_types(session),
    )
