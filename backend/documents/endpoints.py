"""Document downloads under /api/v1 (tags: documents).

- ``GET /api/v1/works/{id}/documents/{application|copyright-pledge}.{docx|pdf}``: the prefilled
  附件1 申请书 / 附件2 版权承诺书, for anyone who can see the work (404 otherwise).
- (``GET /api/v1/units/{code}/progress-tables/…`` is funding's: backend.funding.finance_api.)

Each response carries the bytes, the media type, a Chinese file name (RFC 5987 ``filename*``)
and ``X-Document-SHA256``. The endpoints are async: database steps run in the threadpool and the
conversion in the pool's own executor (see ``backend.documents.downloads`` for the three steps).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, PageUser, SessionDep
from backend.auth.models import User
from backend.core import jobs
from backend.core.errors import NotFound, ServiceBusy, ValidationFailed
from backend.core.pages import redirect, render
from backend.core.responses import download
from backend.documents import downloads
from backend.documents.converter import ConversionTimeout, ConverterPool, get_pool
from backend.documents.downloads import Issued, Prepared

router = APIRouter(prefix="/api/v1", tags=["documents"])
# The work page's download buttons: the same files, but a missing field comes back to the page
# as a message beside the buttons instead of a JSON 422 the browser silently drops.
pages = APIRouter(include_in_schema=False)

PoolDep = Annotated[ConverterPool, Depends(get_pool)]
DOCUMENT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {},
            "application/pdf": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
        "description": "文书文件；X-Document-SHA256 为文件的 sha256",
    },
    404: {"description": "无权查看或不存在"},
    422: {"description": "信息不完整（fields 列出全部缺项）或参数格式错误"},
    202: {"description": "PDF 已排队生成（启用任务队列时）：status_url 查询进度，完成后再次下载"},
    503: {"description": "转换服务繁忙或正在恢复（Retry-After）"},
}


def conversion_queued(request: Request, job_id: int) -> Response:
    status_url = f"/api/v1/jobs/{job_id}"
    headers = {"Location": status_url, "Retry-After": "2"}
    if "text/html" in request.headers.get("accept", ""):
        job = {"id": job_id, "status": "todo", "attempts": 0}
        page = render(request, "jobs/progress.html", status_code=202, job=job)
        page.headers.update(headers)
        return page
    body = {
        "code": "conversion_queued",
        "message": "PDF 正在生成，完成后请再次下载",
        "job_id": job_id,
        "status_url": status_url,
    }
    return JSONResponse(body, status_code=202, headers=headers)


def file_response(issued: Issued) -> Response:
    return download(
        issued.data,
        issued.filename,
        issued.media_type,
        headers={"X-Document-SHA256": issued.sha256},
    )


async def issue(
    prepared: Prepared, pool: ConverterPool, user: User, request: Request | None = None
) -> Response:
    """Steps 2 and 3: convert off the event loop when needed, then record and answer.

    With a job queue (JINGPIN_QUEUE=postgres) a needed conversion goes to a worker instead: 202
    with the job's status URL (a browser gets the progress page, which polls it); the same
    download URL answers with the PDF once the job is done.
    """
    pdf = None
    if prepared.needs_conversion and request is not None and jobs.queue_enabled():
        path = request.url.path
        job_id = await run_in_threadpool(
            downloads.defer_conversion, prepared, actor=user, download_path=path
        )
        return conversion_queued(request, job_id)
    if prepared.needs_conversion:
        try:
            pdf = await pool.convert_async(prepared.source, source_format="docx")
        except (ServiceBusy, ConversionTimeout) as exc:
            raise downloads.conversion_unavailable(exc) from exc
    issued = await run_in_threadpool(downloads.record_issued, prepared, pdf, actor=user)
    return file_response(issued)


@router.get(
    "/works/{work_id}/documents/{doc_type}.{fmt}",
    summary="下载预填的申请书（附件1）或版权承诺书（附件2）",
    response_class=Response,
    responses=DOCUMENT_RESPONSES,
)
async def work_document(
    work_id: int,
    doc_type: Annotated[
        str, Path(description="application（申请书）或 copyright-pledge（承诺书）")
    ],
    fmt: Annotated[str, Path(description="docx 或 pdf")],
    session: SessionDep,
    user: CurrentUser,
    pool: PoolDep,
    request: Request,
) -> Response:
    def prepare() -> Prepared:
        work = downloads.authorised_work(session, user, work_id)
        if doc_type not in downloads.WORK_DOCUMENTS:
            raise NotFound("没有这种文书", code="document_type_not_found")
        wanted = downloads.parse_format(fmt, downloads.WORK_FORMATS)
        return downloads.prepare_work_document(session, work=work, doc_type=doc_type, fmt=wanted)

    return await issue(await run_in_threadpool(prepare), pool, user, request)


@pages.get("/works/{work_id}/prefilled/{doc_type}.{fmt}")
async def work_document_page(
    work_id: int,
    doc_type: str,
    fmt: str,
    session: SessionDep,
    user: PageUser,
    pool: PoolDep,
    request: Request,
) -> Response:
    try:
        return await work_document(work_id, doc_type, fmt, session, user, pool, request)
    except ValidationFailed as exc:
        missing = "、".join(exc.fields.values()) if exc.fields else ""
        message = f"{exc.message}{'：' + missing if missing and missing not in exc.message else ''}"
        return redirect(f"/works/{work_id}", message, error=True)
