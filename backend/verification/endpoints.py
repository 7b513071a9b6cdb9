"""Verification API: verify any PDF, the registry, report downloads, the audit log (read-only)
and its signed export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.audit_log.service import event_dict, trail
from backend.auth.deps import CurrentUser, SessionDep
from backend.core.errors import NotFound, ValidationFailed
from backend.core.responses import download
from backend.core.schemas import error_responses
from backend.verification import audit_browser, evidence, registry, service
from backend.verification.export import export_lines
from backend.verification.schemas import (
    AuditEventPage,
    AuditEventRead,
    ChainStatusRead,
    RegistryEntry,
    VerificationQueued,
    VerificationResult,
    VerifyResponse,
)

router = APIRouter(prefix="/api/v1", tags=["verification"], responses=error_responses(401))
READERS_ONLY = {403: "仅审计人员和系统管理员可以查阅审计日志"}
NO_RESULT = {
    404: "您（或审计人员、总局可查阅的）尚无该文件的验证结果（请先 POST /api/v1/verify）",
    409: "验证尚在排队（verification_pending）",
}
BAD_SHA = {422: "sha256 应为 64 位十六进制"}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "待验证的 PDF"},
                    "at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "验证时间（ISO 8601，须带时区，如 2031-06-01T00:00:00+08:00），"
                        "默认为现在；按长期验证规则，时间戳证明签名在证书有效期内已存在",
                    },
                },
            }
        }
    },
}


def _validation_time(value: object) -> datetime | None:
    """The form's optional validation time: ISO 8601 with a time zone, or 422."""
    if value is None or value == "":
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            "验证时间格式不正确", fields={"at": "如 2031-06-01T00:00:00+08:00"}
        ) from None
    if at.tzinfo is None:
        raise ValidationFailed("验证时间须带时区", fields={"at": "须带时区，如 +08:00"})
    return at


def verification_queued(job_id: int, sha: str) -> JSONResponse:
    status_url = f"/api/v1/jobs/{job_id}"
    body = VerificationQueued(
        job_id=job_id,
        status_url=status_url,
        file_sha256=sha,
        report_json=f"/api/v1/verify/{sha}/report.json",
        report_pdf=f"/api/v1/verify/{sha}/report.pdf",
    )
    return JSONResponse(
        body.model_dump(),
        status_code=202,
        headers={"Location": status_url, "Retry-After": "2"},
    )


def _check_sha(value: str) -> str:
    value = value.lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValidationFailed("sha256 应为 64 位十六进制", fields={"sha256": "格式不正确"})
    return value


@router.post(
    "/verify",
    response_model=VerifyResponse,
    summary="验证任意 PDF 的电子签名",
    responses={
        202: {
            "model": VerificationQueued,
            "description": "已排队验证（启用任务队列且文件不小于 JINGPIN_VERIFY_QUEUE_MIN_BYTES）："
            "status_url 查询进度，完成后读取 report_json",
        },
        **error_responses(
            409,
            413,
            422,
            503,
            notes={
                409: "该文件的验证尚在排队（verification_pending）",
                413: "文件过大（limit_bytes：上限）",
                422: "空文件或验证被中止（verification_aborted）",
                503: "验签服务繁忙（Retry-After）",
            },
        ),
    },
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def verify(
    request: Request, session: SessionDep, user: CurrentUser
) -> VerifyResponse | JSONResponse:
    """Runs in the verification worker pool (time and memory limits per file); the JSON is the
    `jingpin verify --json` contract plus `registry`, `summary_zh` and the report download paths.
    With `at`, the verdict is the one a verifier would give at that time. The result and its
    reports are readable by the uploader (and auditors, the ministry)."""
    # The form is read here, after authentication, not as a parameter (FastAPI would read the
    # body before the dependencies ran).
    file = await service.form_upload(request)
    at = _validation_time((await request.form()).get("at"))
    data = await service.read_upload(file)
    if service.goes_to_queue(len(data)):
        job_id, sha = await run_in_threadpool(
            service.queue_verification, session, user, data, file.filename, at
        )
        return verification_queued(job_id, sha)
    result = await service.verify_upload(session, user, data, file.filename, at)
    sha = result.file_sha256
    return VerifyResponse(
        **dict(result),
        report_pdf=f"/api/v1/verify/{sha}/report.pdf",
        report_json=f"/api/v1/verify/{sha}/report.json",
    )


@router.get(
    "/registry/{sha256}",
    response_model=RegistryEntry,
    summary="按 sha256 查询本系统签发的文件",
    responses=error_responses(422, notes=BAD_SHA),
)
def registry_lookup(sha256: str, session: SessionDep, user: CurrentUser) -> RegistryEntry:
    return registry.lookup(session, _check_sha(sha256))


@router.get(
    "/agreements/{agreement_id}/evidence.zip",
    response_class=Response,
    summary="证据包",
    tags=["agreements"],
    responses={
        200: {"content": {"application/zip": {}}, "description": "证据包（ZIP）"},
        **error_responses(404, 422, notes={404: "协议不存在、无权查看或尚未生成文件"}),
    },
)
def evidence_package(agreement_id: int, session: SessionDep, user: CurrentUser) -> Response:
    ag, data = evidence.evidence_zip(session, user, agreement_id)
    return download(data, f"三方协议证据包-{ag.number}.zip", "application/zip")


@router.get(
    "/verify/{file_sha256}/report.json",
    response_model=VerificationResult,
    summary="验证结果（JSON，最近一次验证）",
    responses=error_responses(404, 409, 422, notes={**NO_RESULT, **BAD_SHA}),
)
def report_json(file_sha256: str, session: SessionDep, user: CurrentUser) -> VerificationResult:
    return service.recall(session, user, _check_sha(file_sha256))


@router.get(
    "/verify/{file_sha256}/report.pdf",
    summary="验证报告（PDF，系统签章）",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "系统签章的验证报告"},
        **error_responses(404, 409, 422, notes={**NO_RESULT, **BAD_SHA}),
    },
)
def report_pdf(file_sha256: str, session: SessionDep, user: CurrentUser) -> Response:
    pdf = service.report_pdf(session, user, _check_sha(file_sha256))
    name = f"verification-report-{file_sha256[:12]}.pdf"
    return download(pdf, name, "application/pdf")


@router.get(
    "/audit/chain",
    response_model=ChainStatusRead,
    summary="审计日志链校验结果",
    responses=error_responses(403, notes=READERS_ONLY),
)
def chain(session: SessionDep, user: CurrentUser) -> ChainStatusRead:
    audit_browser.require_reader(user)
    status = audit_browser.chain_status(session)
    return ChainStatusRead(
        ok=status.ok,
        events=status.events,
        first_bad_seq=status.first_bad_seq,
        reason=status.reason,
        message=status.message,
        checkpoint_seq=status.checkpoint_seq,
    )


@router.get(
    "/audit/events",
    response_model=AuditEventPage,
    summary="审计日志（筛选、分页）",
    responses=error_responses(403, 422, notes=READERS_ONLY),
)
def events(
    session: SessionDep,
    user: CurrentUser,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=50)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = audit_browser.PAGE_SIZE,
) -> AuditEventPage:
    audit_browser.require_reader(user)
    result = audit_browser.search(
        session,
        audit_browser.AuditFilter(
            object_type, object_id, actor, action, since, until, page, page_size
        ),
    )
    return AuditEventPage(
        total=result.total,
        page=result.page,
        pages=result.pages,
        page_size=result.page_size,
        # The export's form of an event is the one source of its fields.
        events=[AuditEventRead.model_validate(event_dict(e)) for e in result.events],
    )


@router.get(
    "/audit/export",
    summary="导出对象的审计轨迹（JSON Lines，系统签名）",
    response_class=Response,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "系统签名的 JSON Lines"},
        **error_responses(403, 404, 422, notes={**READERS_ONLY, 404: "该对象没有审计记录"}),
    },
)
def export(
    session: SessionDep,
    user: CurrentUser,
    object_type: Annotated[str, Query(min_length=1, max_length=40)],
    object_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    audit_browser.require_reader(user)
    events = trail(session, object_type, object_id)
    if not events:
        raise NotFound("该对象没有审计记录", code="no_audit_events")
    data = export_lines(session, events, object_type=object_type, object_id=object_id)
    name = f"audit-{object_type}-{object_id}.jsonl"
    return download(data, name, "application/x-ndjson")
