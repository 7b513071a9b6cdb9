"""`jingpin archive ...`: the archive form of fully signed agreements. Imports happen inside the
command on purpose (start-up time of every `jingpin` call; see backend/verification/cli.py).

Exit codes of `archive renew`: 0 every due agreement renewed (or none due), 1 some agreement
could not be renewed (the others are; each is named), 2 the CA cannot give a timestamp chain that
outlives the window (roll the root first) or the CA is missing.
"""

from __future__ import annotations

from typing import Annotated

import typer

archive_app = typer.Typer(help="协议长期保存（PAdES B-LTA）", no_args_is_help=True)


@archive_app.command("renew")
def renew(
    within: Annotated[
        int,
        typer.Option("--within", min=1, help="最新时间戳的证书链在多少天内到期即续期"),
    ] = 365,
) -> None:
    """为三方签署完成的协议追加验证数据和新的文档时间戳（可每日重复执行）。"""
    from backend.agreements.archive import ArchiveSetupError, renew_all

    try:
        run = renew_all(within_days=within, actor="cli")
    except ArchiveSetupError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    except (RuntimeError, FileNotFoundError) as exc:  # no data dir / CA yet
        typer.echo(f"证书机构不可用：{exc}（请先执行 jingpin init）", err=True)
        raise typer.Exit(2) from None
    if run.tsa_rolled:
        typer.echo("时间戳服务证书已到期前轮换为新的密钥和证书。")
    for number, reason in run.failed:
        typer.echo(f"协议 {number} 续期失败：{reason}", err=True)
    typer.echo(
        f"已检查 {run.checked} 份签署完成的协议，续期 {len(run.renewed)} 份，"
        f"失败 {len(run.failed)} 份。"
    )
    if run.failed:
        raise typer.Exit(1)
