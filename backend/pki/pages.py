"""印章管理 pages: each organisation's seals by profile (ECDSA / SM2 seal certificates, GB/T 38540
electronic seals with their picture and an export link); the admin sets an organisation's crypto
profile and makes an electronic seal from its seal picture (both confirmed: they issue or sign)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import Role
from backend.core.display import local_time
from backend.core.errors import JingpinError
from backend.core.pages import redirect, render
from backend.pki import seals
from backend.pki.service import CryptoProfile, deployment_profile

router = APIRouter(include_in_schema=False)


@router.get("/seals")
def seals_page(
    request: Request, session: SessionDep, user: PageUser, msg: str = "", error: str = ""
) -> Response:
    rows = [
        seals.organisation_seals(session, org).model_dump(mode="json")
        for org in seals.readable_organisations(session, user)
    ]
    return render(
        request,
        "pki/seals.html",
        rows=rows,
        is_admin=user.role == Role.admin,
        deployment=deployment_profile(),
        profiles=list(CryptoProfile),
        msg=msg,
        error=error,
        local_time=local_time,
    )


@router.post("/seals/{org_id}/profile")
def profile_page(
    org_id: int,
    session: SessionDep,
    user: PageUser,
    crypto_profile: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return redirect("/seals", "请勾选确认后再提交", error=True)
    try:
        org = seals.get_organisation(session, user, org_id)
        chosen = None if crypto_profile == "default" else CryptoProfile(crypto_profile)
        issued = seals.change_profile(session, user, org, chosen)
    except ValueError:
        return redirect("/seals", "密码算法配置无效", error=True)
    except JingpinError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        return redirect("/seals", exc.message, error=True)
    extra = f"，新签发印章证书 {len(issued)} 张" if issued else ""
    return redirect("/seals", f"已更新“{org.name}”的密码算法配置{extra}")


@router.post("/seals/{org_id}/electronic-seals")
async def electronic_seal_page(
    org_id: int,
    session: SessionDep,
    user: PageUser,
    picture: Annotated[UploadFile, File()],
    name: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return redirect("/seals", "请勾选确认后再提交", error=True)
    data = await picture.read(seals.MAX_PICTURE_BYTES + 1)
    try:
        org = await run_in_threadpool(seals.get_organisation, session, user, org_id)
        seal = await run_in_threadpool(
            lambda: seals.create_electronic_seal(session, user, org, data, name=name or None)
        )
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code == 404:
            raise
        return redirect("/seals", exc.message, error=True)
    return redirect("/seals", f"已为“{org.name}”制作电子印章 {seal.es_id}")
