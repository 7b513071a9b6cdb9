"""The FastAPI application: routers, the one error handler, health."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend import wiring
from backend.agreements import pages as agreement_pages
from backend.agreements.endpoints import router as agreements_router
from backend.audit_log import checkpoints
from backend.auth import totp_endpoints
from backend.auth.endpoints import router as auth_router
from backend.core.config import get_settings
from backend.core.errors import JingpinError, ValidationFailed
from backend.core.limits import BodySizeLimit, RouteLimit
from backend.core.pages import error_page
from backend.core.security_headers import SecurityHeaders
from backend.documents import store as blob_store
from backend.documents.converter import get_pool
from backend.documents.endpoints import pages as documents_pages
from backend.documents.endpoints import router as documents_router
from backend.funding import filing_pages
from backend.funding import pages as funding_pages
from backend.funding.endpoints import router as funding_router
from backend.funding.finance_api import router as finance_router
from backend.pki import pages as pki_pages
from backend.pki.endpoints import TSA_MAX_BYTES, seals_router
from backend.pki.endpoints import router as pki_router
from backend.verification import pages as verification_pages
from backend.verification.endpoints import router as verification_router
from backend.web import jobs as web_jobs
from backend.web import ops as web_ops
from backend.web import pages
from backend.workflow import pages as workflow_pages
from backend.workflow.endpoints import public_router as workflow_public_router
from backend.workflow.endpoints import router as workflow_router
from backend.works import pages as works_pages
from backend.works.endpoints import router as works_router
from backend.works.service import fields_from_pydantic

log = logging.getLogger("jingpin")
STATIC = Path(__file__).parent / "web" / "static"
# Swagger UI's files as the fastapi-offline package ships them (served locally, no CDN).
SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"
API_DOCS_HTML = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>jingpin API 文档</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
  <link rel="icon" href="/static/swagger-ui/favicon.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""

HTTP_CODES = {
    400: ("bad_request", "请求有误"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "未找到该页面或记录"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("request_too_large", "提交的内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api/", "/tsa")
    ) and "text/html" in request.headers.get("accept", "")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the S3 client (if configured) and the LibreOffice pool at startup (in the background, so the app answers at once; the
    first conversion waits for it) unless JINGPIN_CONVERTER_WARM_START=false; stop it at
    shutdown. A pool that is already running belongs to someone else (the tests' shared pool)
    and is left alone."""
    pool = get_pool()
    borrowed = pool.stats().mode != "stopped"
    stop_clock = threading.Event()  # the audit checkpoints' clock (backend.audit_log)
    threading.Thread(
        target=checkpoints.run_clock, args=(stop_clock,), name="audit-checkpoints", daemon=True
    ).start()
    if get_settings().converter_warm_start and not borrowed:
        threading.Thread(target=pool.start, name="converter-warm-start", daemon=True).start()
    threading.Thread(target=blob_store.warm_up, name="store-warm-up", daemon=True).start()
    try:
        yield
    finally:
        stop_clock.set()
        if not borrowed:
            await asyncio.to_thread(pool.stop)


# Multipart framing and the form's other fields, on top of the file itself.
FORM_OVERHEAD = 64 * 1024
BODY_LIMITS = (
    RouteLimit("/tsa(/sm2)?", lambda s: TSA_MAX_BYTES),
    RouteLimit("/(api/v1/)?verify", lambda s: s.upload_max_bytes + FORM_OVERHEAD),
    RouteLimit(
        r"/api/v1/works/\d+/documents/[\w-]+/upload", lambda s: s.upload_max_bytes + FORM_OVERHEAD
    ),
    RouteLimit(
        r"/works/\d+/application/documents/[\w-]+", lambda s: s.upload_max_bytes + FORM_OVERHEAD
    ),
    # Review attachments (several PDFs): the API and the page's form.
    RouteLimit(
        r"/(api/v1/agreements/\d+/reviews|agreements/\d+/reviews/record)",
        lambda s: s.review_upload_max_bytes,
    ),
)


class JingpinApp(FastAPI):
    def build_middleware_stack(self) -> Any:
        # Outside Starlette's own error middleware, so that a 500 gets the headers too and an
        # oversized body is refused before anything (routing, auth, parsing) runs.
        return SecurityHeaders(BodySizeLimit(super().build_middleware_stack(), BODY_LIMITS))


def create_app() -> FastAPI:
    problems = get_settings().production_key_problems()
    if problems:  # production refuses keys whose KEK sits beside them (README: 密钥与备份)
        raise RuntimeError("；".join(problems))
    wiring.install()
    app = JingpinApp(
        lifespan=lifespan,
        title="jingpin 微短剧精品创作传播计划管理系统",
        version="0.1.0",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(JingpinError)
    async def domain_error(request: Request, exc: JingpinError) -> Response:
        if _wants_html(request):
            return error_page(request, exc)
        return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        err = ValidationFailed(fields=fields_from_pydantic(list(exc.errors())))
        return await domain_error(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = HTTP_CODES.get(exc.status_code, ("http_error", "请求未能完成"))
        err = JingpinError(message, code=code)
        err.status_code = exc.status_code
        return await domain_error(request, err)

    @app.exception_handler(OverflowError)
    async def number_out_of_range(request: Request, exc: OverflowError) -> Response:
        # An id beyond 64 bits in a path or query (SQLite cannot bind it): bad input, not a 500.
        return await domain_error(
            request, ValidationFailed("编号超出范围", code="number_out_of_range")
        )

    @app.exception_handler(DataError)
    async def value_out_of_range(request: Request, exc: DataError) -> Response:
        # The database refused a value (PostgreSQL: an id beyond its integer range): bad input.
        return await domain_error(
            request, ValidationFailed("提交的值超出范围", code="number_out_of_range")
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = JingpinError(
            "系统内部错误，请稍后再试；如持续出现请联系管理员", code="internal_error"
        )
        err.status_code = 500
        return await domain_error(request, err)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(API_DOCS_HTML)

    web_ops.install(app)  # /healthz, /readyz, /metrics; request id + latency middleware
    app.include_router(auth_router)
    app.include_router(totp_endpoints.router)
    app.include_router(totp_endpoints.pages)
    app.include_router(pki_router)
    app.include_router(seals_router)
    app.include_router(pki_pages.router)
    app.include_router(works_router)
    app.include_router(documents_router)
    app.include_router(documents_pages)
    app.include_router(workflow_router)
    app.include_router(workflow_public_router)
    app.include_router(workflow_pages.router)
    app.include_router(agreements_router)
    app.include_router(agreement_pages.router)
    app.include_router(funding_router)
    app.include_router(finance_router)
    app.include_router(funding_pages.router)
    app.include_router(filing_pages.router)
    app.include_router(verification_router)
    app.include_router(verification_pages.router)
    app.include_router(works_pages.router)
    app.include_router(pages.router)
    app.include_router(web_jobs.router)
    return app
