"""The `jingpin` command line (typer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from backend.agreements.cli import archive_app
from backend.core.config import get_settings
from backend.documents.cli import app as render_app
from backend.funding.cli import render_progress
from backend.ops.cli import worker
from backend.pki.cli import ca_app
from backend.verification.cli import verify as verify_command

app = typer.Typer(
    help="微短剧精品创作传播计划管理系统 jingpin",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="用户管理", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(ca_app, name="ca")
app.add_typer(archive_app, name="archive")
app.command("verify")(verify_command)
app.command("worker")(worker)
render_app.command("progress")(render_progress)
app.add_typer(render_app, name="render")


def fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.callback()
def _settings_first() -> None:
    # Every command reads the settings: a bad JINGPIN_ variable is named here, exit 2, instead of
    # a traceback from whichever module reads them first. Values are not echoed (secrets).
    try:
        get_settings()
    except ValidationError as exc:
        problems = [
            f"  JINGPIN_{'_'.join(str(p) for p in e['loc']).upper()}：{e['msg']}"
            for e in exc.errors()
        ]
        fail("配置有误（环境变量）：\n" + "\n".join(problems), 2)


@app.command()
def init() -> None:
    """创建或升级数据目录、数据库、密钥（可重复执行）。"""
    from backend.core.db import session_scope
    from backend.migrate import upgrade
    from backend.pki.service import ensure_seals, font_cache_dir, init_ca
    from backend.seed import load_reference
    from signing.fonts import warm_font_cache

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.ensure_secrets()
    upgrade(settings.db_url)
    init_ca(settings)
    warm_font_cache(font_cache_dir(settings))  # the Chinese subset for signature appearances
    with session_scope() as session:
        load_reference(session)
        issued = ensure_seals(session, actor="init")
    typer.echo(
        f"已初始化：数据目录 {settings.data_dir.resolve()}，数据库已升级到最新版本，"
        f"证书机构与时间戳服务就绪（密码算法配置 {settings.crypto_profile}；"
        f"新签发机构印章证书 {issued} 张）。"
    )


@app.command()
def demo() -> None:
    """加载演示数据（生产环境拒绝执行；可重复执行）。"""
    from backend.core.db import session_scope
    from backend.demo import load_demo

    if get_settings().is_production:
        fail("生产环境（JINGPIN_ENV=production）不允许加载演示数据。", 2)
    init()
    with session_scope() as session:
        result = load_demo(session)
    typer.echo(f"演示数据已就绪。演示账号（密码均为 {result['password']}）：")
    typer.echo(
        "  prod-hz prod-cd unit-zj unit-sc ministry expert1 expert2 finance-a finance-b auditor admin"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
) -> None:
    """启动网页与接口服务。"""
    import uvicorn

    from backend.app import create_app
    from backend.core.logging import LOG_CONFIG

    typer.echo(f"jingpin 服务地址：http://{host}:{port}")
    if get_settings().log_format == "json":
        uvicorn.run(create_app(), host=host, port=port, log_config=LOG_CONFIG)
    else:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[
        str,
        typer.Option(help="producer/unit_reviewer/ministry_officer/expert/finance/auditor/admin"),
    ],
    organisation_id: Annotated[int, typer.Option("--org", help="所属机构编号")],
    display_name: Annotated[str, typer.Option("--name", help="姓名")] = "",
    password: Annotated[str | None, typer.Option(help="密码（不填则交互输入）")] = None,
) -> None:
    """创建用户。"""
    from backend.auth.models import Role
    from backend.auth.service import create_user
    from backend.core.db import session_scope
    from backend.core.errors import JingpinError
    from backend.orgs.models import Organisation

    try:
        role_value = Role(role)
    except ValueError:
        fail(f"未知角色：{role}")
        return
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope() as session:
            org = session.get(Organisation, organisation_id)
            if org is None:
                fail(f"机构 {organisation_id} 不存在")
                return
            user = create_user(
                session,
                username=username,
                display_name=display_name or username,
                password=password,
                role=role_value,
                organisation=org,
                actor="cli",
            )
            typer.echo(f"已创建用户 {user.username}（{role_value.label}）")
    except JingpinError as exc:
        fail(f"{exc.message}：{'；'.join(exc.fields.values())}" if exc.fields else exc.message)


@audit_app.command("verify")
def audit_verify() -> None:
    """重新计算审计日志哈希链；断裂时以非零状态退出并指出第一条异常事件。"""
    from backend.audit_log.service import verify_chain
    from backend.core.db import session_scope

    with session_scope() as session:
        status = verify_chain(session)
    if status.ok:
        typer.echo(status.message)
        return
    fail(status.message, 1)


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="导出的审计轨迹（.jsonl）")],
) -> None:
    """核验导出的审计轨迹的系统签名：0 有效，1 已被改动或签名无效，3 无法读取。"""
    from backend.verification.cli import verify_export_file

    code, message = verify_export_file(file)
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="jingpin")


if __name__ == "__main__":  # pragma: no cover
    main()
