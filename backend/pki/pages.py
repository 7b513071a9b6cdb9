"""印章管理 pages: each organisation's seals by profile (ECDSA / SM2 seal certificates, GB/T 38540
electronic seals with their picture and an export link); the admin sets an organisation's crypto
profile and makes an electronic seal from its seal picture (both confirmed: they issue or sign).

机构管理 (/admin/organisations, the system administrator only; issue 15.6): the organisations with
USCC and unit, per organisation its seal certificates with state and validity, 签发 / 续期 / 吊销
(each through a confirmation page) and the seal picture for visible signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import PageUser, SessionDep
from backend.auth.models import Role, User
from backend.auth.service import require_role
from backend.core.display import local_time
from backend.core.errors import JingpinError
from backend.core.pages import confirmation, is_confirmed, redirect, render
from backend.orgs.models import Organisation, OrgKind
from backend.orgs.service import list_organisations, unit_names
from backend.pki import org_seals, seals
from backend.pki.service import (
    CryptoProfile,
    SealAlgorithm,
    deployment_profile,
    profile_of,
    seal_picture,
)

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


# --------------------------------------------------------------------------- 机构管理 (admin)
ORGS = "/admin/organisations"


def _admin_org(session: Session, user: User, org_id: int) -> Organisation:
    """404 unless the user may see the organisation at all, then 403 unless admin."""
    org = seals.get_organisation(session, user, org_id)
    require_role(user, Role.admin, message=org_seals.ADMIN_ONLY)
    return org


@router.get(ORGS)
def organisations_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    require_role(user, Role.admin, message=org_seals.ADMIN_ONLY)
    q = request.query_params.get("q", "").strip()
    orgs = [o for o in list_organisations(session) if not q or q in o.name or q in (o.uscc or "")]
    return render(
        request,
        "admin/organisations.html",
        rows=[(o, org_seals.seal_certificates(o, history=1)) for o in orgs],
        units=unit_names(session),
        q=q,
        kinds={k: k.label for k in OrgKind},
        local_time=local_time,
    )


def _org_page(
    request: Request,
    session: Session,
    org: Organisation,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/organisation.html",
        status_code=status_code,
        org=org,
        unit=unit_names(session).get(org.unit_id or 0, ""),
        kind=OrgKind(org.kind).label,
        profile=profile_of(org).label,
        seals=org_seals.seal_certificates(org),
        reasons=[(k, label) for k, (label, _rfc) in org_seals.REVOCATION_REASONS.items()],
        errors=errors or {},
        values=values or {},
        max_kb=org_seals.MAX_UPLOAD_BYTES // 1024,
        local_time=local_time,
        grouped=org_seals.grouped,
    )


@router.get(ORGS + "/{org_id}")
def organisation_page(
    org_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    return _org_page(request, session, _admin_org(session, user, org_id))


@router.get(ORGS + "/{org_id}/seal-picture.png")
def seal_picture_png(org_id: int, session: SessionDep, user: PageUser) -> Response:
    """What the organisation's visible signatures show (uploaded, else generated)."""
    org = _admin_org(session, user, org_id)
    return Response(
        seal_picture(org), media_type="image/png", headers={"Cache-Control": "no-store"}
    )


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


def _certificate_facts(org: Organisation, algorithm: SealAlgorithm) -> list[tuple[str, str]]:
    facts = [("机构", org.name), ("统一社会信用代码", org.uscc or "无"), ("算法", algorithm.label)]
    current = org_seals.seals_of(org, algorithm)
    if current.certificates:
        c = current.certificates[0]
        facts += [
            ("当前证书序列号", org_seals.grouped(c.serial)),
            ("当前证书状态", c.state.label),
            (
                "有效期（北京时间）",
                f"{local_time(c.not_before, '%Y-%m-%d')} 至 {local_time(c.not_after, '%Y-%m-%d')}",
            ),
        ]
    return facts


CERTIFICATE_ACTIONS = {
    "issue": (
        "签发印章证书",
        "将由本系统证书机构为该机构签发新的印章证书（有效期两年）。签发后不能撤回，只能吊销。",
    ),
    "renew": (
        "续期印章证书",
        "将为该机构签发一张新的印章证书（新密钥，有效期两年），此后的签署使用新证书；原证书在到期"
        "或吊销前仍然有效，已签署的文件不受影响。",
    ),
    "revoke": (
        "吊销印章证书",
        "吊销后该印章不能再签署；已签署的文件仍可验证（验证报告会注明证书已于吊销时间起失效，"
        "此前加盖时间戳的签名仍然有效）。吊销记入证书吊销列表（CRL），不能撤销；"
        "如需继续签署，请在吊销后续期（签发新证书）。",
    ),
}


@router.post(ORGS + "/{org_id}/certificates/{action}")
async def certificate_action_page(
    org_id: int, action: str, request: Request, session: SessionDep, user: PageUser
) -> Response:
    org = await run_in_threadpool(_admin_org, session, user, org_id)
    if action not in CERTIFICATE_ACTIONS:
        return redirect(f"{ORGS}/{org_id}", "未知的操作", error=True)
    f = await _form(request)
    title, warning = CERTIFICATE_ACTIONS[action]
    back = f"{ORGS}/{org_id}"
    try:
        algorithm = org_seals.algorithm_of(f.get("algorithm", ""))
        facts = _certificate_facts(org, algorithm)
        if action == "revoke":
            rfc = org_seals.reason_of(f.get("reason", ""))
            facts.append(("吊销原因", org_seals.REASON_LABELS[rfc]))
            if f.get("note"):
                facts.append(("说明", f["note"]))
        if not is_confirmed(f):
            return confirmation(
                request,
                blocker=org_seals.blocker(org, algorithm, action),
                title=title,
                action=f"{ORGS}/{org_id}/certificates/{action}",
                facts=facts,
                back=back,
                warning=warning,
                button=f"确认{title[:2]}",
                fields=f,
                busy=f"正在{title[:2]}…",
            )
        if action == "issue":
            serial = await run_in_threadpool(org_seals.issue, session, user, org, algorithm)
        elif action == "renew":
            serial = await run_in_threadpool(org_seals.renew, session, user, org, algorithm)
        else:
            serial = await run_in_threadpool(
                org_seals.revoke, session, user, org, algorithm, f["reason"], f.get("note", "")
            )
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code in (403, 404):
            raise
        if exc.fields.keys() & {"reason", "note"}:
            return _org_page(
                request,
                session,
                org,
                errors={f"{action}-{f.get('algorithm', '')}-{k}": v for k, v in exc.fields.items()},
                values=f,
                status_code=exc.status_code,
            )
        return redirect(back, exc.message, error=True)
    done = {"issue": "已签发（序列号", "renew": "已续期（新证书序列号", "revoke": "已吊销（序列号"}
    return redirect(back, f"{algorithm.label}印章证书{done[action]} {org_seals.grouped(serial)}）")


@router.post(ORGS + "/{org_id}/seal-picture")
async def seal_picture_upload_page(
    org_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    picture: Annotated[UploadFile | None, File()] = None,
) -> Response:
    org = await run_in_threadpool(_admin_org, session, user, org_id)
    data = await picture.read(org_seals.MAX_UPLOAD_BYTES + 1) if picture is not None else b""
    try:
        await run_in_threadpool(org_seals.set_picture, session, user, org, data)
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code in (403, 404):
            raise
        return _org_page(
            request, session, org, errors=exc.fields or {"picture": exc.message}, status_code=422
        )
    return redirect(f"{ORGS}/{org_id}", "已更新印章图片；此后的签署将显示该图片")


@router.post(ORGS + "/{org_id}/seal-picture/clear")
async def seal_picture_clear_page(
    org_id: int, request: Request, session: SessionDep, user: PageUser
) -> Response:
    org = await run_in_threadpool(_admin_org, session, user, org_id)
    try:
        await run_in_threadpool(org_seals.clear_picture, session, user, org)
    except JingpinError as exc:
        await run_in_threadpool(session.rollback)
        if exc.status_code in (403, 404):
            raise
        return redirect(f"{ORGS}/{org_id}", exc.message, error=True)
    return redirect(f"{ORGS}/{org_id}", "已改回系统生成的圆形印章")
