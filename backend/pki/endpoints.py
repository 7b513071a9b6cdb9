"""Trust services over HTTP: the RFC 3161 TSA, the CRL, the root certificate, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from backend.auth.deps import CurrentUser, SessionDep
from backend.errors import JingpinError, ValidationFailed
from backend.pki import registry
from backend.pki.service import CRL_PATH, get_ca, timestamp_authority

router = APIRouter(tags=["trust"])


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


@router.post(
    "/api/v1/verify",
    summary="验证任意 PDF 的电子签名",
    responses={413: {"description": "文件过大"}, 422: {"description": "空文件或验证被中止"}},
)
async def verify(
    file: Annotated[UploadFile, File(description="待验证的 PDF")],
    session: SessionDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Runs in the verification worker pool (time and memory limits per file); the JSON is the
    `jingpin verify --json` contract plus `registry`, `summary_zh` and the report download paths."""
    from backend.auditing.service import read_upload, verify_upload

    data = await read_upload(file)
    body = await verify_upload(session, data, file.filename)
    sha = body["file_sha256"]
    body["report_pdf"] = f"/api/v1/verify/{sha}/report.pdf"
    body["report_json"] = f"/api/v1/verify/{sha}/report.json"
    return body


@router.get("/api/v1/registry/{sha256}", summary="按 sha256 查询本系统签发的文件")
def registry_lookup(sha256: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise ValidationFailed("sha256 应为 64 位十六进制", fields={"sha256": "格式不正确"})
    return registry.lookup(session, sha256.lower())
