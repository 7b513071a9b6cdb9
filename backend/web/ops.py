"""Operations endpoints: /healthz (the process answers), /readyz (its dependencies answer),
/metrics (Prometheus), and the middleware that gives every request an id and a latency sample.

Readiness is what a load balancer asks before sending traffic: a host whose database, blob
store, converter or job queue is unreachable says 503 and names which.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlmodel import Session
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import jobs
from backend.core.db import get_engine
from backend.core.logging import new_request_id, request_id
from backend.core.metrics import QUEUE_DEPTH, REGISTRY, REQUEST_SECONDS
from backend.documents.converter import get_pool
from backend.documents.store import S3BlobStore, get_store

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get("/healthz", summary="存活检查（进程在运行）")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_store() -> None:
    store = get_store()
    if isinstance(store, S3BlobStore):
        store.ping()
    else:
        store.root.mkdir(parents=True, exist_ok=True)
        if not shutil.disk_usage(store.root).free:
            raise OSError("blob store disk is full")


def _check_converter() -> None:
    """LibreOffice is installed, and a started pool has an instance (or the one-shot fallback)."""
    if shutil.which("soffice") is None:
        raise RuntimeError("soffice not found")
    stats = get_pool().stats()
    if stats.mode == "pool" and stats.ready == 0 and stats.admitted == 0:
        raise RuntimeError("no converter instance is up")


def _check_queue() -> None:
    if not jobs.queue_enabled():
        return
    with Session(get_engine()) as session:
        jobs.queue_depth(session)


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "store": _check_store,
    "converter": _check_converter,
    "queue": _check_queue,
}


def readiness() -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            # The kind of failure only: messages can hold connection strings.
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = f"unavailable ({type(exc).__name__})"
    return results


@router.get("/readyz", summary="就绪检查（数据库、文件存储、转换服务、任务队列）")
async def readyz() -> JSONResponse:
    results = await run_in_threadpool(readiness)
    ready = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


def _sample_queue_depth() -> None:
    if not jobs.queue_enabled():
        return
    with Session(get_engine()) as session:
        depth = jobs.queue_depth(session)
    for queue in jobs.QUEUES:
        QUEUE_DEPTH.labels(queue=queue).set(depth.get(queue, 0))


@router.get("/metrics", summary="Prometheus 指标", include_in_schema=False)
async def metrics() -> Response:
    try:
        await run_in_threadpool(_sample_queue_depth)
    except Exception as exc:  # the other metrics are still worth serving
        log.warning("queue depth unavailable: %s", type(exc).__name__)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """The ops routes, and the request-id + latency middleware (outermost)."""
    app.include_router(router)

    app.add_middleware(RequestContext)


class RequestContext:
    """Every request gets an id (X-Request-ID, in the JSON logs) and a latency sample. Pure ASGI,
    not BaseHTTPMiddleware: the body stream passes through untouched, so the body limit's 413
    (raised while the route reads the body) still reaches the app's error handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(Headers(scope=scope).get("x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route: Any = scope.get("route")
            REQUEST_SECONDS.labels(
                method=scope["method"],
                # The route template (/api/v1/works/{work_id}), never the raw path: bounded labels.
                route=getattr(route, "path", "unmatched"),
                status=f"{status // 100}xx",
            ).observe(time.perf_counter() - started)
            request_id.reset(token)
