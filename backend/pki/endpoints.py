"""Trust services over HTTP: the RFC 3161 TSA, the CRL, the root certificate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import CurrentUser, SessionDep
from backend.core.errors import JingpinError, NotFound
from backend.core.responses import download
from backend.core.schemas import error_responses
from backend.pki import seals
from backend.pki.schemas import CryptoProfileBody, ElectronicSealRead, OrganisationSeals
from backend.pki.service import (
    CRL_PATH,
    SM2_CRL_PATH,
    CryptoProfile,
    get_ca,
    get_gm_ca,
    gm_timestamp_authority,
    timestamp_authority,
)
from signing.gm.pki import GmCertificateAuthority

router = APIRouter(tags=["trust"])
TSA_MAX_BYTES = 64 * 1024
seals_router = APIRouter(prefix="/api/v1", tags=["seals"], responses=error_responses(401))
ORG_NOT_VISIBLE = {404: "机构不存在或您无权查看"}


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


# --------------------------------------------------------------------------- seals (电子印章)
@seals_router.get(
    "/seals",
    response_model=list[OrganisationSeals],
    summary="各机构的印章：密码算法配置、ECDSA 与 SM2 印章证书、电子印章",
)
def list_seals(session: SessionDep, user: CurrentUser) -> list[OrganisationSeals]:
    return [
        seals.organisation_seals(session, org)
        for org in seals.readable_organisations(session, user)
    ]


@seals_router.get(
    "/organisations/{org_id}/seals",
    response_model=OrganisationSeals,
    summary="机构的印章",
    responses=error_responses(404, 422, notes=ORG_NOT_VISIBLE),
)
def organisation_seals(org_id: int, session: SessionDep, user: CurrentUser) -> OrganisationSeals:
    return seals.organisation_seals(session, seals.get_organisation(session, user, org_id))


@seals_router.put(
    "/organisations/{org_id}/crypto-profile",
    response_model=OrganisationSeals,
    summary="设置机构的密码算法配置（管理员；签发所需的印章证书）",
    responses=error_responses(403, 404, 422, notes=ORG_NOT_VISIBLE),
)
def put_crypto_profile(
    org_id: int, body: CryptoProfileBody, session: SessionDep, user: CurrentUser
) -> OrganisationSeals:
    org = seals.get_organisation(session, user, org_id)
    profile = CryptoProfile(body.crypto_profile) if body.crypto_profile else None
    seals.change_profile(session, user, org, profile)
    return seals.organisation_seals(session, org)


@seals_router.post(
    "/organisations/{org_id}/electronic-seals",
    response_model=ElectronicSealRead,
    status_code=201,
    summary="由印章图片制作电子印章（GB/T 38540 SES_Seal；管理员）",
    responses=error_responses(
        403,
        404,
        409,
        413,
        422,
        notes={409: "机构没有可用的 SM2 印章证书", 422: "图片不是 PNG、过大或尺寸无效"},
    ),
)
async def create_electronic_seal(
    org_id: int,
    session: SessionDep,
    user: CurrentUser,
    picture: Annotated[UploadFile, File(description="印章图片（PNG）")],
    name: Annotated[str | None, Form()] = None,
    width_mm: Annotated[int, Form()] = 40,
    height_mm: Annotated[int, Form()] = 40,
) -> ElectronicSealRead:
    data = await picture.read(seals.MAX_PICTURE_BYTES + 1)
    if len(data) > seals.MAX_PICTURE_BYTES:
        raise PayloadTooLarge(f"印章图片不能超过 {seals.MAX_PICTURE_BYTES // 1024} KB")
    org = await run_in_threadpool(seals.get_organisation, session, user, org_id)
    seal = await run_in_threadpool(
        lambda: seals.create_electronic_seal(
            session, user, org, data, name=name, width_mm=width_mm, height_mm=height_mm
        )
    )
    return ElectronicSealRead.model_validate(seal)


@seals_router.get(
    "/electronic-seals/{seal_id}.esl",
    response_class=Response,
    summary="导出电子印章（SES_Seal，DER）",
    responses={
        200: {"content": {"application/octet-stream": {}}},
        **error_responses(404, 422, notes={404: "电子印章不存在或您无权查看"}),
    },
)
def export_electronic_seal(seal_id: int, session: SessionDep, user: CurrentUser) -> Response:
    seal = seals.get_electronic_seal(session, user, seal_id)
    return download(seals.seal_der(seal), f"SES_Seal-{seal.es_id}.esl", "application/octet-stream")


@seals_router.get(
    "/electronic-seals/{seal_id}/picture.png",
    response_class=Response,
    summary="电子印章中的印章图片",
    responses={
        200: {"content": {"image/png": {}}},
        **error_responses(404, 422, notes={404: "电子印章不存在或您无权查看"}),
    },
)
def electronic_seal_picture(seal_id: int, session: SessionDep, user: CurrentUser) -> Response:
    seal = seals.get_electronic_seal(session, user, seal_id)
    return Response(seals.seal_picture(seal), media_type="image/png")
