"""Trust services over HTTP: the RFC 3161 TSA, the CRL, the root certificate.

The TSA is open (RFC 3161 clients do not log in) but limited per client address
(``JINGPIN_TSA_RATE_PER_MINUTE``) and, with ``JINGPIN_TSA_TOKEN`` set, only answers requests that
carry ``Authorization: Bearer <token>`` (curl/openssl ts clients can send the header).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.auth.deps import client_address
from backend.core.config import get_settings
from backend.core.errors import JingpinError, NotAuthenticated, TooManyAttempts
from backend.core.schemas import error_responses
from backend.pki.service import CRL_PATH, get_ca, timestamp_authority

router = APIRouter(tags=["trust"])


class PayloadTooLarge(JingpinError):
    status_code = 413
    code = "file_too_large"


class _PerClientWindow:
    """Requests per client address in the last 60 seconds (per process, in memory)."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients rather than grow without bound
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - 60}
            window = self._seen.setdefault(client, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True


_tsa_window = _PerClientWindow()


def _check_tsa_access(request: Request) -> None:
    settings = get_settings()
    limit = settings.tsa_rate_per_minute
    if limit > 0 and not _tsa_window.allow(client_address(request), limit):
        raise TooManyAttempts(
            "时间戳请求过于频繁，请稍后再试", code="rate_limited", headers={"Retry-After": "60"}
        )
    if settings.tsa_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.tsa_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise NotAuthenticated(
                "时间戳服务需要访问令牌（Authorization: Bearer …）",
                code="tsa_token_required",
                headers={"WWW-Authenticate": "Bearer"},
            )


@router.post(
    "/tsa",
    summary="RFC 3161 时间戳服务",
    response_class=Response,
    responses={
        200: {"content": {"application/timestamp-reply": {}}},
        **error_responses(
            401,
            429,
            notes={
                401: "JINGPIN_TSA_TOKEN is set and the bearer token is missing or wrong",
                429: "too many requests from this client address in the last minute",
            },
        ),
    },
)
async def tsa(request: Request) -> Response:
    _check_tsa_access(request)
    if (
        request.headers.get("content-type", "").split(";")[0].strip()
        != "application/timestamp-query"
    ):
        raise JingpinError(
            "请求类型应为 application/timestamp-query", code="unsupported_media_type"
        )
    body = await request.body()
    if len(body) > 64 * 1024:
        raise PayloadTooLarge("时间戳请求过大")
    return Response(timestamp_authority().respond(body), media_type="application/timestamp-reply")


@router.get(CRL_PATH, summary="证书吊销列表（CRL）", response_class=Response)
def crl() -> Response:
    return Response(get_ca().crl_der(), media_type="application/pkix-crl")


@router.get("/ca/root.pem", summary="根证书（信任锚）", response_class=Response)
def root_pem() -> Response:
    return Response(get_ca().export_root_pem(), media_type="application/x-pem-file")
