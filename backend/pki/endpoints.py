"""Trust services over HTTP: the RFC 3161 TSA, the CRL, the root certificate."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.core.errors import JingpinError, NotFound
from backend.pki.service import (
    CRL_PATH,
    SM2_CRL_PATH,
    get_ca,
    get_gm_ca,
    gm_timestamp_authority,
    timestamp_authority,
)
from signing.gm.pki import GmCertificateAuthority

router = APIRouter(tags=["trust"])
TSA_MAX_BYTES = 64 * 1024


class PayloadTooLarge(JingpinError):
    status_code = 413
    code = "file_too_large"


@router.post(
    "/tsa",
    summary="RFC 3161 时间戳服务",
    response_class=Response,
    responses={200: {"content": {"application/timestamp-reply": {}}}},
)
async def tsa(request: Request) -> Response:
    return await _timestamp_reply(request, sm2=False)


@router.post(
    "/tsa/sm2",
    summary="RFC 3161 时间戳服务（国密 SM2）",
    response_class=Response,
    responses={200: {"content": {"application/timestamp-reply": {}}}},
)
async def tsa_sm2(request: Request) -> Response:
    return await _timestamp_reply(request, sm2=True)


async def _timestamp_reply(request: Request, *, sm2: bool) -> Response:
    if (
        request.headers.get("content-type", "").split(";")[0].strip()
        != "application/timestamp-query"
    ):
        raise JingpinError(
            "请求类型应为 application/timestamp-query", code="unsupported_media_type"
        )
    # The body limit (64 KB for /tsa, backend.app) stops reading past it; signing is CPU work
    # and runs in the threadpool, not on the event loop.
    body = await request.body()
    if len(body) > TSA_MAX_BYTES:
        raise PayloadTooLarge("时间戳请求过大")
    if sm2:
        _gm_ca()
    authority = gm_timestamp_authority() if sm2 else timestamp_authority()
    reply = await run_in_threadpool(authority.respond, body)
    return Response(reply, media_type="application/timestamp-reply")


@router.get(CRL_PATH, summary="证书吊销列表（CRL）", response_class=Response)
def crl() -> Response:
    return Response(get_ca().crl_der(), media_type="application/pkix-crl")


@router.get(SM2_CRL_PATH, summary="证书吊销列表（国密 SM2 CA）", response_class=Response)
def crl_sm2() -> Response:
    return Response(_gm_ca().crl_der(), media_type="application/pkix-crl")


@router.get("/ca/root.pem", summary="根证书（信任锚）", response_class=Response)
def root_pem() -> Response:
    return Response(get_ca().export_root_pem(), media_type="application/x-pem-file")


@router.get("/ca/root-sm2.pem", summary="国密 SM2 根证书（信任锚）", response_class=Response)
def root_sm2_pem() -> Response:
    return Response(_gm_ca().export_root_pem(), media_type="application/x-pem-file")


def _gm_ca() -> GmCertificateAuthority:
    ca = get_gm_ca()
    if ca is None:
        raise NotFound("本系统未启用国密（SM2）证书机构", code="no_gm_ca")
    return ca
