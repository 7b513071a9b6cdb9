"""Auditor pages: 签名验证 (any signed-in user) and 审计日志 (auditor, admin; read-only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import PageUser, SessionDep
from backend.auth.service import names_by_username
from backend.core import jobs, labels
from backend.core.dates import SHANGHAI
from backend.core.display import local_time
from backend.core.errors import JingpinError, NotFound, ValidationFailed
from backend.core.pages import render
from backend.core.responses import XLSX, download
from backend.core.xlsx import Workbook, to_bytes
from backend.pki.service import get_ca, system_certificates
from backend.verification import audit_browser, report, service
from backend.verification.export import verify_export
from backend.verification.models import ResultState, VerificationResultRow
from backend.verification.schemas import VerificationResult

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
        if service.goes_to_queue(len(data)):
            _job, sha = await run_in_threadpool(
                service.queue_verification, session, user, data, file.filename, None
            )
            return render(
                request,
                "verification/verify.html",
                status_code=202,
                body=None,
                error=None,
                report=report,
                pending={"sha": sha, "state": "pending", "job": None, "error": ""},
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
    return _result_page(request, result)


def _result_page(request: Request, result: VerificationResult) -> Response:
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


@router.get("/verify/{file_sha256}")
def result_page(
    file_sha256: str, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """A result as the upload page shows it (a queued verification lands here when done)."""
    row = service.readable_result(session, user, file_sha256.lower())
    if row.state == ResultState.done:
        return _result_page(request, service.recall(session, user, row.file_sha256))
    return render(
        request,
        "verification/verify.html",
        body=None,
        error=None,
        report=report,
        pending=_pending(session, row),
    )


@router.get("/verify/{file_sha256}/status")
def status_fragment(
    file_sha256: str, request: Request, session: SessionDep, user: PageUser
) -> Response:
    """The queued verification's state, polled by htmx every 2 s; when the result is there the
    browser goes to it (HX-Redirect)."""
    row = service.readable_result(session, user, file_sha256.lower())
    response = render(request, "verification/pending.html", pending=_pending(session, row))
    if row.state == ResultState.done:
        response.headers["HX-Redirect"] = f"/verify/{row.file_sha256}"
    return response


def _pending(session: SessionDep, row: VerificationResultRow) -> dict[str, Any]:
    job = None
    if row.state == ResultState.pending and row.job_id is not None:
        try:
            job = jobs.job_status(session, row.job_id)
        except NotFound:  # purged from the queue, or no queue configured any more
            job = None
    return {"sha": row.file_sha256, "state": row.state, "job": job, "error": row.error}


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


def _audit_filter(
    object_type: str, object_id: str, actor: str, action: str, since: str, until: str, page: int
) -> audit_browser.AuditFilter:
    return audit_browser.AuditFilter(
        object_type[:40] or None,
        object_id[:64] or None,
        actor[:50] or None,
        action[:60] or None,
        _day(since),
        _day(until, end=True),
        max(1, min(page, 100_000)),
    )


def _event_rows(session: SessionDep, events: list[Any]) -> list[dict[str, Any]]:
    """Events as people read them: 时间 / 操作人（姓名）/ 操作 / 对象 / 摘要; the JSON, the
    sequence number and the hash stay with the row for the 详情 toggle."""
    names = names_by_username(session, (e.actor for e in events))
    return [
        {
            "event": e,
            "actor": names.get(e.actor, "系统" if e.actor in ("system", "demo", "") else e.actor),
            "action": labels.action_label(e.action),
            "object": f"{labels.object_label(e.object_type)} {e.object_id or ''}".strip(),
            "summary": labels.summary(e.payload),
        }
        for e in events
    ]


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
    f = _audit_filter(object_type, object_id, actor, action, since, until, page)
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
        chain=audit_browser.chain_status(session),
        result=result,
        rows=_event_rows(session, result.events),
        query=query,
        object_types=[(t, labels.object_label(t)) for t in audit_browser.object_types(session)],
        check=None,
    )


EXPORT_LIMIT = 10_000  # rows in one Excel export; narrow the filter for more


@router.get("/audit/export.xlsx")
def audit_export_xlsx(
    session: SessionDep,
    user: PageUser,
    object_type: str = "",
    object_id: str = "",
    actor: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The filtered events as an Excel sheet (the signed JSON Lines export stays the evidence)."""
    audit_browser.require_reader(user)
    f = _audit_filter(object_type, object_id, actor, action, since, until, 1)
    f.page_size = EXPORT_LIMIT
    rows = _event_rows(session, audit_browser.search(session, f).events)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "审计日志"
    ws.append(["序号", "时间（北京时间）", "操作人", "操作", "对象", "摘要", "原始记录", "哈希"])
    for r in rows:
        e = r["event"]
        ws.append(
            [
                e.seq,
                local_time(e.at, "%Y-%m-%d %H:%M:%S"),
                r["actor"],
                r["action"],
                r["object"],
                r["summary"],
                e.payload,
                e.hash,
            ]
        )
    for column, width in zip("ABCDEFGH", (8, 20, 14, 18, 18, 40, 60, 20), strict=True):
        ws.column_dimensions[column].width = width
    return download(to_bytes(wb), "审计日志.xlsx", XLSX)


@router.post("/audit/verify-export")
async def audit_verify_export(
    request: Request, session: SessionDep, user: PageUser, file: Annotated[UploadFile, File()]
) -> Response:
    """核验导出文件: upload a signed JSON Lines export; the page says whether it is intact and
    signed by this system (what `jingpin audit verify-export` does, as a button)."""
    audit_browser.require_reader(user)
    data = await service.read_upload(file)
    ca = get_ca()
    check = verify_export(
        data,
        pinned=system_certificates(),
        revoked_serials={c.serial for c in ca.list() if c.revoked},
    )
    result = audit_browser.search(session, _audit_filter("", "", "", "", "", "", 1))
    return render(
        request,
        "verification/audit.html",
        status_code=200 if check.ok else 422,
        chain=audit_browser.chain_status(session),
        result=result,
        rows=_event_rows(session, result.events),
        query=dict.fromkeys(("object_type", "object_id", "actor", "action", "since", "until"), ""),
        object_types=[(t, labels.object_label(t)) for t in audit_browser.object_types(session)],
        check=check,
    )
