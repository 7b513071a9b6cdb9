"""`jingpin ca ...`: the in-house CA. Imports happen inside the commands on purpose (start-up time
of every `jingpin` call; see backend/verification/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ca_app = typer.Typer(help="内部证书机构（CA）", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


SM2_OPTION = typer.Option("--sm2", help="国密 SM2 证书机构（而非 ECDSA）")


@ca_app.command("export-root")
def export_root(
    out: Annotated[Path, typer.Argument(help="输出文件（PEM）")],
    sm2: Annotated[bool, SM2_OPTION] = False,
) -> None:
    """导出根证书（供 pdfsig / Acrobat / pyHanko 作为信任锚）。"""
    from backend.pki.service import get_ca, get_gm_ca

    ca = get_gm_ca() if sm2 else get_ca()
    if ca is None:
        _fail(
            "国密（SM2）证书机构尚未建立（JINGPIN_CRYPTO_PROFILE=gm 或 dual 后运行 jingpin init）"
        )
        return
    out.write_bytes(ca.export_root_pem())
    typer.echo(f"{'国密 SM2 ' if sm2 else ''}根证书已导出到 {out}")


@ca_app.command("list")
def list_certs() -> None:
    """列出已签发的证书（ECDSA 与国密 SM2）。"""
    from backend.pki.service import get_ca, get_gm_ca

    gm = get_gm_ca()
    for label, ca in (("ECDSA", get_ca()), ("SM2", gm)):
        for c in ca.list() if ca is not None else []:
            state = "已吊销" if c.revoked else "有效"
            typer.echo(
                f"{c.serial_hex}  {label}  {state}  {c.organisation}  {c.common_name}  至 {c.certificate.not_valid_after_utc:%Y-%m-%d}"
            )


def _org_cert(org_id: int, renew: bool, sm2: bool) -> None:
    from backend.core.db import session_scope
    from backend.core.errors import JingpinError
    from backend.orgs.models import Organisation
    from backend.pki.service import SealAlgorithm, issue_seal

    algorithm = SealAlgorithm.sm2 if sm2 else SealAlgorithm.ecdsa
    try:
        with session_scope() as session:
            org = session.get(Organisation, org_id)
            if org is None:
                _fail(f"机构 {org_id} 不存在")
                return
            serial = issue_seal(session, org, actor="cli", renew=renew, algorithm=algorithm)
            typer.echo(
                f"已为“{org.name}”{'续期' if renew else '签发'}{algorithm.label}电子印章证书，序列号 {serial}"
            )
    except JingpinError as exc:
        _fail(exc.message)


@ca_app.command("issue")
def issue(
    org: Annotated[int, typer.Option("--org", help="机构编号")],
    sm2: Annotated[bool, SM2_OPTION] = False,
) -> None:
    """为机构签发电子印章证书。"""
    _org_cert(org, renew=False, sm2=sm2)


@ca_app.command("renew")
def renew(
    org: Annotated[int, typer.Option("--org", help="机构编号")],
    sm2: Annotated[bool, SM2_OPTION] = False,
) -> None:
    """为机构续期电子印章证书（新密钥）。"""
    _org_cert(org, renew=True, sm2=sm2)


@ca_app.command("profile")
def profile(
    org: Annotated[int, typer.Option("--org", help="机构编号")],
    value: Annotated[str, typer.Argument(help="intl / gm / dual，或 default（随系统设置）")],
) -> None:
    """设置机构的密码算法配置，并签发该配置所需的印章证书。"""
    from backend.core.db import session_scope
    from backend.core.errors import JingpinError
    from backend.orgs.models import Organisation
    from backend.pki.service import CryptoProfile, profile_of, set_profile

    if value not in {"intl", "gm", "dual", "default"}:
        _fail("密码算法配置只能是 intl、gm、dual 或 default", 2)
    try:
        with session_scope() as session:
            found = session.get(Organisation, org)
            if found is None:
                _fail(f"机构 {org} 不存在")
                return
            chosen = None if value == "default" else CryptoProfile(value)
            serials = set_profile(session, found, chosen, actor="cli")
            typer.echo(
                f"“{found.name}”现使用{profile_of(found).label}"
                + (f"，新签发印章证书 {'、'.join(serials)}" if serials else "")
            )
    except JingpinError as exc:
        _fail(exc.message)


@ca_app.command("revoke")
def revoke(
    serial: Annotated[str, typer.Argument(help="证书序列号（十六进制）")],
    reason: Annotated[
        str,
        typer.Option(
            help="key_compromise / affiliation_changed / superseded / cessation_of_operation / unspecified"
        ),
    ] = "unspecified",
) -> None:
    """吊销证书（写入 CRL）。"""
    from backend.core.db import session_scope
    from backend.core.errors import JingpinError
    from backend.pki.service import revoke_seal

    try:
        with session_scope() as session:
            revoke_seal(session, serial, reason, actor="cli")
    except JingpinError as exc:
        _fail(exc.message)
    typer.echo(f"证书 {serial} 已吊销（{reason}）")


def _roll(kind: str) -> None:
    from backend.core.db import session_scope
    from backend.pki.service import roll_root, roll_tsa
    from signing.errors import SigningError

    try:
        with session_scope() as session:
            rolled = (roll_root if kind == "root" else roll_tsa)(session, actor="cli")
    except (SigningError, RuntimeError, FileNotFoundError) as exc:
        _fail(f"轮换失败：{exc}", 2)
        return
    label = "根证书" if kind == "root" else "时间戳服务证书"
    typer.echo(f"新的{label}序列号 {rolled.serial}，有效期至 {rolled.not_after:%Y-%m-%d}。")


@ca_app.command("roll-tsa")
def roll_tsa() -> None:
    """时间戳服务换用新的密钥和证书（旧证书保留用于验证）。"""
    _roll("tsa")


@ca_app.command("roll-root")
def roll_root() -> None:
    """引入新的根证书：签发 CA 由新根重新认证，时间戳服务换新证书；旧根继续作为信任锚。"""
    _roll("root")
